/**
 * RBAC against what actually runs: Metacontroller may do everything the three controllers make
 * it do (and hold every permission the Roles it creates grant, or Kubernetes refuses to let it
 * create them), the scheduler's identity may create and prune backups, and people get the kinds
 * through the built-in admin/edit/view roles.
 */
import { describe, expect, it } from "vitest";
import { customizeCluster } from "../../../functions/cluster/customize.ts";
import { INSTANCE_CLUSTER_ROLE, INSTANCE_RULES } from "../../../functions/cluster/instance/role.ts";
import { FUNCTIONS } from "../../../functions/server.ts";
import { CustomizeRequest } from "../../../shared/metacontroller.ts";
import { BUILDS, type BuildName, built, findOne, ofKind, podTemplate, servedFunctions } from "./builds.ts";
import { CONTROLLER_OF, type HookFunction, hookEnv, resourceOfKind, runHooks } from "./hooks.ts";
import type { KubeDoc } from "./kustomize.ts";

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

const INSTALLS = Object.keys(BUILDS) as BuildName[];
const FNS = Object.keys(CONTROLLER_OF) as HookFunction[];
const MANAGE = ["get", "list", "watch", "create", "update", "patch", "delete"];
const READ = ["get", "list", "watch"];
const TUSK = ["postgresclusters", "postgresbackups", "postgresrestores"];

const groupOf = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0]! : "");
const has = (list: string[] | undefined, value: string) => !!list && (list.includes("*") || list.includes(value));

function allows(rules: Rule[], group: string, resource: string, verb: string): boolean {
  return rules.some(
    (r) => !r.resourceNames?.length && has(r.apiGroups, group) && has(r.resources, resource) && has(r.verbs, verb),
  );
}

/** Rules of every ClusterRole bound (by a ClusterRoleBinding) to the given ServiceAccount. */
function rulesFor(docs: KubeDoc[], namespace: string, serviceAccount: string): Rule[] {
  const roles = ofKind(docs, "ClusterRoleBinding")
    .filter((b) =>
      (b.subjects ?? []).some(
        (s: any) => s.kind === "ServiceAccount" && s.name === serviceAccount && s.namespace === namespace,
      ),
    )
    .map((b) => findOne(docs, "ClusterRole", b.roleRef.name));
  return roles.flatMap((r) => r.rules as Rule[]);
}

describe.each(INSTALLS)("RBAC in %s", (build) => {
  const docs = built(build);
  const metacontroller = rulesFor(docs, "metacontroller", "metacontroller");

  it("Metacontroller may manage every parent and child of every controller", () => {
    const missing: string[] = [];
    for (const fn of FNS) {
      const cc = findOne(docs, "CompositeController", CONTROLLER_OF[fn].name);
      const parent = cc.spec.parentResource;
      const need = (group: string, resource: string, verbs: string[]) => {
        for (const verb of verbs)
          if (!allows(metacontroller, group, resource, verb)) missing.push(`${verb} ${group}/${resource}`);
      };
      need(groupOf(parent.apiVersion), parent.resource, ["get", "list", "watch", "update", "patch"]);
      need(groupOf(parent.apiVersion), `${parent.resource}/status`, ["get", "update", "patch"]);
      need(groupOf(parent.apiVersion), `${parent.resource}/finalizers`, ["update"]);
      for (const child of cc.spec.childResources) need(groupOf(child.apiVersion), child.resource, MANAGE);
    }
    expect(missing).toEqual([]);
  });

  it("Metacontroller may read the S3 configuration Secrets and ConfigMaps the cluster's customize hook names", () => {
    const parent = {
      apiVersion: "postgres.tusk.dev/v1",
      kind: "PostgresCluster",
      metadata: { name: "hippo", namespace: "db" },
      spec: {
        postgresVersion: 16,
        instances: [{ dataVolumeClaimSpec: { resources: { requests: { storage: "1Gi" } } } }],
        backups: {
          pgbackrest: {
            configuration: [{ secret: { name: "hippo-s3" } }, { configMap: { name: "hippo-tuning" } }],
            repos: [{ name: "repo1", s3: { bucket: "b", endpoint: "s3.example.com", region: "r" } }],
          },
        },
      },
    };
    const rules = customizeCluster(CustomizeRequest.parse({ parent })).relatedResources;
    const asked = rules.filter((r) => r.resource === "secrets" || r.resource === "configmaps");
    expect(asked.map((r) => r.resource).sort()).toEqual(["configmaps", "secrets"]);
    for (const r of asked)
      for (const verb of READ) expect(allows(metacontroller, "", r.resource, verb), `${verb} ${r.resource}`).toBe(true);
  });

  it("the scheduler's identity may create, list and prune PostgresBackups and read PostgresClusters", () => {
    const schedulers = docs.filter(
      (d) => podTemplate(d) && servedFunctions(d, Object.keys(FUNCTIONS)).includes("scheduler"),
    );
    expect(schedulers.length).toBe(1);
    const w = schedulers[0]!;
    const rules = rulesFor(docs, w.metadata.namespace!, podTemplate(w)!.spec.serviceAccountName);
    for (const verb of ["create", "list", "delete", "get"])
      expect(allows(rules, "postgres.tusk.dev", "postgresbackups", verb), verb).toBe(true);
    expect(allows(rules, "postgres.tusk.dev", "postgresclusters", "get")).toBe(true);
    // Nothing more than that: the functions' token can't touch data or Secrets. An S3
    // repository's key reaches the cluster hook from Metacontroller, as a related object.
    for (const resource of ["secrets", "configmaps"])
      for (const verb of READ) expect(allows(rules, "", resource, verb), `${verb} ${resource}`).toBe(false);
    expect(allows(rules, "postgres.tusk.dev", "postgresclusters", "update")).toBe(false);
  });

  it("people get the three kinds through admin/edit (write) and view (read)", () => {
    const aggregated = (label: string) =>
      ofKind(docs, "ClusterRole")
        .filter((r) => r.metadata.labels?.[`rbac.authorization.k8s.io/aggregate-to-${label}`] === "true")
        .flatMap((r) => r.rules as Rule[]);
    for (const resource of TUSK) {
      for (const role of ["admin", "edit"])
        for (const verb of [...MANAGE, "deletecollection"])
          expect(allows(aggregated(role), "postgres.tusk.dev", resource, verb), `${role} ${verb} ${resource}`).toBe(
            true,
          );
      for (const verb of READ) expect(allows(aggregated("view"), "postgres.tusk.dev", resource, verb)).toBe(true);
      for (const verb of ["create", "update", "patch", "delete"])
        expect(allows(aggregated("view"), "postgres.tusk.dev", resource, verb), `view ${verb}`).toBe(false);
      // Status belongs to Metacontroller; people only read it.
      expect(allows(aggregated("edit"), "postgres.tusk.dev", `${resource}/status`, "update")).toBe(false);
    }
  });
});

describe.each(FNS)("RBAC derived from the %s hooks", (fn) => {
  it("Metacontroller may watch what customize asks for and grant what the hooks' Roles grant", async () => {
    for (const build of INSTALLS) {
      const docs = built(build);
      const metacontroller = rulesFor(docs, "metacontroller", "metacontroller");
      const cc = findOne(docs, "CompositeController", CONTROLLER_OF[fn].name);
      const run = await runHooks(cc, fn, hookEnv(docs, cc));
      expect(run.errors).toEqual([]);
      const missing: string[] = [];
      for (const rel of run.related)
        for (const verb of READ)
          if (!allows(metacontroller, groupOf(rel.apiVersion), rel.resource, verb))
            missing.push(`${build}: related ${verb} ${rel.apiVersion} ${rel.resource}`);
      for (const { example, child } of run.children) {
        // a RoleBinding to a ClusterRole: the escalation check wants its rules held in the namespace
        const granted =
          child.kind === "Role"
            ? (child.rules as Rule[])
            : child.kind === "RoleBinding" && child.roleRef.kind === "ClusterRole"
              ? (findOne(docs, "ClusterRole", child.roleRef.name).rules as Rule[])
              : [];
        for (const rule of granted)
          for (const group of rule.apiGroups ?? [""])
            for (const resource of rule.resources ?? [])
              for (const verb of rule.verbs)
                if (!allows(metacontroller, group, resource, verb))
                  missing.push(
                    `${build}: ${example} ${child.kind} ${child.metadata.name} grants ${verb} ${group}/${resource}`,
                  );
      }
      expect(missing).toEqual([]);
    }
  });
});

describe("the instances' ClusterRole", () => {
  it.each(INSTALLS)("%s installs tusk-instance with exactly the rules the cluster hook binds", (build) => {
    const role = findOne(built(build), "ClusterRole", INSTANCE_CLUSTER_ROLE);
    expect(role.rules).toEqual(INSTANCE_RULES);
  });
});

describe("the permission check itself", () => {
  it("honours wildcards and refuses what no rule grants", () => {
    const rules: Rule[] = [
      { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
      { apiGroups: ["apps"], resources: ["*"], verbs: ["list"] },
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["one"] },
    ];
    expect(allows(rules, "", "pods", "get")).toBe(true);
    expect(allows(rules, "", "pods", "delete")).toBe(false);
    expect(allows(rules, "apps", "statefulsets", "list")).toBe(true);
    expect(allows(rules, "batch", "jobs", "list")).toBe(false);
    expect(allows(rules, "", "secrets", "get")).toBe(false);
    expect(resourceOfKind("PostgresBackup")).toBe("postgresbackups");
  });
});
