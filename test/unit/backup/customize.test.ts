import { describe, expect, it } from "vitest";
import { customizeBackup } from "../../../functions/backup/customize.ts";
import { CustomizeRequest } from "../../../shared/metacontroller.ts";
import { backupParent } from "./fixtures.ts";

describe("PostgresBackup customize", () => {
  it("asks for the parent cluster by name and the backup's Pods by label", () => {
    const req = CustomizeRequest.parse({ parent: backupParent({ cluster: "hippo", repoName: "repo1" }) });
    expect(customizeBackup(req)).toEqual({
      relatedResources: [
        { apiVersion: "postgres.tusk.dev/v1", resource: "postgresclusters", names: ["hippo"] },
        {
          apiVersion: "v1",
          resource: "pods",
          labelSelector: { matchLabels: { "postgres.tusk.dev/backup": "hippo-nightly" } },
        },
      ],
    });
  });

  it("still asks for the Pods when the spec is unusable", () => {
    const req = CustomizeRequest.parse({ parent: backupParent({ repoName: 3 }) });
    expect(customizeBackup(req).relatedResources.map((r) => r.resource)).toEqual(["pods"]);
  });

  it("selects Pods of a long-named backup with a valid label value", () => {
    const long = "x".repeat(120);
    const req = CustomizeRequest.parse({
      parent: backupParent({ cluster: "hippo", repoName: "repo1" }, { name: long }),
    });
    const value = customizeBackup(req).relatedResources[1]?.labelSelector?.matchLabels?.["postgres.tusk.dev/backup"];
    expect(value?.length).toBeLessThanOrEqual(63);
  });
});
