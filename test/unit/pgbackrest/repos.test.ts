import { describe, expect, it } from "vitest";
import { parseS3Endpoint, repoCaFiles, s3CredentialsFromConfFiles } from "../../../shared/pgbackrest/repos.ts";

describe("repos", () => {
  it("splits an S3 endpoint into host, port and scheme", () => {
    expect(parseS3Endpoint("s3.eu-west-1.amazonaws.com")).toEqual({ host: "s3.eu-west-1.amazonaws.com" });
    expect(parseS3Endpoint("minio.minio.svc:9000")).toEqual({ host: "minio.minio.svc", port: 9000 });
    expect(parseS3Endpoint("https://minio.example:9443/")).toEqual({
      host: "minio.example",
      port: 9443,
      scheme: "https",
    });
    expect(parseS3Endpoint("HTTP://plain.example/path?x")).toEqual({ host: "plain.example", scheme: "http" });
  });

  it("finds CA files projected as <repo>-ca.crt", () => {
    expect(
      repoCaFiles([
        {
          secret: {
            name: "a",
            items: [
              { key: "ca.crt", path: "repo2-ca.crt" },
              { key: "s3.conf", path: "s3.conf" },
            ],
          },
        },
        { configMap: { name: "b", items: [{ key: "bundle", path: "repo4-ca.pem" }] } },
        { secret: { name: "c" } },
        null,
      ]),
    ).toEqual({ repo2: "repo2-ca.crt", repo4: "repo4-ca.pem" });
    expect(repoCaFiles(undefined)).toEqual({});
  });

  it("reads a repo's S3 credentials from conf.d files as pgBackRest would", () => {
    const files = {
      "s3.conf": "[global]\nrepo1-s3-key=KEY1\nrepo1-s3-key-secret=SECRET1\nrepo2-s3-key=KEY2\n",
      "other.conf": "[db]\nrepo2-s3-key-secret=SECRET2\nrepo2-s3-token=TOKEN\n",
      README: "[global]\nrepo3-s3-key=ignored\nrepo3-s3-key-secret=ignored\n",
    };
    expect(s3CredentialsFromConfFiles(files, "repo1")).toEqual({ accessKeyId: "KEY1", secretAccessKey: "SECRET1" });
    expect(s3CredentialsFromConfFiles(files, "repo2")).toEqual({
      accessKeyId: "KEY2",
      secretAccessKey: "SECRET2",
      sessionToken: "TOKEN",
    });
    expect(s3CredentialsFromConfFiles(files, "repo3")).toBeUndefined();
  });
});
