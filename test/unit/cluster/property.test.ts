import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PORTS } from "../../../shared/pod-layout.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import { cluster, finishJobs, type Json, observe, podsOf, sync } from "./fixtures.ts";

const dnsLabel = (max: number) =>
  fc.stringMatching(/^[a-z]([-a-z0-9]*[a-z0-9])?$/).filter((s) => s.length >= 1 && s.length <= max);

const quantity = fc.constantFrom("1Gi", "512Mi", "10Gi", "100M");
const claim = fc.record(
  {
    accessModes: fc.constant(["ReadWriteOnce"]),
    storageClassName: fc.constantFrom("standard", "fast"),
    resources: fc.record({ requests: fc.record({ storage: quantity }) }),
  },
  { requiredKeys: ["resources"] },
);

const instanceSet = fc.record(
  {
    replicas: fc.integer({ min: 1, max: 3 }),
    dataVolumeClaimSpec: claim,
    walVolumeClaimSpec: claim,
    minAvailable: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constant("50%")),
    resources: fc.record({ limits: fc.record({ cpu: fc.constantFrom("1", "500m"), memory: quantity }) }),
    tolerations: fc.constant([{ key: "db", operator: "Exists", effect: "NoSchedule" }]),
    priorityClassName: fc.constantFrom("high", "low"),
    metadata: fc.record({ labels: fc.dictionary(dnsLabel(20), dnsLabel(20), { maxKeys: 2 }) }),
  },
  { requiredKeys: ["dataVolumeClaimSpec"] },
);

const user = fc.record(
  {
    name: dnsLabel(30),
    // Database names are arbitrary text: quoting in the SQL must hold.
    databases: fc.array(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 3 }),
    options: fc.constantFrom("CREATEDB", "NOLOGIN", "CONNECTION LIMIT 5", "SUPERUSER -- x", ""),
    password: fc.record({ type: fc.constantFrom("ASCII", "AlphaNumeric") }),
  },
  { requiredKeys: ["name"] },
);

const parameters = fc.dictionary(
  fc.constantFrom(
    "work_mem",
    "shared_buffers",
    "max_connections",
    "ssl",
    "archive_command",
    "wal_level",
    "log_statement",
  ),
  fc.oneof(fc.constantFrom("8MB", "on", "off", "all", "logical", "minimal"), fc.integer({ min: 1, max: 500 })),
  { maxKeys: 4 },
);

const spec = fc
  .record(
    {
      postgresVersion: fc.integer({ min: 13, max: 18 }),
      port: fc.integer({ min: 1024, max: 65535 }),
      instances: fc.uniqueArray(fc.tuple(fc.option(dnsLabel(20), { nil: undefined }), instanceSet), {
        minLength: 1,
        maxLength: 3,
        selector: ([name]) => name ?? "",
      }),
      users: fc.uniqueArray(user, { maxLength: 3, selector: (u) => u.name }),
      shutdown: fc.boolean(),
      config: fc.record({ parameters }),
      patroni: fc.record(
        {
          leaderLeaseDurationSeconds: fc.integer({ min: 3, max: 60 }),
          syncPeriodSeconds: fc.integer({ min: 1, max: 30 }),
          port: fc.integer({ min: 1024, max: 65535 }),
          dynamicConfiguration: fc.record({ synchronous_mode: fc.boolean(), postgresql: fc.record({ parameters }) }),
        },
        { requiredKeys: [] },
      ),
      service: fc.record({ type: fc.constantFrom("ClusterIP", "NodePort", "LoadBalancer") }),
      customTLSSecret: fc.record({ name: dnsLabel(20) }),
      backups: fc.constant({
        pgbackrest: {
          repos: [{ name: "repo1", volume: { volumeClaimSpec: { resources: { requests: { storage: "1Gi" } } } } }],
        },
      }),
    },
    { requiredKeys: ["postgresVersion", "instances"] },
  )
  // Admission refuses ports that collide in the pod (Postgres, Patroni, pgBackRest's TLS server,
  // the exporter); such a spec is covered by the admission tests, not here.
  .filter((s) => {
    const ports = [s.port ?? PORTS.postgres, s.patroni?.port ?? PORTS.patroni, PORTS.pgbackrestTls, PORTS.exporter];
    return new Set(ports).size === ports.length;
  })
  .map((s) => ({
    ...s,
    instances: s.instances.map(([name, set]) => (name === undefined ? set : { name, ...set })),
  }));

const parent = fc.tuple(spec, dnsLabel(63), dnsLabel(63)).map(([s, name, ns]) => cluster(s, name, ns));

// Generous timeouts: these run many syncs (key generation, PBKDF2) on a machine that may be busy.
describe("cluster sync properties", { timeout: 120_000 }, () => {
  it("never throws, and every child is valid and passes Pod Security restricted", async () => {
    let invalid = 0;
    await fc.assert(
      fc.asyncProperty(parent, fc.integer(), async (p, seed) => {
        const res = await sync(p, {}, {}, seed);
        if (res.status.phase === "Invalid") {
          invalid++;
          return;
        }
        for (const c of res.children as Json[]) {
          expect(validateObject(c)).toEqual([]);
          if (c.kind === "StatefulSet" || c.kind === "Job") expect(podSecurityRestrictedViolations(c)).toEqual([]);
        }
      }),
      { numRuns: 40 },
    );
    // The generator makes valid specs; an Invalid answer would mean the hook rejects what admission allows.
    expect(invalid).toBe(0);
  });

  it("is deterministic and idempotent: its own children fed back give byte-identical output", async () => {
    await fc.assert(
      fc.asyncProperty(parent, fc.integer(), fc.integer(), async (p, seed1, seed2) => {
        const first = await sync(p, {}, {}, seed1);
        const observed = observe(first.children as Json[]);
        const second = await sync(p, observed, {}, seed2);
        expect(JSON.stringify(second.children)).toBe(JSON.stringify(first.children));
        const third = await sync(p, observed, {}, seed2 + 1);
        expect(JSON.stringify(third)).toBe(JSON.stringify(second));
        // With the pods running and Jobs done, another round changes nothing either.
        const running = finishJobs(observe(second.children as Json[]));
        const pods = podsOf(running);
        const a = await sync(p, running, pods, seed1);
        const b = await sync(p, finishJobs(observe(a.children as Json[], running)), pods, seed2);
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
      }),
      { numRuns: 30 },
    );
  });

  it("answers arbitrary JSON as a spec with a status, never an exception", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (s) => {
        const p = { ...cluster(), spec: s };
        const res = await sync(p);
        expect(typeof res.status.phase).toBe("string");
      }),
      { numRuns: 200 },
    );
  });
});
