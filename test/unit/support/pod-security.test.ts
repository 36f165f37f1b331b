import { describe, expect, it } from "vitest";
import { validateObject } from "../../support/k8s-validate.ts";
import { assertPodSecurityRestricted, podSecurityRestrictedViolations } from "../../support/pod-security.ts";

const restrictedContainer = (name: string) => ({
  name,
  image: "postgres:15",
  securityContext: {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    readOnlyRootFilesystem: true,
  },
});

function pod(): any {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "hippo-0" },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 26, fsGroup: 26, seccompProfile: { type: "RuntimeDefault" } },
      initContainers: [restrictedContainer("init")],
      containers: [restrictedContainer("database")],
      volumes: [
        { name: "pgdata", persistentVolumeClaim: { claimName: "hippo-pgdata" } },
        { name: "tmp", emptyDir: {} },
        { name: "certs", projected: { sources: [{ secret: { name: "hippo-tls" } }] } },
      ],
    },
  };
}

const podSpec = (p: any) => p.spec;

describe("podSecurityRestrictedViolations", () => {
  it("accepts a compliant pod, and the pod is schema-valid too", () => {
    expect(validateObject(pod())).toEqual([]);
    expect(podSecurityRestrictedViolations(pod())).toEqual([]);
    expect(() => assertPodSecurityRestricted(pod())).not.toThrow();
  });

  it("reaches the pod template of workloads, with their field paths", () => {
    const template = { metadata: { labels: { a: "b" } }, spec: podSpec(pod()) };
    const sts = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "s" },
      spec: { selector: {}, template },
    };
    const deploy = { ...sts, kind: "Deployment" };
    const job = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "j" }, spec: { template } };
    const cron = {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "c" },
      spec: { schedule: "@daily", jobTemplate: { spec: { template } } },
    };
    for (const w of [sts, deploy, job, cron]) expect(podSecurityRestrictedViolations(w)).toEqual([]);
    expect(podSecurityRestrictedViolations(podSpec(pod()))).toEqual([]);

    template.spec.containers[0].securityContext.privileged = true;
    expect(podSecurityRestrictedViolations(sts)).toEqual([
      "spec.template.spec.containers[0].securityContext.privileged: must be false or unset (Privileged Containers)",
    ]);
    expect(podSecurityRestrictedViolations(cron)).toEqual([
      "spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged: must be false or unset (Privileged Containers)",
    ]);
  });

  it("refuses input without a pod spec instead of passing it", () => {
    expect(() => podSecurityRestrictedViolations({ kind: "ConfigMap" })).toThrow(/no pod spec/);
  });

  const cases: [string, (p: any) => void, string][] = [
    ["hostNetwork", (p) => (p.spec.hostNetwork = true), "spec.hostNetwork: must be false or unset (Host Namespaces)"],
    ["hostPID", (p) => (p.spec.hostPID = true), "spec.hostPID: must be false or unset (Host Namespaces)"],
    ["hostIPC", (p) => (p.spec.hostIPC = true), "spec.hostIPC: must be false or unset (Host Namespaces)"],
    [
      "privileged",
      (p) => (p.spec.containers[0].securityContext.privileged = true),
      "spec.containers[0].securityContext.privileged: must be false or unset (Privileged Containers)",
    ],
    [
      "privilege escalation allowed",
      (p) => (p.spec.containers[0].securityContext.allowPrivilegeEscalation = true),
      "spec.containers[0].securityContext.allowPrivilegeEscalation: must be false (Privilege Escalation)",
    ],
    [
      "privilege escalation unset on an init container",
      (p) => delete p.spec.initContainers[0].securityContext.allowPrivilegeEscalation,
      "spec.initContainers[0].securityContext.allowPrivilegeEscalation: must be false (Privilege Escalation)",
    ],
    [
      "runAsNonRoot false on a container",
      (p) => (p.spec.containers[0].securityContext.runAsNonRoot = false),
      "spec.containers[0].securityContext.runAsNonRoot: must be true (here or in the pod securityContext) (Running as Non-root)",
    ],
    [
      "runAsUser 0",
      (p) => (p.spec.containers[0].securityContext.runAsUser = 0),
      "spec.containers[0].securityContext.runAsUser: must not be 0 (Running as Non-root user)",
    ],
    [
      "pod runAsUser 0",
      (p) => (p.spec.securityContext.runAsUser = 0),
      "spec.securityContext.runAsUser: must not be 0 (Running as Non-root user)",
    ],
    [
      "seccomp Unconfined",
      (p) => (p.spec.containers[0].securityContext.seccompProfile = { type: "Unconfined" }),
      'spec.containers[0].securityContext.seccompProfile.type: must be RuntimeDefault or Localhost (got "Unconfined") (Seccomp)',
    ],
    [
      "capabilities not dropped",
      (p) => (p.spec.containers[0].securityContext.capabilities = { drop: ["NET_RAW"] }),
      'spec.containers[0].securityContext.capabilities.drop: must include "ALL" (Capabilities)',
    ],
    [
      "capability added",
      (p) => (p.spec.containers[0].securityContext.capabilities.add = ["NET_BIND_SERVICE", "SYS_ADMIN"]),
      'spec.containers[0].securityContext.capabilities.add[1]: only NET_BIND_SERVICE may be added (got "SYS_ADMIN") (Capabilities)',
    ],
    [
      "hostPath volume",
      (p) => p.spec.volumes.push({ name: "host", hostPath: { path: "/var/run" } }),
      "spec.volumes[3].hostPath: hostPath volumes are forbidden (HostPath Volumes)",
    ],
    [
      "nfs volume",
      (p) => p.spec.volumes.push({ name: "nfs", nfs: { server: "nfs", path: "/" } }),
      "spec.volumes[3].nfs: volume type nfs is not allowed (Volume Types)",
    ],
    [
      "host port",
      (p) => (p.spec.containers[0].ports = [{ containerPort: 5432, hostPort: 5432 }]),
      "spec.containers[0].ports[0].hostPort: must be 0 or unset (Host Ports)",
    ],
    [
      "procMount Unmasked",
      (p) => (p.spec.containers[0].securityContext.procMount = "Unmasked"),
      'spec.containers[0].securityContext.procMount: must be Default or unset (got "Unmasked") (/proc Mount Type)',
    ],
    [
      "unsafe sysctl",
      (p) => (p.spec.securityContext.sysctls = [{ name: "kernel.msgmax", value: "1" }]),
      'spec.securityContext.sysctls[0].name: "kernel.msgmax" is not a safe sysctl (Sysctls)',
    ],
    [
      "AppArmor Unconfined",
      (p) => (p.spec.containers[0].securityContext.appArmorProfile = { type: "Unconfined" }),
      'spec.containers[0].securityContext.appArmorProfile.type: must be RuntimeDefault or Localhost (got "Unconfined") (AppArmor)',
    ],
    [
      "AppArmor annotation",
      (p) => (p.metadata.annotations = { "container.apparmor.security.beta.kubernetes.io/database": "unconfined" }),
      'metadata.annotations["container.apparmor.security.beta.kubernetes.io/database"]: must be runtime/default or localhost/* (got "unconfined") (AppArmor)',
    ],
    [
      "SELinux type",
      (p) => (p.spec.securityContext.seLinuxOptions = { type: "spc_t" }),
      'spec.securityContext.seLinuxOptions.type: must be container_t, container_init_t, container_kvm_t or unset (got "spc_t") (SELinux)',
    ],
    [
      "SELinux user",
      (p) => (p.spec.containers[0].securityContext.seLinuxOptions = { user: "system_u" }),
      "spec.containers[0].securityContext.seLinuxOptions.user: must be unset (SELinux)",
    ],
    [
      "Windows HostProcess",
      (p) => (p.spec.securityContext.windowsOptions = { hostProcess: true }),
      "spec.securityContext.windowsOptions.hostProcess: must be false or unset (HostProcess)",
    ],
    [
      "probe host",
      (p) => (p.spec.containers[0].readinessProbe = { httpGet: { host: "10.0.0.1", port: 8008 } }),
      "spec.containers[0].readinessProbe.httpGet.host: must be unset (Host Probes / Lifecycle Hooks)",
    ],
  ];

  for (const [what, mutate, expected] of cases) {
    it(`catches ${what}`, () => {
      const p = pod();
      mutate(p);
      expect(podSecurityRestrictedViolations(p)).toEqual([expected]);
      expect(() => assertPodSecurityRestricted(p)).toThrow(expected.split(":")[0]!);
    });
  }

  it("requires runAsNonRoot and seccomp when neither the pod nor the container sets them", () => {
    const p = pod();
    p.spec.securityContext = {};
    expect(podSecurityRestrictedViolations(p)).toEqual([
      "spec.initContainers[0].securityContext.runAsNonRoot: must be true (here or in the pod securityContext) (Running as Non-root)",
      "spec.initContainers[0].securityContext.seccompProfile.type: must be RuntimeDefault or Localhost (here or in the pod securityContext) (Seccomp)",
      "spec.containers[0].securityContext.runAsNonRoot: must be true (here or in the pod securityContext) (Running as Non-root)",
      "spec.containers[0].securityContext.seccompProfile.type: must be RuntimeDefault or Localhost (here or in the pod securityContext) (Seccomp)",
    ]);
    // Setting them on every container instead of the pod is enough.
    for (const c of [...p.spec.initContainers, ...p.spec.containers]) {
      c.securityContext.runAsNonRoot = true;
      c.securityContext.seccompProfile = { type: "Localhost", localhostProfile: "profiles/pg.json" };
    }
    expect(podSecurityRestrictedViolations(p)).toEqual([]);
  });

  it("allows the safe sysctls, including those added in later releases", () => {
    const p = pod();
    p.spec.securityContext.sysctls = [
      "kernel.shm_rmid_forced",
      "net.ipv4.ip_unprivileged_port_start",
      "net.ipv4.ip_local_reserved_ports",
      "net.ipv4.tcp_keepalive_time",
      "net.ipv4.tcp_rmem",
    ].map((name) => ({ name, value: "1" }));
    expect(podSecurityRestrictedViolations(p)).toEqual([]);
  });
});
