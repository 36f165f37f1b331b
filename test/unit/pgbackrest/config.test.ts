import { describe, expect, it } from "vitest";
import {
  describeRetention,
  ignoredGlobalOptions,
  pgbackrestConfigData,
  renderPgBackRestConfig,
  repoPath,
  retentionFor,
} from "../../../shared/pgbackrest/config.ts";
import { parseIni } from "../../../shared/pgbackrest/ini.ts";
import { CONFIG_KEYS, clientCommonName, instancePods, type PgBackRestRole } from "../../../shared/pgbackrest/layout.ts";
import { cluster, SCENARIOS } from "./scenarios.ts";

const ROLES: PgBackRestRole[] = ["instance", "repo-host", "job"];
const claim = { resources: { requests: { storage: "1Gi" } } };

function sections(text: string) {
  const ini = parseIni(text);
  return { global: ini.get("global") ?? new Map<string, string>(), db: ini.get("db") ?? new Map<string, string>() };
}

const render = (name: keyof typeof SCENARIOS, role: PgBackRestRole) =>
  sections(renderPgBackRestConfig({ cluster: SCENARIOS[name]!, role }));

describe("renderPgBackRestConfig", () => {
  it("is deterministic and keeps keys in natural order (pg2 before pg10)", () => {
    const big = cluster({
      postgresVersion: 16,
      instances: [{ name: "x", replicas: 12, dataVolumeClaimSpec: claim }],
      backups: { pgbackrest: { repos: [{ name: "repo1", volume: { volumeClaimSpec: claim } }] } },
    });
    const a = renderPgBackRestConfig({ cluster: big, role: "job" });
    expect(renderPgBackRestConfig({ cluster: big, role: "job" })).toBe(a);
    const keys = a
      .split("\n")
      .filter((l) => /^pg\d+-host=/.test(l))
      .map((l) => l.split("-")[0]);
    expect(keys).toEqual(Array.from({ length: 12 }, (_, i) => `pg${i + 1}`));
  });

  it("puts the local instance as pg1 in an instance pod, with the data directory, port and socket", () => {
    const { db, global } = render("minio", "instance");
    expect(Object.fromEntries(db)).toEqual({
      "pg1-path": "/pgdata/pg17",
      "pg1-port": "5433",
      "pg1-socket-path": "/tmp/postgres",
    });
    expect(global.get("tls-server-address")).toBe("*");
    expect(global.get("tls-server-port")).toBe("8432");
    expect(global.get("tls-server-cert-file")).toBe("/etc/postgres/tls/tls.crt");
    expect(global.get("tls-server-auth")).toBe(`${clientCommonName("hippo")}=db`);
  });

  it("reaches a volume repo through the repo host over TLS from instances, and locally from the repo host and Jobs", () => {
    const instance = render("minio", "instance").global;
    expect(instance.get("repo1-host")).toBe("hippo-repo-host-0.hippo-pods.db.svc");
    expect(instance.get("repo1-host-type")).toBe("tls");
    expect(instance.get("repo1-host-port")).toBe("8432");
    expect(instance.get("repo1-host-cert-file")).toBe("/etc/pgbackrest/conf.d/~tusk-client/tls.crt");
    for (const role of ["repo-host", "job"] as const) {
      const g = render("minio", role).global;
      expect([...g.keys()].filter((k) => k.startsWith("repo1-host"))).toEqual([]);
      expect(g.get("repo1-type")).toBe("posix");
    }
    // Object storage is local everywhere.
    for (const role of ROLES) expect(render("minio", role).global.get("repo2-host")).toBeUndefined();
  });

  it("lists every instance pod over TLS for the repo host and Jobs, so pgBackRest finds the primary", () => {
    const c = SCENARIOS.minio!;
    const pods = instancePods(c);
    expect(pods).toEqual(["hippo-a-0-0", "hippo-a-1-0", "hippo-b-0-0"]);
    for (const role of ["repo-host", "job"] as const) {
      const { db } = render("minio", role);
      pods.forEach((pod, i) => {
        expect(db.get(`pg${i + 1}-host`)).toBe(`${pod}.hippo-pods.db.svc`);
        expect(db.get(`pg${i + 1}-host-type`)).toBe("tls");
        expect(db.get(`pg${i + 1}-path`)).toBe("/pgdata/pg17");
        expect(db.get(`pg${i + 1}-port`)).toBe("5433");
      });
      expect(db.get("pg4-host")).toBeUndefined();
    }
  });

  it("tells every remote to read an empty main file and conf.d, never the distribution's /etc/pgbackrest.conf", () => {
    const instance = render("minio", "instance").global;
    expect(instance.get("repo1-host-config")).toBe("/dev/null");
    expect(instance.get("repo1-host-config-include-path")).toBe("/etc/pgbackrest/conf.d");
    for (const role of ["repo-host", "job"] as const) {
      const { db } = render("minio", role);
      for (const i of [1, 2, 3]) {
        expect(db.get(`pg${i}-host-config`)).toBe("/dev/null");
        expect(db.get(`pg${i}-host-config-include-path`)).toBe("/etc/pgbackrest/conf.d");
      }
    }
  });

  it("appends the cluster domain to pod names when one is given", () => {
    const text = renderPgBackRestConfig({
      cluster: SCENARIOS.minio!,
      role: "instance",
      clusterDomain: "cluster.local",
    });
    expect(sections(text).global.get("repo1-host")).toBe("hippo-repo-host-0.hippo-pods.db.svc.cluster.local");
  });

  it("runs the TLS server only where pods serve it (instances, repo host), not in Jobs", () => {
    expect(render("minio", "job").global.get("tls-server-address")).toBeUndefined();
    expect(render("minio", "repo-host").global.get("tls-server-auth")).toBe("pgbackrest@hippo=db");
  });

  it("configures S3 at a custom endpoint: host, port, path-style URIs and the projected CA", () => {
    const g = render("minio", "job").global;
    expect(g.get("repo2-type")).toBe("s3");
    expect(g.get("repo2-s3-bucket")).toBe("backups");
    expect(g.get("repo2-s3-endpoint")).toBe("minio.minio.svc");
    expect(g.get("repo2-storage-port")).toBe("9000");
    expect(g.get("repo2-s3-region")).toBe("minio");
    expect(g.get("repo2-s3-uri-style")).toBe("path");
    expect(g.get("repo2-storage-ca-file")).toBe("/etc/pgbackrest/conf.d/repo2-ca.crt");
  });

  it("leaves AWS endpoints on host-style URIs and lets the user's uri-style win", () => {
    expect(render("s3-only", "job").global.get("repo1-s3-uri-style")).toBeUndefined();
    const c = cluster({
      postgresVersion: 15,
      instances: [{ dataVolumeClaimSpec: claim }],
      backups: {
        pgbackrest: {
          global: { "repo1-s3-uri-style": "host" },
          repos: [{ name: "repo1", s3: { bucket: "b", endpoint: "minio.local", region: "r" } }],
        },
      },
    });
    expect(sections(renderPgBackRestConfig({ cluster: c, role: "job" })).global.get("repo1-s3-uri-style")).toBe("host");
  });

  it("renders GCS and Azure locations and no credentials (they come from conf.d)", () => {
    const g = render("multi-repo", "job").global;
    expect(g.get("repo3-type")).toBe("gcs");
    expect(g.get("repo3-gcs-bucket")).toBe("tusk-backups-gcs");
    expect(g.get("repo4-type")).toBe("azure");
    expect(g.get("repo4-azure-container")).toBe("tusk-backups");
    expect(g.get("repo2-path")).toBe("/pgbackrest/postgres-operator/hippo-multi-repo/repo2");
  });

  it("never renders credentials, even when a user puts them in global", () => {
    for (const role of ROLES) {
      const text = renderPgBackRestConfig({ cluster: SCENARIOS.minio!, role });
      expect(text).not.toContain("never-rendered");
      expect(text).not.toContain("AKIA");
      expect(text).not.toMatch(/s3-key/);
    }
  });

  it("lets the user's global win where the operator does not own the option", () => {
    const g = render("minio", "job").global;
    expect(g.get("compress-type")).toBe("zst");
    expect(g.get("process-max")).toBe("4");
    expect(g.get("archive-async")).toBe("y");
    expect(g.get("repo1-path")).toBe("/pgbackrest/repo1/hippo");
  });

  it("keeps what the operator owns and says why each ignored option was ignored", () => {
    const g = render("minio", "instance");
    expect(g.db.get("pg1-path")).toBe("/pgdata/pg17");
    expect(g.global.get("repo1-host")).toBe("hippo-repo-host-0.hippo-pods.db.svc");
    expect(g.global.get("tls-server-auth")).toBe("pgbackrest@hippo=db");
    expect(g.global.get("lock-path")).toBe("/tmp/pgbackrest/lock");
    expect(g.global.get("repo3-path")).toBeUndefined();
    const ignored = Object.fromEntries(ignoredGlobalOptions(SCENARIOS.minio!.spec).map((i) => [i.key, i.reason]));
    expect(Object.keys(ignored).sort()).toEqual(
      [
        "lock-path",
        "pg1-path",
        "repo1-host",
        "repo2-s3-key",
        "repo2-s3-key-secret",
        "repo3-path",
        "tls-server-auth",
      ].sort(),
    );
    expect(ignored["repo2-s3-key"]).toMatch(/Secret/);
    expect(ignored["repo3-path"]).toMatch(/not in repos/);
  });

  it("keeps a volume repo's path inside its volume", () => {
    const c = cluster({
      postgresVersion: 15,
      instances: [{ dataVolumeClaimSpec: claim }],
      backups: {
        pgbackrest: {
          global: { "repo1-path": "/var/lib/elsewhere" },
          repos: [{ name: "repo1", volume: { volumeClaimSpec: claim } }],
        },
      },
    });
    expect(repoPath(c.spec, c.spec.backups!.pgbackrest!.repos[0]!)).toBe("/pgbackrest/repo1");
    expect(ignoredGlobalOptions(c.spec).map((i) => i.key)).toEqual(["repo1-path"]);
  });

  it("refuses values that would inject INI lines, and option names that are not options", () => {
    const c = cluster({
      postgresVersion: 15,
      instances: [{ dataVolumeClaimSpec: claim }],
      backups: {
        pgbackrest: {
          global: { "start-fast": "y\n[db]\npg1-path=/evil", "Bad Key": "x", "buffer-size": "1MiB" },
          repos: [{ name: "repo1", volume: { volumeClaimSpec: claim } }],
        },
      },
    });
    const text = renderPgBackRestConfig({ cluster: c, role: "job" });
    expect(text).not.toContain("/evil");
    expect(text).not.toContain("Bad Key");
    expect(sections(text).global.get("buffer-size")).toBe("1MiB");
    expect(sections(text).global.get("start-fast")).toBe("y");
    expect(ignoredGlobalOptions(c.spec).map((i) => i.key)).toEqual(["Bad Key", "start-fast"]);
  });

  it("gives every repo a default full retention, visible in the status text", () => {
    const g = render("multi-repo", "job").global;
    for (const n of [1, 2, 3, 4]) {
      expect(g.get(`repo${n}-retention-full`)).toBe("2");
      expect(g.get(`repo${n}-retention-full-type`)).toBe("count");
    }
    expect(describeRetention(retentionFor(SCENARIOS["multi-repo"]!.spec, "repo1"))).toBe("full=2 (count, default)");
    const m = render("minio", "job").global;
    expect(m.get("repo2-retention-full")).toBe("7");
    expect(m.get("repo2-retention-full-type")).toBe("time");
    expect(describeRetention(retentionFor(SCENARIOS.minio!.spec, "repo2"))).toBe("full=7 (time), diff=3");
    expect(describeRetention(retentionFor(SCENARIOS.minio!.spec, "repo1"))).toBe("full=2 (count, default)");
  });

  it("defaults a time-based retention without a value to 14 days", () => {
    const c = cluster({
      postgresVersion: 15,
      instances: [{ dataVolumeClaimSpec: claim }],
      backups: {
        pgbackrest: {
          global: { "repo1-retention-full-type": "time" },
          repos: [{ name: "repo1", volume: { volumeClaimSpec: claim } }],
        },
      },
    });
    const g = sections(renderPgBackRestConfig({ cluster: c, role: "job" })).global;
    expect(g.get("repo1-retention-full")).toBe("14");
    expect(g.get("repo1-retention-full-type")).toBe("time");
  });

  it("sets lz4, process-max, start-fast and file logging off by default; Jobs log at info", () => {
    const g = render("volume-only", "job").global;
    expect(g.get("compress-type")).toBe("lz4");
    expect(g.get("process-max")).toBe("2");
    expect(g.get("start-fast")).toBe("y");
    expect(g.get("log-level-file")).toBe("off");
    expect(g.get("log-level-console")).toBe("info");
    expect(render("volume-only", "instance").global.get("log-level-console")).toBeUndefined();
  });

  it("applies layout overrides field by field (the end-to-end mapping)", () => {
    const text = renderPgBackRestConfig({
      cluster: SCENARIOS["volume-only"]!,
      role: "instance",
      layout: { pgPath: "/tmp/e2e/pg1", lockPath: "/tmp/e2e/lock", repoHost: { host: "127.0.0.1", port: 18432 } },
    });
    const g = sections(text);
    expect(g.db.get("pg1-path")).toBe("/tmp/e2e/pg1");
    expect(g.global.get("lock-path")).toBe("/tmp/e2e/lock");
    expect(g.global.get("repo1-host")).toBe("127.0.0.1");
    expect(g.global.get("repo1-host-port")).toBe("18432");
    expect(g.global.get("log-path")).toBe("/tmp/pgbackrest/log");
  });

  it("names every instance as a pg host up to pgBackRest's 256, which the API's largest cluster reaches exactly", () => {
    const c = cluster({
      postgresVersion: 15,
      instances: Array.from({ length: 16 }, (_, i) => ({ name: `s${i}`, replicas: 16, dataVolumeClaimSpec: claim })),
      backups: { pgbackrest: { repos: [{ name: "repo1", volume: { volumeClaimSpec: claim } }] } },
    });
    const { db } = sections(renderPgBackRestConfig({ cluster: c, role: "job" }));
    expect(db.get("pg256-host")).toBeDefined();
    expect(db.get("pg257-host")).toBeUndefined();
  });
});

describe("pgbackrestConfigData", () => {
  it("has a key per role, the repo host's only with a volume repo", () => {
    expect(Object.keys(pgbackrestConfigData(SCENARIOS["volume-only"]!)).sort()).toEqual(
      [CONFIG_KEYS.instance, CONFIG_KEYS.job, CONFIG_KEYS["repo-host"]].sort(),
    );
    expect(Object.keys(pgbackrestConfigData(SCENARIOS["s3-only"]!)).sort()).toEqual(
      [CONFIG_KEYS.instance, CONFIG_KEYS.job].sort(),
    );
    const data = pgbackrestConfigData(SCENARIOS.minio!);
    expect(data[CONFIG_KEYS.job]).toBe(renderPgBackRestConfig({ cluster: SCENARIOS.minio!, role: "job" }));
  });
});
