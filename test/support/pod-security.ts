/**
 * @module
 * The Kubernetes Pod Security Standards "restricted" profile (which includes every "baseline"
 * control) as a test helper: `podSecurityRestrictedViolations(x)` lists what would make the Pod
 * Security admission controller reject `x` in a namespace labelled
 * `pod-security.kubernetes.io/enforce: restricted` (version latest). `x` may be a Pod, a
 * workload whose pod template it reaches (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
 * CronJob), a PodTemplateSpec or a bare PodSpec. Each message names the field and the control.
 *
 * Source: kubernetes/website content/.../concepts/security/pod-security-standards.md (the tables of
 * restricted fields and allowed values) and kubernetes/kubernetes
 * staging/src/k8s.io/pod-security-admission/policy/check_hostProbesAndhostLifecycle.go; commits and
 * the parts taken from knowledge are listed in test/k8s-schema/README.md.
 */

type Obj = Record<string, any>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

interface Located {
  spec: Obj;
  specPath: string;
  metadata: Obj | undefined;
  metadataPath: string;
}

const TEMPLATE_KINDS = new Set([
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "Job",
  "ReplicationController",
]);

function locate(x: unknown): Located | undefined {
  if (!isObj(x)) return undefined;
  if (x.kind === "Pod" && isObj(x.spec)) {
    return { spec: x.spec, specPath: "spec", metadata: x.metadata, metadataPath: "metadata" };
  }
  if (TEMPLATE_KINDS.has(x.kind) && isObj(x.spec?.template?.spec)) {
    const t = x.spec.template;
    return {
      spec: t.spec,
      specPath: "spec.template.spec",
      metadata: t.metadata,
      metadataPath: "spec.template.metadata",
    };
  }
  if (x.kind === "CronJob" && isObj(x.spec?.jobTemplate?.spec?.template?.spec)) {
    const t = x.spec.jobTemplate.spec.template;
    return {
      spec: t.spec,
      specPath: "spec.jobTemplate.spec.template.spec",
      metadata: t.metadata,
      metadataPath: "spec.jobTemplate.spec.template.metadata",
    };
  }
  if (x.kind === undefined && isObj(x.spec) && Array.isArray(x.spec.containers)) {
    return { spec: x.spec, specPath: "spec", metadata: x.metadata, metadataPath: "metadata" };
  }
  if (x.kind === undefined && Array.isArray(x.containers)) {
    return { spec: x, specPath: "", metadata: undefined, metadataPath: "metadata" };
  }
  return undefined;
}

const join = (a: string, b: string) => (a ? `${a}.${b}` : b);

/** Baseline "Capabilities" allows these; restricted narrows `add` to NET_BIND_SERVICE. */
const RESTRICTED_ADD = new Set(["NET_BIND_SERVICE"]);

/** Restricted "Volume Types": every volume must be one of these. */
const ALLOWED_VOLUME_SOURCES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

/**
 * Baseline "Sysctls": the five the standards page lists, plus the ones the profile admitted from
 * v1.27 (ip_local_reserved_ports), v1.29 (the tcp keepalive/fin settings) and v1.32 (tcp_rmem,
 * tcp_wmem): the kubelet's safe-sysctl list in the official docs (tasks/administer-cluster/
 * sysctl-cluster.md) with the Kubernetes version of each, which pod-security-admission mirrors as
 * sysctlsAllowedV1Dot27/29/32.
 */
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
]);

const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t"]);
const SECCOMP_OK = new Set(["RuntimeDefault", "Localhost"]);
const APPARMOR_OK = new Set(["RuntimeDefault", "Localhost"]);

/**
 * Violations of the restricted Pod Security Standard; empty when the pod would be admitted.
 * Throws when `x` holds no pod spec, so a typo in a test cannot pass silently.
 */
export function podSecurityRestrictedViolations(x: unknown): string[] {
  const found = locate(x);
  if (found === undefined) {
    throw new Error("podSecurityRestrictedViolations: no pod spec found (Pod, workload, PodTemplateSpec or PodSpec)");
  }
  const { spec, specPath, metadata, metadataPath } = found;
  const out: string[] = [];
  const v = (path: string, message: string, control: string) => out.push(`${path}: ${message} (${control})`);

  const podSc: Obj = isObj(spec.securityContext) ? spec.securityContext : {};
  const podScPath = join(specPath, "securityContext");

  // Host namespaces
  for (const f of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (spec[f] === true) v(join(specPath, f), "must be false or unset", "Host Namespaces");
  }
  // Pod-level security context
  if (podSc.windowsOptions?.hostProcess === true) {
    v(join(podScPath, "windowsOptions.hostProcess"), "must be false or unset", "HostProcess");
  }
  checkSeLinux(podSc.seLinuxOptions, join(podScPath, "seLinuxOptions"), v);
  if (podSc.runAsNonRoot === false) v(join(podScPath, "runAsNonRoot"), "must be true", "Running as Non-root");
  if (podSc.runAsUser === 0) v(join(podScPath, "runAsUser"), "must not be 0", "Running as Non-root user");
  const podSeccomp = podSc.seccompProfile?.type;
  if (podSeccomp !== undefined && !SECCOMP_OK.has(podSeccomp)) {
    v(
      join(podScPath, "seccompProfile.type"),
      `must be RuntimeDefault or Localhost (got ${JSON.stringify(podSeccomp)})`,
      "Seccomp",
    );
  }
  const podAppArmor = podSc.appArmorProfile?.type;
  if (podAppArmor !== undefined && !APPARMOR_OK.has(podAppArmor)) {
    v(
      join(podScPath, "appArmorProfile.type"),
      `must be RuntimeDefault or Localhost (got ${JSON.stringify(podAppArmor)})`,
      "AppArmor",
    );
  }
  (Array.isArray(podSc.sysctls) ? podSc.sysctls : []).forEach((s: Obj, i: number) => {
    if (!SAFE_SYSCTLS.has(s?.name))
      v(`${podScPath}.sysctls[${i}].name`, `${JSON.stringify(s?.name)} is not a safe sysctl`, "Sysctls");
  });

  // AppArmor annotations (still honoured for pods that set them)
  for (const [k, val] of Object.entries(isObj(metadata?.annotations) ? metadata.annotations : {})) {
    if (!k.startsWith("container.apparmor.security.beta.kubernetes.io/")) continue;
    const ok = val === "" || val === "runtime/default" || (typeof val === "string" && val.startsWith("localhost/"));
    if (!ok)
      v(
        `${metadataPath}.annotations[${JSON.stringify(k)}]`,
        `must be runtime/default or localhost/* (got ${JSON.stringify(val)})`,
        "AppArmor",
      );
  }

  // Volumes
  (Array.isArray(spec.volumes) ? spec.volumes : []).forEach((vol: Obj, i: number) => {
    const path = `${join(specPath, "volumes")}[${i}]`;
    for (const key of Object.keys(vol ?? {})) {
      if (key === "name" || vol[key] === null || vol[key] === undefined) continue;
      if (key === "hostPath") v(`${path}.hostPath`, "hostPath volumes are forbidden", "HostPath Volumes");
      else if (!ALLOWED_VOLUME_SOURCES.has(key))
        v(`${path}.${key}`, `volume type ${key} is not allowed`, "Volume Types");
    }
  });

  // Containers of every kind
  for (const list of ["initContainers", "containers", "ephemeralContainers"]) {
    (Array.isArray(spec[list]) ? spec[list] : []).forEach((c: Obj, i: number) => {
      const cPath = `${join(specPath, list)}[${i}]`;
      const sc: Obj = isObj(c?.securityContext) ? c.securityContext : {};
      const scPath = `${cPath}.securityContext`;
      if (sc.privileged === true) v(`${scPath}.privileged`, "must be false or unset", "Privileged Containers");
      if (sc.windowsOptions?.hostProcess === true)
        v(`${scPath}.windowsOptions.hostProcess`, "must be false or unset", "HostProcess");
      if (sc.procMount !== undefined && sc.procMount !== "Default") {
        v(`${scPath}.procMount`, `must be Default or unset (got ${JSON.stringify(sc.procMount)})`, "/proc Mount Type");
      }
      checkSeLinux(sc.seLinuxOptions, `${scPath}.seLinuxOptions`, v);
      const appArmor = sc.appArmorProfile?.type;
      if (appArmor !== undefined && !APPARMOR_OK.has(appArmor)) {
        v(
          `${scPath}.appArmorProfile.type`,
          `must be RuntimeDefault or Localhost (got ${JSON.stringify(appArmor)})`,
          "AppArmor",
        );
      }
      (Array.isArray(c?.ports) ? c.ports : []).forEach((p: Obj, j: number) => {
        if (p?.hostPort !== undefined && p.hostPort !== 0)
          v(`${cPath}.ports[${j}].hostPort`, "must be 0 or unset", "Host Ports");
      });
      for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
        checkHost(c?.[probe], `${cPath}.${probe}`, v);
      }
      checkHost(c?.lifecycle?.postStart, `${cPath}.lifecycle.postStart`, v);
      checkHost(c?.lifecycle?.preStop, `${cPath}.lifecycle.preStop`, v);

      // Restricted-only controls
      if (sc.allowPrivilegeEscalation !== false) {
        v(`${scPath}.allowPrivilegeEscalation`, "must be false", "Privilege Escalation");
      }
      const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
      if (nonRoot !== true) {
        v(`${scPath}.runAsNonRoot`, "must be true (here or in the pod securityContext)", "Running as Non-root");
      }
      if (sc.runAsUser === 0) v(`${scPath}.runAsUser`, "must not be 0", "Running as Non-root user");
      const seccomp = sc.seccompProfile?.type ?? podSeccomp;
      if (sc.seccompProfile?.type !== undefined && !SECCOMP_OK.has(sc.seccompProfile.type)) {
        v(
          `${scPath}.seccompProfile.type`,
          `must be RuntimeDefault or Localhost (got ${JSON.stringify(sc.seccompProfile.type)})`,
          "Seccomp",
        );
      } else if (seccomp === undefined) {
        v(
          `${scPath}.seccompProfile.type`,
          "must be RuntimeDefault or Localhost (here or in the pod securityContext)",
          "Seccomp",
        );
      }
      const caps: Obj = isObj(sc.capabilities) ? sc.capabilities : {};
      if (!(Array.isArray(caps.drop) && caps.drop.includes("ALL"))) {
        v(`${scPath}.capabilities.drop`, 'must include "ALL"', "Capabilities");
      }
      (Array.isArray(caps.add) ? caps.add : []).forEach((cap: unknown, j: number) => {
        if (typeof cap !== "string" || !RESTRICTED_ADD.has(cap)) {
          v(
            `${scPath}.capabilities.add[${j}]`,
            `only NET_BIND_SERVICE may be added (got ${JSON.stringify(cap)})`,
            "Capabilities",
          );
        }
      });
    });
  }
  return out;
}

type Report = (path: string, message: string, control: string) => void;

function checkSeLinux(opts: unknown, path: string, v: Report): void {
  if (!isObj(opts)) return;
  if (opts.type !== undefined && !SELINUX_TYPES.has(opts.type)) {
    v(
      `${path}.type`,
      `must be container_t, container_init_t, container_kvm_t or unset (got ${JSON.stringify(opts.type)})`,
      "SELinux",
    );
  }
  for (const f of ["user", "role"]) {
    if (opts[f] !== undefined && opts[f] !== "") v(`${path}.${f}`, "must be unset", "SELinux");
  }
}

function checkHost(handler: unknown, path: string, v: Report): void {
  if (!isObj(handler)) return;
  for (const action of ["httpGet", "tcpSocket"]) {
    const host = handler[action]?.host;
    if (host !== undefined && host !== "")
      v(`${path}.${action}.host`, "must be unset", "Host Probes / Lifecycle Hooks");
  }
}

/** Throws listing every violation; for tests. */
export function assertPodSecurityRestricted(x: unknown): void {
  const violations = podSecurityRestrictedViolations(x);
  if (violations.length > 0) throw new Error(`violates Pod Security "restricted":\n  ${violations.join("\n  ")}`);
}
