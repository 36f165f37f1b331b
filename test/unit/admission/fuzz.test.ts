import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { app } from "../../../functions/admission/app.ts";
import { validateAdmission } from "../../../functions/admission/validate.ts";
import type { AdmissionReviewResponse } from "../../../shared/admission-review.ts";
import { clone, cluster, compatClusters, expectWellFormed, type Kind, review, volume } from "./fixtures.ts";

type Json = Record<string, any>;

/** Fails the property when a rule throws: the fail-open path is for bugs, and a fuzz finding is one. */
function strictValidate(r: ReturnType<typeof review>): AdmissionReviewResponse {
  const errors: unknown[] = [];
  const answer = validateAdmission(r, { onInternalError: (e) => errors.push(e) });
  expect(errors).toEqual([]);
  expectWellFormed(answer, r.request.uid);
  return answer;
}

/** Every path (object keys and array indexes) in a JSON value, iteratively. */
function paths(value: unknown): (string | number)[][] {
  const out: (string | number)[][] = [];
  const stack: [unknown, (string | number)[]][] = [[value, []]];
  while (stack.length) {
    const [v, p] = stack.pop()!;
    if (p.length) out.push(p);
    if (Array.isArray(v)) v.forEach((item, i) => stack.push([item, [...p, i]]));
    else if (v && typeof v === "object") for (const [k, item] of Object.entries(v)) stack.push([item, [...p, k]]);
  }
  return out;
}

interface Mutation {
  at: number;
  op: "delete" | "replace" | "string" | "number" | "empty" | "wrap";
  value: unknown;
}

function mutate(object: Json, mutations: Mutation[]): Json {
  const copy = clone(object);
  for (const m of mutations) {
    const all = paths(copy);
    if (!all.length) break;
    const path = all[m.at % all.length]!;
    const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], copy);
    const last = path[path.length - 1]!;
    const current = parent[last];
    switch (m.op) {
      case "delete":
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete parent[last];
        break;
      case "replace":
        parent[last] = m.value;
        break;
      case "string":
        // JSON.stringify, not String(): a generated {"toString": false} makes String() throw
        parent[last] = typeof m.value === "string" ? m.value : JSON.stringify(m.value);
        break;
      case "number":
        parent[last] = typeof m.value === "number" ? m.value : -1;
        break;
      case "empty":
        parent[last] = Array.isArray(current) ? [] : typeof current === "object" ? {} : "";
        break;
      case "wrap":
        parent[last] = [current];
        break;
    }
  }
  return copy;
}

const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom<Mutation["op"]>("delete", "replace", "string", "number", "empty", "wrap"),
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom(
      "",
      "0",
      "-1Gi",
      "10Gi",
      "repo1",
      "repo9",
      "postgres",
      "pg_x",
      "0 0 L * *",
      "--repo1-path=/x",
      "\n",
    ),
  ),
});

const compat = compatClusters().map((d) => d.object);
const kinds: Kind[] = ["PostgresCluster", "PostgresBackup", "PostgresRestore"];
const operations = ["CREATE", "UPDATE", "DELETE", "CONNECT"] as const;

/** Plausible clusters: the parts users write, drawn from values near the rules' edges. */
const plausibleCluster = fc
  .record({
    name: fc.constantFrom("hippo", "h".repeat(42), "h".repeat(43), "Hippo", "a-b"),
    version: fc.constantFrom(12, 13, 16, 17, 18, 19),
    image: fc.option(fc.constantFrom("postgres:16", "x:ppg17-postgres", "x:latest", "x@sha256:00"), { nil: undefined }),
    sets: fc.array(
      fc.record({
        name: fc.constantFrom("", "00", "01", "a", "instance1", "s".repeat(30)),
        replicas: fc.integer({ min: 0, max: 12 }),
        storage: fc.constantFrom<unknown>("1Gi", "10240Mi", "0", "-1", "1e3", "1.5Gi", "abc", 5, null),
        wal: fc.option(fc.constantFrom("1Gi", "x"), { nil: undefined }),
      }),
      { minLength: 0, maxLength: 4 },
    ),
    repos: fc.array(
      fc.record({
        name: fc.constantFrom("repo1", "repo2", "repo4", "repo5"),
        kind: fc.subarray(["volume", "s3", "gcs", "azure"]),
        schedule: fc.option(fc.constantFrom("0 1 * * *", "@daily", "0 0 31 2 *", "* *", "0 0 * * * *", "0 0 L * *"), {
          nil: undefined,
        }),
      }),
      { maxLength: 5 },
    ),
    users: fc.array(
      fc.record({
        name: fc.constantFrom("app", "postgres", "replicator", "pg_x", "a-b"),
        databases: fc.array(fc.constantFrom("app", "template0", "", "ü".repeat(40)), { maxLength: 3 }),
      }),
      { maxLength: 3 },
    ),
    parameters: fc.dictionary(
      fc.constantFrom("work_mem", "ssl", "port", "wal_level", "ssl_groups", "bad name", "archive_mode"),
      fc.oneof(fc.constantFrom("on", "off", "minimal", "logical", "a\nb"), fc.integer()),
    ),
    options: fc.array(
      fc.constantFrom("--type=full", "--type=time", "--target=2026-01-01 00:00:00+00", "--repo=1", "--x;y"),
      {
        maxLength: 3,
      },
    ),
  })
  .map((c) => {
    const storageKinds: Record<string, Json> = {
      volume: { volumeClaimSpec: volume("1Gi") },
      s3: { bucket: "b", endpoint: "e", region: "r" },
      gcs: { bucket: "b" },
      azure: { container: "c" },
    };
    return cluster(
      {
        postgresVersion: c.version,
        ...(c.image ? { image: c.image } : {}),
        instances: c.sets.map((s) => ({
          name: s.name,
          replicas: s.replicas,
          dataVolumeClaimSpec: volume(s.storage as string),
          ...(s.wal ? { walVolumeClaimSpec: volume(s.wal) } : {}),
        })),
        users: c.users,
        config: { parameters: c.parameters },
        backups: {
          pgbackrest: {
            repos: c.repos.map((r) => ({
              name: r.name,
              ...Object.fromEntries(r.kind.map((k) => [k, storageKinds[k]])),
              ...(r.schedule ? { schedules: { full: r.schedule } } : {}),
            })),
            manual: { repoName: "repo1", options: c.options },
            restore: { enabled: true, repoName: "repo2", options: c.options },
          },
        },
      },
      { name: c.name },
    );
  });

// Thousands of runs take a few seconds; the timeout only keeps a hung run from blocking CI.
const LONG = { timeout: 180_000 };

describe("fuzzing the admission core", () => {
  it("answers random requests of every kind and operation with a well-formed review", LONG, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.constantFrom(...operations),
        fc.anything({ maxDepth: 4 }),
        fc.anything({ maxDepth: 4 }),
        fc.option(fc.jsonValue({ maxDepth: 4 }), { nil: undefined }),
        fc.uuid(),
        (kind, operation, object, oldObject, spec, uid) => {
          const obj = spec === undefined ? object : { metadata: { name: "hippo" }, spec };
          strictValidate(review({ kind, operation, object: obj, oldObject, uid }));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("answers thousands of mutated compat manifests on CREATE and UPDATE", LONG, () => {
    fc.assert(
      fc.property(
        fc.nat(compat.length - 1),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (i, muts, asUpdate) => {
          const base = compat[i]!;
          const object = mutate(base, muts);
          strictValidate(
            asUpdate ? review({ operation: "UPDATE", object, oldObject: clone(base) }) : review({ object }),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("answers plausible clusters near every rule's edge, and the same answer twice", LONG, () => {
    fc.assert(
      fc.property(plausibleCluster, plausibleCluster, (a, b) => {
        const r = review({ operation: "UPDATE", object: a, oldObject: b });
        const first = strictValidate(r);
        expect(JSON.stringify(strictValidate(clone(r)))).toBe(JSON.stringify(first));
        strictValidate(review({ object: a }));
      }),
      { numRuns: 1500 },
    );
  });

  it("answers mutated backups and restores", LONG, () => {
    const objects = [
      {
        kind: "PostgresBackup" as const,
        object: { metadata: { name: "b" }, spec: { cluster: "hippo", repoName: "repo1", options: ["--start-fast"] } },
      },
      {
        kind: "PostgresRestore" as const,
        object: {
          metadata: { name: "r" },
          spec: {
            cluster: "hippo",
            repoName: "repo1",
            target: { type: "time", value: "2026-01-01 00:00:00+00" },
            options: ["--delta"],
          },
        },
      },
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...objects),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (o, muts, asUpdate) => {
          const object = mutate(o.object, muts);
          strictValidate(
            asUpdate
              ? review({ kind: o.kind, operation: "UPDATE", object, oldObject: clone(o.object) })
              : review({ kind: o.kind, object }),
          );
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe("fuzzing the HTTP adapter", () => {
  const post = (body: string) =>
    app.request("/validate", { method: "POST", body, headers: { "content-type": "application/json" } });

  it("never answers 500: a review gets 200 with its uid, anything else a 400 that says why", LONG, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
          fc
            .record({ kind: fc.constantFrom(...kinds), object: fc.jsonValue({ maxDepth: 3 }), uid: fc.uuid() })
            .map((r) =>
              JSON.stringify(review({ kind: r.kind, object: { metadata: { name: "x" }, spec: r.object }, uid: r.uid })),
            ),
          fc.constantFrom(...compat).map((object) => JSON.stringify(review({ object, uid: "compat" }))),
        ),
        async (body) => {
          const res = await post(body);
          expect([200, 400]).toContain(res.status);
          const json = (await res.json()) as Json;
          if (res.status === 200) {
            const sent = JSON.parse(body);
            expectWellFormed(json as AdmissionReviewResponse, sent.request.uid);
          } else {
            expect(json.error).toMatch(/request body (is not valid JSON|does not match)/);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
