// Every kind the brief requires: one valid object each, plus a targeted failure per kind.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { supportedKinds, validateObject, validatorWithCrds } from "../../support/k8s-validate.ts";

const pod = { containers: [{ name: "main", image: "busybox" }] };
const template = { metadata: { labels: { app: "x" } }, spec: { ...pod, restartPolicy: "Never" } };

const valid: Record<string, any> = {
  Job: { apiVersion: "batch/v1", kind: "Job", metadata: { name: "hippo-backup" }, spec: { template, backoffLimit: 2 } },
  CronJob: {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "hippo-repo1-full" },
    spec: {
      schedule: "0 1 * * 0",
      concurrencyPolicy: "Forbid",
      jobTemplate: { spec: { template } },
    },
  },
  PodDisruptionBudget: {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: "hippo-instance1" },
    spec: { minAvailable: 1, selector: { matchLabels: { app: "x" } }, unhealthyPodEvictionPolicy: "AlwaysAllow" },
  },
  Role: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "hippo-instance", namespace: "db" },
    rules: [{ apiGroups: [""], resources: ["endpoints"], verbs: ["get", "patch"] }],
  },
  RoleBinding: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "hippo-instance", namespace: "db" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "hippo-instance" },
    subjects: [{ kind: "ServiceAccount", name: "hippo-instance" }],
  },
  ClusterRole: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "tusk:functions" },
    rules: [{ nonResourceURLs: ["/healthz"], verbs: ["get"] }],
  },
  ClusterRoleBinding: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "tusk:functions" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "tusk:functions" },
    subjects: [{ kind: "ServiceAccount", name: "tusk", namespace: "tusk" }],
  },
  ValidatingWebhookConfiguration: {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: "tusk-admission" },
    webhooks: [
      {
        name: "postgresclusters.postgres.tusk.dev",
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        failurePolicy: "Fail",
        clientConfig: { service: { name: "tusk-admission", namespace: "tusk", path: "/validate", port: 443 } },
        rules: [
          {
            apiGroups: ["postgres.tusk.dev"],
            apiVersions: ["v1"],
            operations: ["CREATE", "UPDATE"],
            resources: ["postgresclusters"],
            scope: "Namespaced",
          },
        ],
      },
    ],
  },
  CustomResourceDefinition: {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.com" },
    spec: {
      group: "example.com",
      names: { kind: "Widget", plural: "widgets", singular: "widget", listKind: "WidgetList" },
      scope: "Namespaced",
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  properties: { size: { type: "integer", minimum: 1 }, port: { "x-kubernetes-int-or-string": true } },
                  "x-kubernetes-validations": [{ rule: "self.size < 10", message: "too big" }],
                },
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              },
            },
          },
        },
      ],
    },
  },
  CompositeController: {
    apiVersion: "metacontroller.k8s.io/v1alpha1",
    kind: "CompositeController",
    metadata: { name: "tusk-postgrescluster" },
    spec: {
      generateSelector: true,
      parentResource: { apiVersion: "postgres.tusk.dev/v1", resource: "postgresclusters" },
      childResources: [
        { apiVersion: "apps/v1", resource: "statefulsets", updateStrategy: { method: "InPlace" } },
        { apiVersion: "v1", resource: "services", updateStrategy: { method: "OnDelete" } },
      ],
      hooks: {
        sync: { webhook: { url: "http://tusk.tusk/sync", timeout: "10s" } },
        finalize: { webhook: { service: { name: "tusk", namespace: "tusk", port: 80 }, path: "/finalize" } },
      },
      resyncPeriodSeconds: 30,
    },
  },
  KnativeService: {
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: { name: "tusk-sync" },
    spec: {
      template: {
        metadata: { annotations: { "autoscaling.knative.dev/min-scale": "0" } },
        spec: {
          containerConcurrency: 10,
          timeoutSeconds: 30,
          containers: [
            { image: "tusk/functions", ports: [{ containerPort: 8080 }], env: [{ name: "HOOK", value: "sync" }] },
          ],
        },
      },
      traffic: [{ latestRevision: true, percent: 100 }],
    },
  },
  PingSource: {
    apiVersion: "sources.knative.dev/v1",
    kind: "PingSource",
    metadata: { name: "hippo-backup-schedule" },
    spec: {
      schedule: "*/5 * * * *",
      contentType: "application/json",
      data: '{"cluster":"hippo"}',
      sink: { ref: { apiVersion: "serving.knative.dev/v1", kind: "Service", name: "tusk-backup" } },
    },
  },
  PodMonitor: {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: { name: "hippo" },
    spec: {
      selector: { matchLabels: { app: "x" } },
      podMetricsEndpoints: [{ port: "exporter", interval: "30s", path: "/metrics" }],
    },
  },
  Certificate: {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name: "hippo-tls" },
    spec: {
      secretName: "hippo-tls",
      commonName: "hippo-primary",
      dnsNames: ["hippo-primary", "hippo-primary.db.svc"],
      duration: "2160h",
      privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
      usages: ["server auth", "digital signature"],
      issuerRef: { name: "tusk-ca", kind: "Issuer" },
    },
  },
  Issuer: {
    apiVersion: "cert-manager.io/v1",
    kind: "Issuer",
    metadata: { name: "tusk-ca" },
    spec: { ca: { secretName: "tusk-ca" } },
  },
};

describe("valid objects of every required kind", () => {
  for (const [label, obj] of Object.entries(valid)) {
    it(`accepts ${label}`, () => {
      expect(validateObject(obj)).toEqual([]);
    });
  }

  it("supportedKinds lists every required kind", () => {
    const kinds = supportedKinds();
    for (const k of [
      "v1 ConfigMap",
      "v1 Secret",
      "v1 Service",
      "v1 ServiceAccount",
      "v1 PersistentVolumeClaim",
      "v1 Endpoints",
      "v1 Pod",
      "apps/v1 StatefulSet",
      "apps/v1 Deployment",
      "batch/v1 Job",
      "batch/v1 CronJob",
      "policy/v1 PodDisruptionBudget",
      "rbac.authorization.k8s.io/v1 Role",
      "rbac.authorization.k8s.io/v1 RoleBinding",
      "rbac.authorization.k8s.io/v1 ClusterRole",
      "rbac.authorization.k8s.io/v1 ClusterRoleBinding",
      "admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration",
      "apiextensions.k8s.io/v1 CustomResourceDefinition",
      "metacontroller.k8s.io/v1alpha1 CompositeController",
      "serving.knative.dev/v1 Service",
      "sources.knative.dev/v1 PingSource",
      "monitoring.coreos.com/v1 PodMonitor",
      "cert-manager.io/v1 Certificate",
      "cert-manager.io/v1 Issuer",
    ]) {
      expect(kinds).toContain(k);
    }
  });
});

function broken(label: string, mutate: (o: any) => void): string[] {
  const obj = structuredClone(valid[label]);
  mutate(obj);
  return validateObject(obj);
}

describe("targeted failures per kind", () => {
  it("Job: restartPolicy must be Never or OnFailure", () => {
    expect(broken("Job", (o) => delete o.spec.template.spec.restartPolicy)).toEqual([
      'Job hippo-backup: spec.template.spec.restartPolicy: required here: one of "Never", "OnFailure"',
    ]);
    expect(broken("Job", (o) => (o.spec.template.spec.restartPolicy = "Always"))[0]).toContain(
      'spec.template.spec.restartPolicy: must be "Never" or "OnFailure" here (got "Always")',
    );
  });

  it("CronJob: bad enum and unknown field inside the job template", () => {
    expect(broken("CronJob", (o) => (o.spec.concurrencyPolicy = "Never"))).toEqual([
      'CronJob hippo-repo1-full: spec.concurrencyPolicy: must be one of "Allow", "Forbid", "Replace" (got "Never")',
    ]);
    expect(broken("CronJob", (o) => (o.spec.jobTemplate.spec.backofLimit = 1))).toEqual([
      "CronJob hippo-repo1-full: spec.jobTemplate.spec.backofLimit: unknown field",
    ]);
    expect(broken("CronJob", (o) => (o.metadata.name = "a".repeat(53)))[0]).toContain(
      "metadata.name: must be no more than 52 characters",
    );
  });

  it("PodDisruptionBudget: minAvailable is int-or-string", () => {
    expect(broken("PodDisruptionBudget", (o) => (o.spec.minAvailable = { n: 1 }))).toEqual([
      "PodDisruptionBudget hippo-instance1: spec.minAvailable: must be integer or string (got object)",
    ]);
  });

  it("Role: rules need verbs", () => {
    expect(broken("Role", (o) => delete o.rules[0].verbs)).toEqual([
      "Role hippo-instance: rules[0].verbs: required field missing",
    ]);
  });

  it("RoleBinding: roleRef is required and subject kinds are an enum", () => {
    expect(broken("RoleBinding", (o) => delete o.roleRef)).toEqual([
      "RoleBinding hippo-instance: roleRef: required field missing",
    ]);
    expect(broken("RoleBinding", (o) => (o.subjects[0].kind = "Robot"))[0]).toContain(
      "subjects[0].kind: must be one of",
    );
  });

  it("ClusterRole and ClusterRoleBinding: wrong types", () => {
    expect(broken("ClusterRole", (o) => (o.rules[0].verbs = "get"))).toEqual([
      "ClusterRole tusk:functions: rules[0].verbs: must be array (got string)",
    ]);
    expect(broken("ClusterRoleBinding", (o) => (o.subjects = { kind: "User" }))).toEqual([
      "ClusterRoleBinding tusk:functions: subjects: must be array (got object)",
    ]);
  });

  it("ValidatingWebhookConfiguration: required sideEffects and enum operations", () => {
    expect(broken("ValidatingWebhookConfiguration", (o) => delete o.webhooks[0].sideEffects)).toEqual([
      "ValidatingWebhookConfiguration tusk-admission: webhooks[0].sideEffects: required field missing",
    ]);
    expect(
      broken("ValidatingWebhookConfiguration", (o) => (o.webhooks[0].rules[0].operations = ["PATCH"]))[0],
    ).toContain(
      'webhooks[0].rules[0].operations[0]: must be one of "CREATE", "UPDATE", "DELETE", "CONNECT", "*" (got "PATCH")',
    );
  });

  it("CustomResourceDefinition: name must be plural.group, scope is an enum", () => {
    expect(broken("CustomResourceDefinition", (o) => (o.metadata.name = "widget.example.com"))[0]).toContain(
      'metadata.name: must be spec.names.plural + "." + spec.group',
    );
    expect(broken("CustomResourceDefinition", (o) => (o.spec.scope = "Global"))).toEqual([
      'CustomResourceDefinition widgets.example.com: spec.scope: must be one of "Cluster", "Namespaced" (got "Global")',
    ]);
  });

  it("CompositeController: unknown field and enum from the official CRD", () => {
    expect(broken("CompositeController", (o) => (o.spec.hooks.sync.webhook.timout = "1s"))).toEqual([
      "CompositeController tusk-postgrescluster: spec.hooks.sync.webhook.timout: unknown field",
    ]);
    expect(broken("CompositeController", (o) => delete o.spec.parentResource.resource)).toEqual([
      "CompositeController tusk-postgrescluster: spec.parentResource.resource: required field missing",
    ]);
  });

  it("Knative Service: unknown container field and missing image", () => {
    expect(broken("KnativeService", (o) => (o.spec.template.spec.containers[0].imagePullPolicyy = "Always"))).toEqual([
      "Service tusk-sync: spec.template.spec.containers[0].imagePullPolicyy: unknown field",
    ]);
    expect(broken("KnativeService", (o) => (o.spec.template.spec.containerConcurrency = "10"))).toEqual([
      "Service tusk-sync: spec.template.spec.containerConcurrency: must be integer (got string)",
    ]);
  });

  it("PingSource: unknown sink fields and wrong types", () => {
    // The official CRD requires nothing under spec.sink.ref, so only shape errors are caught there.
    expect(broken("PingSource", (o) => (o.spec.sink.ref.nmae = "x"))).toEqual([
      "PingSource hippo-backup-schedule: spec.sink.ref.nmae: unknown field",
    ]);
    expect(broken("PingSource", (o) => (o.spec.timezone = 5))).toEqual([
      "PingSource hippo-backup-schedule: spec.timezone: must be string (got integer)",
    ]);
  });

  it("PodMonitor: scheme enum and unknown field", () => {
    expect(broken("PodMonitor", (o) => (o.spec.podMetricsEndpoints[0].scheme = "ftp"))[0]).toContain(
      "spec.podMetricsEndpoints[0].scheme: must be one of",
    );
    expect(broken("PodMonitor", (o) => (o.spec.podMetricsEndpoints[0].targetPortt = 9187))).toEqual([
      "PodMonitor hippo: spec.podMetricsEndpoints[0].targetPortt: unknown field",
    ]);
  });

  it("Certificate: private key algorithm enum and required issuerRef", () => {
    expect(broken("Certificate", (o) => (o.spec.privateKey.algorithm = "DSA"))).toEqual([
      'Certificate hippo-tls: spec.privateKey.algorithm: must be one of "RSA", "ECDSA", "Ed25519" (got "DSA")',
    ]);
    expect(broken("Certificate", (o) => delete o.spec.issuerRef)).toEqual([
      "Certificate hippo-tls: spec.issuerRef: required field missing",
    ]);
  });

  it("Issuer: wrong type, and the unvendored acme subtree is reported rather than passed", () => {
    expect(broken("Issuer", (o) => (o.spec.ca.secretName = 1))).toEqual([
      "Issuer tusk-ca: spec.ca.secretName: must be string (got integer)",
    ]);
    expect(broken("Issuer", (o) => (o.spec = { acme: { server: "https://acme" } }))[0]).toContain("spec.acme");
  });

  it("a selector that does not match the pod template labels", () => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: {
        selector: { matchLabels: { app: "y" }, matchExpressions: [{ key: "tier", operator: "Exists" }] },
        template: { metadata: { labels: { app: "y" } }, spec: pod },
      },
    };
    expect(validateObject(deployment)).toEqual([
      "Deployment d: spec.template.metadata.labels: `selector` does not match template `labels`",
    ]);
    deployment.spec.template.metadata.labels = { app: "y", tier: "db" } as never;
    expect(validateObject(deployment)).toEqual([]);
  });
});

describe("validatorWithCrds", () => {
  const crds = parseAllDocuments(readFileSync("manifests/crds/postgresclusters.postgres.tusk.dev.yaml", "utf8")).map(
    (d) => d.toJS(),
  );
  const validate = validatorWithCrds(crds);

  it("validates kinds defined by extra CRDs and still knows the built-in kinds", () => {
    const example = parseAllDocuments(readFileSync("manifests/examples/postgrescluster-minimal.yaml", "utf8"))
      .map((d) => d.toJS())
      .find((o) => o?.kind === "PostgresCluster");
    expect(validate(example)).toEqual([]);
    // Tusk's CRD marks spec x-kubernetes-preserve-unknown-fields, so use a type error here.
    expect(validate({ ...example, spec: { ...example.spec, postgresVersion: "16" } })).toEqual([
      `PostgresCluster ${example.metadata.name}: spec.postgresVersion: must be integer (got string)`,
    ]);
    expect(validate({ ...example, statuss: {} })).toEqual([
      `PostgresCluster ${example.metadata.name}: statuss: unknown field`,
    ]);
    expect(validate(valid.Job)).toEqual([]);
  });
});
