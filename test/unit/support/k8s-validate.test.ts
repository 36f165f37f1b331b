import { describe, expect, it } from "vitest";
import { assertValid, supportedKinds, validateObject } from "../../support/k8s-validate.ts";

const labels = { "app.kubernetes.io/name": "postgres", "postgres.tusk.dev/cluster": "hippo" };

function statefulSet(): any {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "hippo-instance1-abcd", namespace: "db", labels },
    spec: {
      serviceName: "hippo-pods",
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: "database",
              image: "postgres:15",
              imagePullPolicy: "IfNotPresent",
              ports: [{ name: "postgres", containerPort: 5432, protocol: "TCP" }],
              resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: 2147483648 } },
              readinessProbe: { httpGet: { path: "/readiness", port: 8008 }, periodSeconds: 10 },
              volumeMounts: [{ name: "pgdata", mountPath: "/pgdata" }],
              env: [{ name: "PGDATA", value: "/pgdata/pg15" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: { sizeLimit: "16Mi" } }],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "pgdata" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      ],
      updateStrategy: { type: "OnDelete" },
      podManagementPolicy: "Parallel",
    },
  };
}

const validObjects: any[] = [
  statefulSet(),
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "tusk-functions" },
    spec: {
      selector: { matchLabels: { app: "tusk" } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } },
      template: { metadata: { labels: { app: "tusk" } }, spec: { containers: [{ name: "functions", image: "tusk" }] } },
    },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "hippo-primary", labels },
    spec: {
      type: "ClusterIP",
      clusterIP: "None",
      ports: [{ name: "postgres", port: 5432, targetPort: "postgres", protocol: "TCP" }],
      selector: labels,
      publishNotReadyAddresses: true,
    },
  },
  { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "hippo-config" }, data: { "patroni.yaml": "a: 1" } },
  {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "hippo-pguser-hippo" },
    type: "Opaque",
    data: { password: "c2VjcmV0" },
  },
  {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "hippo-instance" },
    automountServiceAccountToken: false,
  },
  {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "hippo-ha" },
    subsets: [{ addresses: [{ ip: "10.0.0.1" }], ports: [{ name: "postgres", port: 5432 }] }],
  },
  {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "hippo-repo1" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } },
  },
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "hippo-instance1-abcd-0" },
    spec: { containers: [{ name: "database", image: "postgres" }], restartPolicy: "Always" },
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }], podIP: "10.0.0.2" },
  },
];

describe("validateObject on valid objects", () => {
  for (const obj of validObjects) {
    it(`accepts ${obj.kind} ${obj.metadata.name}`, () => {
      expect(validateObject(obj)).toEqual([]);
      expect(() => assertValid(obj)).not.toThrow();
    });
  }
});

describe("validateObject reports", () => {
  it("an unknown field, naming it", () => {
    const sts = statefulSet();
    sts.spec.template.spec.containers[0].imagePullPolicyy = "Always";
    expect(validateObject(sts)).toEqual([
      "StatefulSet hippo-instance1-abcd: spec.template.spec.containers[0].imagePullPolicyy: unknown field",
    ]);
  });

  it("a wrong type, naming the field", () => {
    const sts = statefulSet();
    sts.spec.template.spec.containers[0].ports[0].containerPort = "5432";
    expect(validateObject(sts)).toEqual([
      "StatefulSet hippo-instance1-abcd: spec.template.spec.containers[0].ports[0].containerPort: must be integer (got string)",
    ]);
  });

  it("a missing required field, naming it", () => {
    const sts = statefulSet();
    delete sts.spec.selector;
    expect(validateObject(sts)).toEqual(["StatefulSet hippo-instance1-abcd: spec.selector: required field missing"]);
  });

  it("a value outside an enum, naming the field", () => {
    const sts = statefulSet();
    sts.spec.template.spec.containers[0].imagePullPolicy = "Sometimes";
    expect(validateObject(sts)).toEqual([
      'StatefulSet hippo-instance1-abcd: spec.template.spec.containers[0].imagePullPolicy: must be one of "Always", "Never", "IfNotPresent" (got "Sometimes")',
    ]);
  });

  it("an int-or-string that is neither", () => {
    const svc = structuredClone(validObjects[2]);
    svc.spec.ports[0].targetPort = true;
    expect(validateObject(svc)).toEqual([
      "Service hippo-primary: spec.ports[0].targetPort: must be integer or string (got boolean)",
    ]);
  });

  it("a malformed quantity", () => {
    const sts = statefulSet();
    sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage = "1 GB";
    expect(validateObject(sts)).toEqual([
      'StatefulSet hippo-instance1-abcd: spec.volumeClaimTemplates[0].spec.resources.requests.storage: must be a quantity such as "1Gi", "500m" or a number (got "1 GB")',
    ]);
  });

  it("Secret data that is not base64", () => {
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { password: "not base64!" } };
    expect(validateObject(secret)).toEqual(["Secret s: data.password: must be base64 (standard alphabet, padded)"]);
  });

  it("an unknown apiVersion/kind instead of passing it through", () => {
    expect(validateObject({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } })).toEqual([
      'Widget w: no vendored schema for apiVersion "example.com/v1" kind "Widget"',
    ]);
    expect(validateObject({ apiVersion: "apps/v1beta1", kind: "StatefulSet", metadata: { name: "w" } })).toHaveLength(
      1,
    );
  });

  it("a missing metadata.name", () => {
    expect(validateObject({ apiVersion: "v1", kind: "ConfigMap", metadata: {} })).toEqual([
      "ConfigMap <no name>: metadata.name: required field missing (name or generateName)",
    ]);
  });

  it("names that break the kind's name rule", () => {
    const long = "a".repeat(64);
    expect(validateObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "Hippo_Config" } })[0]).toContain(
      "metadata.name: must be a lowercase RFC 1123 subdomain",
    );
    expect(validateObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a".repeat(254) } })[0]).toContain(
      "must be no more than 253 characters",
    );
    // A 64-character name is a fine subdomain for a ConfigMap but not for a Service or Pod.
    expect(validateObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: long } })).toEqual([]);
    expect(validateObject({ apiVersion: "v1", kind: "Service", metadata: { name: long } })[0]).toContain(
      "metadata.name: must be no more than 63 characters",
    );
    expect(validateObject({ apiVersion: "v1", kind: "Service", metadata: { name: "1st" } })[0]).toContain(
      "RFC 1035 label",
    );
    expect(
      validateObject({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: long },
        spec: { containers: [{ name: "c" }] },
      })[0],
    ).toContain("metadata.name: must be no more than 63 characters");
  });

  it("label keys and values the server rejects", () => {
    const sts = statefulSet();
    sts.metadata.labels = { "postgres.tusk.dev/instance": "x".repeat(64), "bad key!": "v", "ok/": "v" };
    const errors = validateObject(sts);
    expect(errors).toContain(
      'StatefulSet hippo-instance1-abcd: metadata.labels["postgres.tusk.dev/instance"]: label value must be no more than 63 characters (got 64)',
    );
    expect(errors.some((e) => e.includes('metadata.labels["bad key!"]: label key name part must consist of'))).toBe(
      true,
    );
    expect(errors.some((e) => e.includes('metadata.labels["ok/"]: label key name part must be non-empty'))).toBe(true);
  });

  it("selector labels and template labels too", () => {
    const sts = statefulSet();
    sts.spec.selector.matchLabels = { app: "-bad-" };
    sts.spec.template.metadata.labels = { app: "-bad-" };
    expect(validateObject(sts)).toEqual([
      "StatefulSet hippo-instance1-abcd: spec.selector.matchLabels.app: label value must be empty or alphanumerics, '-', '_' or '.', starting and ending alphanumeric",
      "StatefulSet hippo-instance1-abcd: spec.template.metadata.labels.app: label value must be empty or alphanumerics, '-', '_' or '.', starting and ending alphanumeric",
    ]);
  });

  it("duplicate container names and bad port numbers", () => {
    const sts = statefulSet();
    const c = sts.spec.template.spec.containers[0];
    sts.spec.template.spec.containers.push({ ...c, ports: [{ containerPort: 70000 }] });
    const errors = validateObject(sts);
    expect(errors).toContain(
      'StatefulSet hippo-instance1-abcd: spec.template.spec.containers[1].name: duplicate container name "database" (also spec.template.spec.containers[0].name)',
    );
    expect(errors).toContain(
      "StatefulSet hippo-instance1-abcd: spec.template.spec.containers[1].ports[0].containerPort: must be a port number between 1 and 65535 (got 70000)",
    );
  });

  it("every error at once through assertValid", () => {
    const sts = statefulSet();
    sts.spec.bogus = 1;
    sts.spec.replicas = "one";
    expect(() => assertValid(sts)).toThrow(/spec\.bogus: unknown field/);
    expect(() => assertValid(sts)).toThrow(/spec\.replicas: must be integer \(got string\)/);
  });

  it("null where the schema does not allow it", () => {
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", creationTimestamp: null } };
    expect(validateObject(cm)).toEqual(["ConfigMap c: metadata.creationTimestamp: must be string, not null"]);
  });
});

describe("supportedKinds", () => {
  it("lists the core kinds Tusk emits", () => {
    expect(supportedKinds()).toEqual(
      expect.arrayContaining([
        "v1 ConfigMap",
        "v1 Secret",
        "v1 Service",
        "v1 ServiceAccount",
        "v1 PersistentVolumeClaim",
        "v1 Endpoints",
        "v1 Pod",
        "apps/v1 StatefulSet",
        "apps/v1 Deployment",
      ]),
    );
  });
});
