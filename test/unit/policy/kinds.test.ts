/**
 * One table of kinds and controller children (shared/kinds.ts). The CompositeControllers in every
 * install list exactly its children (with its update strategy), overlays add only its optional
 * ones, Metacontroller's ClusterRole manages all of them, and the hooks' kind tables are picks
 * from it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KINDS as BACKUP_KINDS } from "../../../functions/backup/kinds.ts";
import {
  CHILD_KINDS,
  KINDS as CLUSTER_KINDS,
  OPTIONAL_KINDS,
  RELATED,
} from "../../../functions/cluster/objects/kinds.ts";
import { KINDS as RESTORE_KINDS } from "../../../functions/restore/kinds.ts";
import {
  CHILDREN,
  type ChildResource,
  type Controller,
  childResources,
  KINDS,
  OPTIONAL_CHILDREN,
} from "../../../shared/kinds.ts";
import { BUILDS, type BuildName, built, findOne } from "../manifests/builds.ts";
import { CONTROLLER_OF } from "../manifests/hooks.ts";
import { parseYamlDocs, REPO } from "../manifests/kustomize.ts";

const CONTROLLERS = Object.keys(CHILDREN) as Controller[];
const key = (r: ChildResource) => `${r.resource}.${r.apiVersion} ${r.updateStrategy.method}`;
const keys = (list: ChildResource[]) => list.map(key).sort();

describe("controller children", () => {
  it.each(CONTROLLERS)("manifests/controllers lists exactly the %s controller's children", (controller) => {
    const [doc] = parseYamlDocs(
      readFileSync(join(REPO, "manifests/controllers", `postgres${controller}.yaml`), "utf8"),
      controller,
    ) as { spec: { childResources: ChildResource[] } }[];
    expect(keys(doc!.spec.childResources)).toEqual(keys(childResources(controller)));
  });

  it.each(Object.keys(BUILDS) as BuildName[])(
    "in %s, each controller lists its children plus only optional ones",
    (build) => {
      for (const controller of CONTROLLERS) {
        const listed = keys(
          findOne(built(build), "CompositeController", CONTROLLER_OF[controller].name).spec.childResources,
        );
        for (const required of keys(childResources(controller)))
          expect(listed, `${controller}: ${required}`).toContain(required);
        for (const item of listed)
          expect(keys(childResources(controller, true)), `${controller}: ${item}`).toContain(item);
      }
    },
  );

  it("Metacontroller's ClusterRole manages every child, optional ones included", () => {
    const docs = parseYamlDocs(readFileSync(join(REPO, "manifests/rbac/metacontroller.yaml"), "utf8"), "rbac") as {
      kind: string;
      rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    }[];
    const rules = docs.find((d) => d.kind === "ClusterRole")!.rules!;
    for (const controller of CONTROLLERS) {
      for (const child of childResources(controller, true)) {
        const group = child.apiVersion.includes("/") ? child.apiVersion.split("/")[0]! : "";
        const verbs = new Set(
          rules
            .filter((r) => r.apiGroups.includes(group) && r.resources.includes(child.resource))
            .flatMap((r) => r.verbs),
        );
        for (const verb of ["get", "list", "watch", "create", "update", "patch", "delete"])
          expect(verbs.has(verb), `${child.resource}: ${verb}`).toBe(true);
      }
    }
  });

  it("the hooks' kind tables are picks from the one table", () => {
    expect(CHILD_KINDS).toEqual(CHILDREN.cluster.map(([k]) => k));
    expect(Object.keys(OPTIONAL_KINDS)).toEqual(OPTIONAL_CHILDREN.cluster.map(([k]) => k));
    for (const table of [CLUSTER_KINDS, RELATED, OPTIONAL_KINDS, BACKUP_KINDS, RESTORE_KINDS])
      for (const [name, info] of Object.entries(table)) expect(info).toBe(KINDS[name as keyof typeof KINDS]);
    expect(Object.keys(BACKUP_KINDS)).toContain(CHILDREN.backup[0][0]);
    expect(Object.keys(RESTORE_KINDS)).toContain(CHILDREN.restore[0][0]);
  });
});
