/**
 * The repository host when its volume repos change. Kubernetes refuses every change to a
 * StatefulSet's volumeClaimTemplates (the real API server answered 422 on each sync after a repo
 * was added, test/kube/cluster.test.ts), so the hook recreates the repo host instead: left out
 * while the old one is deleted, back with the new claims once it is gone, each repo's claim
 * keeping its name.
 */
import { describe, expect, it } from "vitest";
import { type Json, observe, steadyState, sync, volume } from "./fixtures.ts";

const STS = "StatefulSet.apps/v1";
const REPO_HOST = "hippo-repo-host";
const repo = (name: string, storage = "1Gi") => ({
  name,
  volume: { volumeClaimSpec: { ...volume, resources: { requests: { storage } } } },
});
const withRepos = (...repos: Json[]) => ({
  apiVersion: "postgres.tusk.dev/v1",
  kind: "PostgresCluster",
  metadata: { name: "hippo", namespace: "db", uid: "u-1", generation: 1 },
  spec: {
    postgresVersion: 16,
    instances: [{ name: "instance1", dataVolumeClaimSpec: volume }],
    backups: { pgbackrest: { repos } },
  },
});
const repoHost = (res: { children: unknown[] }) =>
  (res.children as Json[]).find((c) => c.kind === "StatefulSet" && c.metadata.name === REPO_HOST);
const templateNames = (sts: Json | undefined) =>
  (sts?.spec.volumeClaimTemplates ?? []).map((t: Json) => t.metadata.name);
const condition = (res: { status: Json }) => (res.status.conditions as Json[]).find((c) => c.type === "RepoHostReady");

describe("the repository host", () => {
  it("is left out while a repo added changes its claims, then returned with every claim", async () => {
    const steady = await steadyState(withRepos(repo("repo1")));
    expect(templateNames(repoHost(steady.res))).toEqual(["repo1"]);

    const changed = await sync(withRepos(repo("repo1"), repo("repo2")), steady.children, steady.related);
    expect(repoHost(changed)).toBeUndefined();
    expect(condition(changed)).toMatchObject({ status: "False", reason: "Recreating" });
    expect(condition(changed)!.message).toContain("added repo2");
    expect(changed.resyncAfterSeconds).toBeGreaterThan(0);
    // nothing else goes: the instances and their StatefulSets stay
    expect((changed.children as Json[]).some((c) => c.metadata.name === "hippo-instance1-0")).toBe(true);

    // while Kubernetes deletes it, it is still left out
    const deleting = structuredClone(steady.children);
    (deleting[STS]![REPO_HOST] as Json).metadata.deletionTimestamp = "2026-03-01T12:00:00Z";
    expect(repoHost(await sync(withRepos(repo("repo1"), repo("repo2")), deleting, steady.related))).toBeUndefined();

    // once gone, it comes back with both claims, repo1's under its old name
    const gone = observe(changed.children as Json[], steady.children);
    const back = await sync(withRepos(repo("repo1"), repo("repo2")), gone, steady.related);
    expect(templateNames(repoHost(back))).toEqual(["repo1", "repo2"]);
    expect(condition(back)).toBeUndefined();
  });

  it("keeps the observed claims when only a repo's size changes, so no sync is refused", async () => {
    const steady = await steadyState(withRepos(repo("repo1")));
    const observed = steady.children[STS]![REPO_HOST] as Json;
    observed.spec.volumeClaimTemplates[0].status = { phase: "Pending" };
    const res = await sync(withRepos(repo("repo1", "5Gi")), steady.children, steady.related);
    expect(repoHost(res)!.spec.volumeClaimTemplates).toEqual(observed.spec.volumeClaimTemplates);
    expect(condition(res)).toBeUndefined();
  });

  it("is left out when its last volume repo is removed, its claim kept", async () => {
    const steady = await steadyState(withRepos(repo("repo1")));
    const s3 = { name: "repo1", s3: { bucket: "b", endpoint: "s3.example", region: "r" } };
    const res = await sync(withRepos(s3), steady.children, steady.related);
    expect(repoHost(res)).toBeUndefined();
    expect((res.children as Json[]).some((c) => c.kind === "PersistentVolumeClaim")).toBe(false);
  });

  it("emits claim templates as the API server stores them, so the sync after a create sends the same", async () => {
    const steady = await steadyState(withRepos(repo("repo1")));
    const stored = structuredClone(steady.children);
    // what kube-apiserver returns for a claim template it stored
    for (const sts of Object.values(stored[STS]!) as Json[])
      for (const t of sts.spec.volumeClaimTemplates) {
        Object.assign(t, { apiVersion: "v1", kind: "PersistentVolumeClaim", status: { phase: "Pending" } });
        t.spec.volumeMode = "Filesystem";
      }
    const res = await sync(withRepos(repo("repo1")), stored, steady.related);
    expect(JSON.stringify(res.children)).toBe(JSON.stringify(steady.res.children));
    for (const sts of Object.values(stored[STS]!) as Json[])
      expect(
        (res.children as Json[]).find((c) => c.kind === "StatefulSet" && c.metadata.name === sts.metadata.name)!.spec
          .volumeClaimTemplates,
      ).toEqual(sts.spec.volumeClaimTemplates);
  });
});
