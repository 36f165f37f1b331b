/**
 * @module
 * Runs what the cluster hook returns, the way Kubernetes would, on 127.0.0.1: each
 * StatefulSet's pod becomes a directory plus its containers' processes (run as the postgres
 * OS user), each Job runs its containers to completion, Services resolve to the pods their
 * selectors pick. Pod labels and readiness come from reality (Patroni's keys in etcd and the
 * containers' own readiness probes) and are fed back to the hook as related Pods.
 */
import { createHash, randomUUID } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import type { V1Container, V1PodSpec, V1Probe } from "@kubernetes/client-node";
import YAML from "yaml";
import { LABEL } from "../../../shared/labels.ts";
import {
  asStored,
  matches,
  type Obj,
  type ObjectSource,
  type PodFacts,
  resolveArgv,
  resolveEnv,
  volumeFiles,
} from "../../pods/spec.ts";
import type { Etcd } from "./etcd.ts";
import { status as httpStatus, tcpOpen } from "./http.ts";
import { type Change, inProcessHooks, Metacontroller } from "./metacontroller.ts";
import type { Conn } from "./pg.ts";
import { addNames, inPod, type Mount, serviceNames } from "./podns.ts";
import {
  DEFAULT_POD_PORTS,
  hostPort,
  isPgBackRestConf,
  isPgBouncerIni,
  mapEnv,
  mapPatroniConfig,
  mapPgBackRestConf,
  mapPgBouncerIni,
  type PodPlace,
  parseServiceHost,
} from "./podworld.ts";
import {
  alive,
  asPostgres,
  type Daemon,
  forgetDaemon,
  freePort,
  LOGS,
  mkdirPg,
  postgresIds,
  postmasterPid,
  RUN,
  type RunResult,
  run,
  startDaemon,
  stopPid,
  tail,
} from "./proc.ts";
import { ServiceProxy } from "./serviceproxy.ts";
import { Fatal, sleep, waitFor } from "./wait.ts";

const PATH = "/usr/lib/postgresql/15/bin:/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin";
const SA_VOLUME = "kube-api-access";
const SA_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface PodRuntime {
  name: string;
  sts: string;
  uid: string;
  template: Obj;
  templateHash: string;
  place: PodPlace;
  daemons: Map<string, Daemon>;
  env: Map<string, Record<string, string>>;
  argv: Map<string, string[]>;
  patroni?: { container: string; config: Record<string, any>; raw: Record<string, any>; file: string };
  dataDir?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ready: boolean;
  restarts: number;
  started: boolean;
  /** Being stopped: the Kubelet stand-in must not restart its containers. */
  stopping?: boolean;
  /** The controller of a Deployment's pod (its ReplicaSet); a StatefulSet's pod has none here. */
  owner?: { kind: string; name: string };
}

export interface JobRuntime {
  name: string;
  attempts: number;
  state: "running" | "succeeded" | "failed";
  startTime: string;
  completionTime?: string;
  log: string;
  done: Promise<void>;
  output: string;
  /** One Pod object per attempt, as the API server would show it (termination message included). */
  pods: Obj[];
}

export interface ClusterOptions {
  name: string;
  namespace?: string;
  spec: Obj;
  etcd: Etcd;
  log?: (m: string) => void;
  /** Secrets/ConfigMaps the user applies beside the cluster (kubectl apply), stored as the API server would. */
  objects?: Obj[];
}

function hash(text: string, n = 10): string {
  return createHash("sha256").update(text).digest("hex").slice(0, n);
}

function which(program: string): string | undefined {
  if (program.includes("/")) return existsSync(program) ? program : undefined;
  for (const dir of PATH.split(":")) if (existsSync(join(dir, program))) return join(dir, program);
  return undefined;
}

export class E2ECluster {
  readonly name: string;
  readonly namespace: string;
  readonly mc: Metacontroller;
  readonly etcd: Etcd;
  readonly root: string;
  readonly pods = new Map<string, PodRuntime>();
  readonly jobs = new Map<string, JobRuntime>();
  /** Things the suite noticed about the hook's output that are not fatal by themselves. */
  readonly findings: string[] = [];
  readonly log: (m: string) => void;

  constructor(opts: ClusterOptions) {
    this.name = opts.name;
    this.namespace = opts.namespace ?? "e2e";
    this.etcd = opts.etcd;
    this.log = opts.log ?? ((m) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${this.name}: ${m}`));
    for (const o of opts.objects ?? []) this.userObjects.push(asStored(o));
    E2ECluster.all.push(this);
    this.root = join(RUN, this.name);
    mkdirSync(this.root, { recursive: true, mode: 0o755 });
    chmodSync(RUN, 0o755);
    this.mc = new Metacontroller(inProcessHooks(), {
      apiVersion: "postgres.tusk.dev/v1",
      kind: "PostgresCluster",
      metadata: { name: this.name, namespace: this.namespace },
      spec: opts.spec,
    });
  }

  finding(m: string): void {
    if (!this.findings.includes(m)) {
      this.findings.push(m);
      this.log(`FINDING: ${m}`);
    }
  }

  // ------------------------------------------------------------------ objects

  /** Objects the user created beside the cluster (e.g. the Secret a repo's `configuration` names). */
  readonly userObjects: Obj[] = [];

  private userObject(kind: string, name: string): Obj | undefined {
    return this.userObjects.find((o) => o.kind === kind && o.metadata?.name === name);
  }

  /** Every cluster of the run: a namespace holds their children and user objects together. */
  static readonly all: E2ECluster[] = [];

  private find(kind: string, name: string): Obj | undefined {
    for (const c of [this, ...E2ECluster.all.filter((x) => x !== this && x.namespace === this.namespace)]) {
      const o = c.mc.child(kind, name) ?? c.userObject(kind, name);
      if (o) return o;
    }
    return undefined;
  }

  readonly source: ObjectSource = {
    secret: (name) => this.find("Secret", name),
    configMap: (name) => this.find("ConfigMap", name),
  };

  secret(name: string): Obj | undefined {
    return this.source.secret(name);
  }

  // ------------------------------------------------------------------ reconcile

  /** One Metacontroller round: refresh pods, sync, apply what changed. */
  async reconcile(): Promise<Change[]> {
    await this.refreshPods();
    const changes = await this.mc.sync(this.candidates(), (o) => this.statusOf(o));
    for (const c of changes)
      if (c.kind !== "updated" || c.key.startsWith("Job.")) this.log(`${c.kind} ${c.key} ${c.name}`);
    await this.apply(changes);
    return changes;
  }

  /**
   * Keeps reconciling (as Metacontroller does on every watch event and resync) until `done`
   * holds. Each round waits a little so the processes can move.
   */
  async converge<T>(
    what: string,
    done: () => T | Promise<T>,
    timeoutMs = 180_000,
  ): Promise<Exclude<T, undefined | false | null>> {
    return waitFor(
      what,
      async () => {
        this.assertNoCrash();
        await this.reconcile();
        return await done();
      },
      { timeoutMs, intervalMs: 1000, describe: () => this.describe() },
    );
  }

  /** Host ports and directories of every StatefulSet's pod, known before any pod starts. */
  readonly places = new Map<string, PodPlace>();
  /** PersistentVolumeClaims that exist: created from StatefulSet claim templates, kept forever. */
  readonly claims = new Set<string>();
  private readonly claimObjects = new Map<string, Obj>();

  private async preparePlaces(): Promise<void> {
    for (const svc of this.mc.children("Service")) addNames(serviceNames(svc.metadata.name, this.namespace));
    // only a Deployment's pod (pgBouncer) holds Service connections open; nothing else needs them
    if (this.mc.children("Deployment").length)
      for (const svc of this.mc.children("Service"))
        for (const sp of (svc.spec?.ports ?? []) as Obj[]) await this.serviceProxy(svc.metadata.name, sp.port);
    for (const sts of this.mc.children("StatefulSet")) {
      const pod = this.podNameOf(sts);
      const spec = sts.spec?.template?.spec as V1PodSpec | undefined;
      if (!spec) continue;
      if (!this.places.has(pod)) this.places.set(pod, await this.placeFor(pod, spec, join(this.root, pod)));
      const svcName = sts.spec.serviceName as string | undefined;
      if (svcName) {
        // a pod gets `<pod>.<service>` only when that headless Service selects it
        const svc = this.mc.child("Service", svcName);
        const labels = sts.spec.template.metadata?.labels ?? {};
        if (svc?.spec?.clusterIP === "None" && matches(svc.spec.selector, labels))
          addNames(serviceNames(`${pod}.${svcName}`, this.namespace));
        else
          this.finding(
            `StatefulSet ${sts.metadata.name}: its pod is not selected by its headless Service ${svcName} (selector ${JSON.stringify(svc?.spec?.selector)}), so ${pod}.${svcName}.${this.namespace}.svc has no DNS record`,
          );
      }
    }
  }

  /** The pod a pod DNS name (`<pod>.<headless service>...`) or Service name points to. */
  placeOfHost(host: string): PodPlace | undefined {
    const parsed = parseServiceHost(host, this.namespace);
    if (parsed.pod) return this.places.get(parsed.pod);
    if (parsed.service) {
      const svc = this.mc.child("Service", parsed.service);
      const [pod] = svc ? this.endpoints(svc) : [];
      return pod?.place;
    }
    return undefined;
  }

  async apply(changes: Change[]): Promise<void> {
    await this.preparePlaces();
    for (const c of changes) {
      const kind = c.key.split(".")[0];
      if (kind === "StatefulSet") {
        if (c.kind === "deleted") await this.stopPod(this.podNameOf(c.object), "statefulset deleted");
        else await this.applyStatefulSet(c.object, c.previous);
      } else if (kind === "Deployment") {
        const current = this.deploymentPods.get(c.name);
        if (c.kind === "deleted") {
          if (current) await this.stopPod(current, "deployment deleted");
        } else await this.applyDeployment(c.object);
      } else if (kind === "Job") {
        if (c.kind === "created") this.startJob(c.object);
        else if (c.kind === "updated")
          this.finding(
            `Job ${c.name}: spec changed after creation (Jobs are immutable; the API server refuses this update)`,
          );
      } else if ((kind === "ConfigMap" || kind === "Secret") && c.kind === "updated") {
        // the Kubelet updates mounted (non-subPath) files; the processes decide what to re-read
        for (const pod of this.pods.values())
          if (pod.started) {
            this.writeConfigVolumes(pod, true);
            if (pod.patroni) this.writePatroniConfig(pod);
          }
      }
    }
  }

  private podNameOf(sts: Obj): string {
    return `${sts.metadata.name}-0`;
  }

  private async applyStatefulSet(sts: Obj, previous?: Obj): Promise<void> {
    const name = this.podNameOf(sts);
    const replicas = sts.spec?.replicas ?? 1;
    if (replicas > 1)
      this.finding(`StatefulSet ${sts.metadata.name}: replicas ${replicas}, the suite runs only ordinal 0`);
    const pod = this.pods.get(name);
    if (replicas < 1) {
      if (pod?.started) await this.stopPod(name, "scaled to 0");
      return;
    }
    const tmpl = JSON.stringify(sts.spec.template);
    if (pod?.started && previous && JSON.stringify(previous.spec?.template) !== tmpl) {
      const strategy = sts.spec.updateStrategy?.type ?? "RollingUpdate";
      if (strategy === "RollingUpdate") {
        this.log(`pod ${name}: template changed, recreating it (RollingUpdate)`);
        await this.stopPod(name, "template changed");
        await this.startPod(sts);
      } else this.finding(`StatefulSet ${sts.metadata.name}: template changed with OnDelete; pod not replaced`);
      return;
    }
    if (!pod?.started) await this.startPod(sts);
  }

  /** The pod a Deployment currently runs (its newest ReplicaSet's). */
  readonly deploymentPods = new Map<string, string>();

  /**
   * One pod from the template whatever `replicas` says (>= 1), named like a ReplicaSet's pod. A
   * template change starts the new pod before the old one goes (RollingUpdate with surge; the
   * old one goes without waiting for the new one to be Ready), or after it for Recreate.
   */
  private async applyDeployment(dep: Obj): Promise<void> {
    const name = dep.metadata.name as string;
    const replicas = dep.spec?.replicas ?? 1;
    if (replicas > 1) this.finding(`Deployment ${name}: replicas ${replicas}, the suite runs one pod`);
    const old = this.pods.get(this.deploymentPods.get(name) ?? "");
    if (replicas < 1) {
      if (old?.started) await this.stopPod(old.name, "scaled to 0");
      return;
    }
    const templateHash = hash(JSON.stringify(dep.spec.template));
    if (old?.started && old.templateHash === templateHash) return;
    const recreate = dep.spec.strategy?.type === "Recreate";
    if (recreate && old?.started) await this.stopPod(old.name, "template changed (Recreate)");
    const podName = `${name}-${templateHash}-${hash(randomUUID(), 5)}`;
    this.deploymentPods.set(name, podName);
    await this.startPod(dep, {
      name: podName,
      labels: { "pod-template-hash": templateHash },
      owner: { kind: "ReplicaSet", name: `${name}-${templateHash}` },
    });
    if (!recreate && old?.started) await this.stopPod(old.name, "template changed (RollingUpdate)");
  }

  /** Stand-ins for Services' cluster IP:port, keyed `<service>:<port>` (serviceproxy.ts). */
  private readonly serviceProxies = new Map<string, ServiceProxy>();

  private async serviceProxy(service: string, port: number): Promise<ServiceProxy> {
    const key = `${service}:${port}`;
    let p = this.serviceProxies.get(key);
    if (!p) {
      p = await ServiceProxy.listen(await freePort(), () => this.resolve(service, port)?.port);
      this.serviceProxies.set(key, p);
    }
    return p;
  }

  /** The cluster-IP stand-in's port of `<service name>:<port>` (undefined for a name that is no Service). */
  servicePort(host: string, port: number): number | undefined {
    const svc = parseServiceHost(host, this.namespace);
    if (!svc.service || svc.pod) return undefined;
    return this.serviceProxies.get(`${svc.service}:${port}`)?.port;
  }

  // ------------------------------------------------------------------ pods

  private async placeFor(name: string, spec: V1PodSpec, root: string): Promise<PodPlace> {
    const ports = new Map<number, number>();
    const wanted = new Set<number>(DEFAULT_POD_PORTS);
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])])
      for (const p of c.ports ?? []) wanted.add(p.containerPort);
    for (const p of wanted) ports.set(p, await freePort());
    return { pod: name, root, ports };
  }

  facts(
    pod: { name: string; uid: string; labels: Record<string, string>; annotations: Record<string, string> },
    sa?: string,
  ): PodFacts {
    return {
      name: pod.name,
      namespace: this.namespace,
      podIP: "127.0.0.1",
      uid: pod.uid,
      labels: pod.labels,
      annotations: pod.annotations,
      serviceAccountName: sa,
    };
  }

  private async startPod(
    sts: Obj,
    as?: { name: string; labels: Record<string, string>; owner: { kind: string; name: string } },
  ): Promise<PodRuntime> {
    const name = as?.name ?? this.podNameOf(sts);
    const template = sts.spec.template as Obj;
    const spec = template.spec as V1PodSpec;
    const existing = this.pods.get(name);
    const root = join(this.root, name);
    const place = existing?.place ?? this.places.get(name) ?? (await this.placeFor(name, spec, root));
    this.places.set(name, place);
    // a recreated pod keeps its host ports only for ports it still declares
    for (const c of spec.containers ?? [])
      for (const p of c.ports ?? [])
        if (!place.ports.has(p.containerPort)) place.ports.set(p.containerPort, await freePort());
    const tmplJson = JSON.stringify(template);
    const pod: PodRuntime = {
      name,
      sts: sts.metadata.name,
      uid: randomUUID(),
      template,
      templateHash: hash(tmplJson),
      place,
      daemons: new Map(),
      env: new Map(),
      argv: new Map(),
      labels: {
        ...(template.metadata?.labels ?? {}),
        ...(as?.labels ?? {
          "controller-revision-hash": `${sts.metadata.name}-${hash(tmplJson)}`,
          "statefulset.kubernetes.io/pod-name": name,
        }),
      },
      annotations: { ...(template.metadata?.annotations ?? {}) },
      ready: false,
      restarts: 0,
      started: false,
      owner: as?.owner,
    };
    this.pods.set(name, pod);
    mkdirSync(root, { recursive: true });
    this.materializeVolumes(pod, as ? undefined : sts);
    this.checkPodSecurity(pod);
    for (const c of spec.initContainers ?? []) {
      const r = await this.runContainerToCompletion(pod, c, `${name}-init-${c.name}`);
      if (r.code !== 0)
        throw new Error(
          `pod ${name}: init container ${c.name} exited ${r.code}\n${tail(join(LOGS, `${name}-init-${c.name}.log`))}`,
        );
    }
    for (const c of spec.containers ?? []) this.startContainer(pod, c);
    pod.started = true;
    return pod;
  }

  /** Volumes live under <pod>/.volumes/<name>; containers see them at their mount paths (podns.ts). */
  private materializeVolumes(pod: PodRuntime, sts?: Obj): void {
    const spec = pod.template.spec as V1PodSpec;
    const vroot = join(pod.place.root, ".volumes");
    mkdirSync(vroot, { recursive: true });
    chmodSync(vroot, 0o755);
    // A PVC outlives its pod and is found by claim name (a Job may mount the repo host's claim);
    // a StatefulSet's claim is `<template>-<pod>`.
    mkdirSync(join(this.root, "pvc"), { recursive: true, mode: 0o755 });
    const claim = (volume: string, claimName: string) => {
      if (!this.claims.has(claimName) && !this.mc.child("PersistentVolumeClaim", claimName))
        throw new Error(
          `PersistentVolumeClaim ${claimName} does not exist (no StatefulSet claim template or PVC child creates it; the pod would stay Pending). Claims: ${[...this.claims].join(", ")}`,
        );
      const dir = join(this.root, "pvc", claimName);
      if (!existsSync(dir)) mkdirPg(dir, 0o750);
      const at = join(vroot, volume);
      rmSync(at, { recursive: true, force: true });
      symlinkSync(dir, at);
    };
    const claims = new Set<string>((sts?.spec?.volumeClaimTemplates ?? []).map((t: Obj) => t.metadata.name));
    for (const name of claims) {
      const claimName = `${name}-${pod.name}`;
      if (!this.claims.has(claimName)) {
        // the StatefulSet controller: the template's labels plus the StatefulSet's selector
        const t = (sts!.spec.volumeClaimTemplates as Obj[]).find((x) => x.metadata.name === name)!;
        this.claimObjects.set(claimName, {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: {
            name: claimName,
            namespace: this.namespace,
            uid: randomUUID(),
            labels: { ...(t.metadata?.labels ?? {}), ...(sts!.spec.selector?.matchLabels ?? {}) },
          },
          spec: { ...t.spec, volumeName: `pv-${claimName}` },
          status: { phase: "Bound", capacity: t.spec?.resources?.requests ?? {}, accessModes: t.spec?.accessModes },
        });
      }
      this.claims.add(claimName);
      claim(name, claimName);
    }
    for (const v of spec.volumes ?? []) {
      const dir = join(vroot, v.name);
      if (v.persistentVolumeClaim) {
        claim(v.name, v.persistentVolumeClaim.claimName);
      } else if (claims.has(v.name)) {
        // a template claim takes precedence over a pod volume of the same name
      } else if (v.emptyDir) {
        rmSync(dir, { recursive: true, force: true });
        mkdirPg(dir, 0o1777);
        chmodSync(dir, 0o1777);
      }
    }
    this.writeConfigVolumes(pod, false);
    this.writeServiceAccountVolume(pod);
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])])
      for (const m of c.volumeMounts ?? [])
        if (!existsSync(join(vroot, m.name))) throw new Error(`pod ${pod.name}: volumeMount ${m.name} names no volume`);
  }

  /** The container's volumeMounts as bind mounts of the pod's volume directories. */
  mountsOf(pod: { place: PodPlace; template?: Obj }, c: V1Container): Mount[] {
    const vroot = join(pod.place.root, ".volumes");
    const mounts: Mount[] = (c.volumeMounts ?? []).map((m) => ({
      path: m.mountPath.replace(/\/$/, "") || "/",
      source: realpathSync(join(vroot, m.name, m.subPath ?? "")),
      readOnly: m.readOnly === true,
    }));
    const sa = join(vroot, SA_VOLUME);
    if (existsSync(sa) && !mounts.some((m) => m.path === SA_PATH))
      mounts.push({ path: SA_PATH, source: sa, readOnly: true });
    return mounts;
  }

  /** The Kubernetes API stand-in's CA; when set, pods that automount a token get one. */
  kubeApiCa: string | undefined;

  /** The Kubelet's projected service account volume (token, ca.crt, namespace). */
  private writeServiceAccountVolume(pod: PodRuntime): void {
    const spec = pod.template.spec as V1PodSpec;
    const dir = join(pod.place.root, ".volumes", SA_VOLUME);
    if (spec.automountServiceAccountToken === false || !this.kubeApiCa) return;
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const files: Record<string, string> = {
      token: `e2e-token-${spec.serviceAccountName ?? "default"}`,
      "ca.crt": this.kubeApiCa,
      namespace: this.namespace,
    };
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(join(dir, name), content);
      chownSync(join(dir, name), 0, postgresIds().gid);
      chmodSync(join(dir, name), 0o644);
    }
  }

  /** Labels Patroni's Kubernetes DCS objects carry (kubernetes.labels + scope label), for the API stand-in. */
  dcsLabels(): Record<string, string> | undefined {
    const p = [...this.pods.values()].find((x) => x.patroni);
    const k = p?.patroni?.raw.kubernetes;
    const scope = this.scope();
    if (!k || !scope) return undefined;
    return { ...(k.labels ?? {}), [k.scope_label ?? "cluster-name"]: scope };
  }

  /** Where a pod-world path of a pod lives on this machine (through its volume mounts). */
  hostPath(pod: PodRuntime, podPath: string): string {
    const spec = pod.template.spec as V1PodSpec;
    const mounts = [...(spec.initContainers ?? []), ...(spec.containers ?? [])].flatMap((c) => this.mountsOf(pod, c));
    const m = mounts
      .filter((x) => podPath === x.path || podPath.startsWith(`${x.path}/`))
      .sort((a, b) => b.path.length - a.path.length)[0];
    if (!m) throw new Error(`pod ${pod.name}: ${podPath} is on no volume`);
    return join(m.source, podPath.slice(m.path.length));
  }

  private inPod(pod: { place: PodPlace; template: Obj }, c: V1Container, argv: string[]): string[] {
    return inPod(argv, this.mountsOf(pod, c), c.securityContext?.readOnlyRootFilesystem === true, c.workingDir);
  }

  /** Secret/ConfigMap/projected volumes, as the Kubelet writes them (mode, fsGroup). */
  private writeConfigVolumes(pod: PodRuntime, refresh: boolean): void {
    const spec = pod.template.spec as V1PodSpec;
    const vroot = join(pod.place.root, ".volumes");
    const fsGroup = spec.securityContext?.fsGroup;
    const { gid } = postgresIds();
    for (const v of spec.volumes ?? []) {
      const files = volumeFiles(v, this.source, this.facts(pod, spec.serviceAccountName));
      if (!files) continue;
      const dir = join(vroot, v.name);
      if (refresh && !existsSync(dir)) continue;
      // emptied, never replaced: running containers have this very directory bind-mounted
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      for (const e of readdirSync(dir)) rmSync(join(dir, e), { recursive: true, force: true });
      chmodSync(dir, 0o755);
      for (const f of files) {
        const at = join(dir, f.path);
        mkdirSync(dirname(at), { recursive: true, mode: 0o755 });
        let content = f.content;
        const text = content.toString("utf8");
        // pgBackRest's port options name pod-world ports; everything else is byte for byte
        if (!content.includes(0) && !text.includes("-----BEGIN") && isPgBackRestConf(text))
          content = Buffer.from(mapPgBackRestConf(text, pod.place, (h) => this.placeOfHost(h)));
        else if (!content.includes(0) && isPgBouncerIni(text))
          content = Buffer.from(mapPgBouncerIni(text, pod.place, (h, port) => this.servicePort(h, port)));
        writeFileSync(at, content);
        // Kubelet: files owned by root; with fsGroup the group is fsGroup and group-read is added
        chownSync(at, 0, fsGroup !== undefined ? gid : 0);
        chmodSync(at, fsGroup !== undefined ? (f.mode | 0o440) & 0o7777 : f.mode);
        // the hook's bytes, kept beside the volume for the Patroni mapping and for debugging
        const gen = join(pod.place.root, ".generated", v.name, f.path);
        mkdirSync(dirname(gen), { recursive: true });
        writeFileSync(gen, f.content, { mode: 0o600 });
      }
    }
  }

  private checkPodSecurity(pod: PodRuntime): void {
    const spec = pod.template.spec as V1PodSpec;
    for (const c of spec.containers ?? []) {
      const sc = c.securityContext ?? {};
      const psc = spec.securityContext ?? {};
      if (!(sc.runAsNonRoot ?? psc.runAsNonRoot))
        this.finding(`pod ${pod.sts}: container ${c.name} lacks runAsNonRoot`);
      if (sc.allowPrivilegeEscalation !== false)
        this.finding(`pod ${pod.sts}: container ${c.name} lacks allowPrivilegeEscalation: false`);
    }
  }

  private podEnv(pod: PodRuntime, c: V1Container): Record<string, string> {
    const env = resolveEnv(c, this.facts(pod, (pod.template.spec as V1PodSpec).serviceAccountName), this.source);
    return env;
  }

  private startContainer(pod: PodRuntime, c: V1Container): void {
    const rawEnv = this.podEnv(pod, c);
    let argv = resolveArgv(c, rawEnv);
    if (!argv.length) {
      this.finding(`pod ${pod.sts}: container ${c.name} has no command (image entrypoint unknown here); not run`);
      return;
    }
    const program = which(argv[0]!);
    if (!program) {
      this.finding(`pod ${pod.sts}: container ${c.name} runs ${argv[0]}, which this machine does not have; not run`);
      return;
    }
    const env = mapEnv(rawEnv, pod.place);
    if (basename(program) === "patroni") {
      argv = [program, ...argv.slice(1)];
      this.preparePatroni(pod, c, argv, rawEnv);
    }
    pod.env.set(c.name, env);
    pod.argv.set(c.name, argv);
    const d = startDaemon(`${this.name}.${pod.name}.${c.name}`, this.inPod(pod, c, asPostgres(env, argv)), {
      cwd: "/",
    });
    pod.daemons.set(c.name, d);
    this.log(`pod ${pod.name}: started ${c.name} (pid ${d.pid}): ${argv.join(" ")}`);
  }

  /** Writes the mapped Patroni configuration over the file the ConfigMap put there. */
  private preparePatroni(pod: PodRuntime, c: V1Container, argv: string[], rawEnv: Record<string, string>): void {
    const file = argv.slice(1).find((a) => a.startsWith("/"));
    if (!file) throw new Error(`pod ${pod.name}: patroni started without a configuration file: ${argv.join(" ")}`);
    const real = realpathSync(this.hostPath(pod, file));
    const raw = YAML.parse(readFileSync(real.replace("/.volumes/", "/.generated/"), "utf8")) as Record<string, any>;
    this.checkKubernetesDcs(pod, raw, rawEnv);
    pod.patroni = { container: c.name, config: {}, raw, file: real };
    const config = this.writePatroniConfig(pod);
    const dataDir = rawEnv.PATRONI_POSTGRESQL_DATA_DIR ?? config.postgresql?.data_dir;
    pod.dataDir = dataDir ? this.hostPath(pod, dataDir) : undefined;
  }

  /** The file the ConfigMap put there, with the mapping applied (podworld.ts). */
  private writePatroniConfig(pod: PodRuntime): Record<string, any> {
    const p = pod.patroni!;
    p.raw = YAML.parse(readFileSync(p.file.replace("/.volumes/", "/.generated/"), "utf8")) as Record<string, any>;
    p.config = mapPatroniConfig(p.raw, { etcd: this.etcd.endpoint, place: pod.place });
    writeFileSync(p.file, YAML.stringify(p.config));
    chownSync(p.file, 0, postgresIds().gid);
    chmodSync(p.file, 0o640);
    return p.config;
  }

  /**
   * The etcd swap must not hide what the Kubernetes DCS needs: Patroni finds its members by
   * label selector in its namespace, so the pod template must carry those labels.
   */
  private checkKubernetesDcs(pod: PodRuntime, raw: Record<string, any>, env: Record<string, string>): void {
    const k = raw.kubernetes;
    if (!k && !env.PATRONI_KUBERNETES_NAMESPACE) {
      this.finding(`patroni.yaml of ${pod.sts} has no kubernetes: section (the contract says Kubernetes DCS)`);
      return;
    }
    const ns = env.PATRONI_KUBERNETES_NAMESPACE ?? k?.namespace ?? "default";
    if (ns !== this.namespace)
      throw new Error(`Patroni of ${pod.sts} would use namespace ${ns}, the pod lives in ${this.namespace}`);
    const scope = env.PATRONI_SCOPE ?? raw.scope;
    if (!scope) throw new Error(`Patroni of ${pod.sts}: no scope`);
    let labels: Record<string, string> = k?.labels ?? {};
    if (env.PATRONI_KUBERNETES_LABELS) labels = YAML.parse(env.PATRONI_KUBERNETES_LABELS);
    const scopeLabel = env.PATRONI_KUBERNETES_SCOPE_LABEL ?? k?.scope_label ?? "cluster-name";
    const want = { ...labels, [scopeLabel]: scope };
    const have = pod.template.metadata?.labels ?? {};
    for (const [key, v] of Object.entries(want))
      if (have[key] !== v)
        throw new Error(
          `pod template of ${pod.sts} lacks label ${key}=${v}: Patroni's Kubernetes DCS lists members with that selector and would never see this pod`,
        );
    const useEndpoints = env.PATRONI_KUBERNETES_USE_ENDPOINTS ?? k?.use_endpoints;
    if (useEndpoints === true || useEndpoints === "true") {
      if (!env.PATRONI_KUBERNETES_POD_IP && !k?.pod_ip)
        throw new Error(`Patroni of ${pod.sts}: use_endpoints needs pod_ip`);
      const svc = this.mc.child("Service", scope);
      if (!svc) this.finding(`use_endpoints is on but no Service named ${scope} exists (Patroni's leader Endpoints)`);
      else if (svc.spec?.selector)
        throw new Error(`Service ${scope} has a selector; Patroni's Endpoints would be overwritten`);
    }
  }

  /** Runs one container to completion (init containers, Job containers). */
  private async runContainerToCompletion(
    pod: {
      name: string;
      uid: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
      place: PodPlace;
      template: Obj;
    },
    c: V1Container,
    logName: string,
    timeoutMs = 300_000,
  ): Promise<{ code: number; message?: string }> {
    const rawEnv = resolveEnv(c, this.facts(pod, (pod.template.spec as V1PodSpec).serviceAccountName), this.source);
    const env = this.rewriteConnections(mapEnv(rawEnv, pod.place), pod.place);
    const argv = this.rewriteConnectionArgs(resolveArgv(c, rawEnv));
    if (!argv.length || !which(argv[0]!)) {
      this.finding(`pod ${pod.name}: container ${c.name} runs ${argv[0] ?? "(no command)"}, not available here`);
      return { code: 127 };
    }
    // the Kubelet mounts a file at terminationMessagePath and reads at most 4096 bytes back
    const termination = join(pod.place.root, ".termination", c.name);
    mkdirSync(dirname(termination), { recursive: true });
    writeFileSync(termination, "");
    chownSync(termination, postgresIds().uid, postgresIds().gid);
    const extra = [{ path: c.terminationMessagePath ?? "/dev/termination-log", source: termination }];
    const wrapped = inPod(
      asPostgres(env, argv),
      [...this.mountsOf(pod, c), ...extra],
      c.securityContext?.readOnlyRootFilesystem === true,
      c.workingDir,
    );
    const r = await run(wrapped, { timeoutMs, cwd: "/" });
    writeFileSync(join(LOGS, `${logName}.log`), `$ ${argv.join(" ")}\n${r.stdout}\n${r.stderr}\nexit ${r.code}\n`, {
      flag: "a",
    });
    let message = readFileSync(termination).subarray(0, 4096).toString("utf8");
    if (!message && r.code !== 0 && c.terminationMessagePolicy === "FallbackToLogsOnError")
      message = `${r.stdout}${r.stderr}`.split("\n").slice(-80).join("\n").slice(-2048);
    return { code: r.code, ...(message ? { message } : {}) };
  }

  // ------------------------------------------------------------------ services

  /** Pods a Service selects, ready ones first (or all with publishNotReadyAddresses). */
  endpoints(service: Obj): PodRuntime[] {
    const sel = service.spec?.selector as Record<string, string> | undefined;
    if (!sel) {
      // selector-less: Patroni's leader Endpoints when the name is the scope
      const leader = this.leaderNameCached;
      const pod = leader ? this.pods.get(leader) : undefined;
      return pod && this.scope() === service.metadata.name ? [pod] : [];
    }
    // ready endpoints first: a client retrying over every address a headless name returns
    // reaches a ready one
    return [...this.pods.values()]
      .filter((p) => p.started && matches(sel, p.labels) && (p.ready || service.spec?.publishNotReadyAddresses))
      .sort((a, b) => Number(b.ready) - Number(a.ready));
  }

  /** host:port of a Service (or `<pod>.<headless service>`) name, for a pod-world port. */
  resolve(host: string, podPort: number): { port: number; pod: string } | undefined {
    const parsed = parseServiceHost(host, this.namespace);
    if (!parsed.service) return undefined;
    const svc = this.mc.child("Service", parsed.service);
    if (!svc) return undefined;
    if (parsed.pod) {
      const pod = this.pods.get(parsed.pod);
      return pod ? { port: hostPort(pod.place, podPort), pod: pod.name } : undefined;
    }
    const sp = ((svc.spec?.ports ?? []) as Obj[]).find((p) => p.port === podPort) ?? svc.spec?.ports?.[0];
    const wanted = sp?.targetPort ?? sp?.port ?? podPort;
    // an endpoint for this port is a selected pod that has the target port (a named targetPort
    // skips pods without a port of that name; a client tries the addresses until one answers)
    for (const pod of this.endpoints(svc)) {
      const ports = (pod.template.spec as V1PodSpec).containers.flatMap((c) => c.ports ?? []);
      const cp =
        typeof wanted === "string"
          ? ports.find((p) => p.name === wanted)
          : ports.find((p) => p.containerPort === Number(wanted));
      if (cp) return { port: hostPort(pod.place, cp.containerPort), pod: pod.name };
    }
    return undefined;
  }

  /** PGHOST naming a Service: connect to 127.0.0.1 (hostaddr), keep the name for TLS. */
  private rewriteConnections(env: Record<string, string>, _place: PodPlace): Record<string, string> {
    if (env.PGHOST && !env.PGHOST.startsWith("/")) {
      const r = this.resolve(env.PGHOST, Number(env.PGPORT ?? 5432));
      if (r) return { ...env, PGHOSTADDR: "127.0.0.1", PGPORT: String(r.port) };
    }
    return env;
  }

  /** `host=<service> ... port=<p>` in libpq strings and `postgres://host:port` URIs. */
  private rewriteConnectionArgs(argv: string[]): string[] {
    if (!argv.length) return argv;
    const connectTo: string[] = [];
    const mapped = argv.map((arg) => {
      // HTTP(S) to a Service or pod name (Patroni's REST API): curl keeps the name for TLS and
      // is pointed at the mapped address; any other client gets 127.0.0.1:<port> in the URL.
      arg = arg.replace(/\b(https?):\/\/([A-Za-z0-9.-]+):(\d+)/g, (url, scheme: string, host: string, port: string) => {
        const r = this.resolve(host, Number(port));
        if (!r) return url;
        if (scheme === "https" && basename(argv[0] ?? "") === "curl") {
          connectTo.push("--connect-to", `${host}:${port}:127.0.0.1:${r.port}`);
          return url;
        }
        return `${scheme}://127.0.0.1:${r.port}`;
      });
      return arg;
    });
    return this.rewriteLibpqArgs([mapped[0]!, ...connectTo, ...mapped.slice(1)]);
  }

  private rewriteLibpqArgs(argv: string[]): string[] {
    return argv.map((arg) => {
      let out = arg.replace(/postgres(?:ql)?:\/\/([^/?\s"']*)(\/[^?\s"']*)?(\?[^\s"']*)?/g, (uri) => {
        try {
          const u = new URL(uri);
          const r = this.resolve(u.hostname, Number(u.port || 5432));
          if (!r) return uri;
          u.port = String(r.port);
          u.searchParams.set("hostaddr", "127.0.0.1");
          return u.toString();
        } catch {
          return uri;
        }
      });
      const hostM = /(^|[\s"'])host=([A-Za-z0-9.-]+)/.exec(out);
      if (hostM) {
        const portM = /(^|[\s"'])port=(\d+)/.exec(out);
        const r = this.resolve(hostM[2]!, Number(portM?.[2] ?? 5432));
        if (r) {
          out = out.replace(hostM[0], `${hostM[0]} hostaddr=127.0.0.1`);
          if (portM) out = out.replace(/(^|[\s"'])port=\d+/, `$1port=${r.port}`);
          else out = out.replace(hostM[0], `${hostM[0]} port=${r.port}`);
        }
      }
      return out;
    });
  }

  // ------------------------------------------------------------------ jobs

  private startJob(job: Obj): void {
    const name = job.metadata.name as string;
    const backoffLimit = job.spec?.backoffLimit ?? 6;
    const rt: JobRuntime = {
      name,
      attempts: 0,
      state: "running",
      startTime: new Date().toISOString(),
      log: join(LOGS, `${this.name}.job-${name}.log`),
      done: Promise.resolve(),
      output: "",
      pods: [],
    };
    this.jobs.set(name, rt);
    rt.done = (async () => {
      const template = job.spec.template as Obj;
      const spec = template.spec as V1PodSpec;
      for (;;) {
        rt.attempts++;
        const podName = `${name}-${hash(`${name}${rt.attempts}`, 5)}`;
        const root = join(this.root, "jobs", podName);
        const place = await this.placeFor(podName, spec, root);
        const pod = {
          name: podName,
          sts: name,
          uid: randomUUID(),
          template,
          templateHash: "",
          place,
          daemons: new Map(),
          env: new Map(),
          argv: new Map(),
          labels: { ...(template.metadata?.labels ?? {}), "job-name": name },
          annotations: {},
          ready: false,
          restarts: 0,
          started: true,
        } satisfies PodRuntime;
        let code = 0;
        const statuses: Obj[] = [];
        const podObject: Obj = {
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            name: podName,
            namespace: this.namespace,
            uid: pod.uid,
            labels: { ...pod.labels, "batch.kubernetes.io/job-name": name },
            ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name, controller: true }],
          },
          spec,
          status: { phase: "Running", containerStatuses: statuses },
        };
        rt.pods.push(podObject);
        try {
          mkdirSync(root, { recursive: true });
          this.materializeVolumes(pod);
          for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
            const r = await this.runContainerToCompletion(
              pod,
              c,
              `${this.name}.job-${name}`,
              (job.spec?.activeDeadlineSeconds ?? 300) * 1000,
            );
            code = r.code;
            statuses.push({
              name: c.name,
              ready: false,
              restartCount: 0,
              state: {
                terminated: {
                  exitCode: r.code,
                  reason: r.code === 0 ? "Completed" : "Error",
                  ...(r.message ? { message: r.message } : {}),
                },
              },
            });
            if (code !== 0) break;
          }
        } catch (e) {
          writeFileSync(rt.log, `harness: ${(e as Error).message}\n`, { flag: "a" });
          code = 1;
        }
        podObject.status.phase = code === 0 ? "Succeeded" : "Failed";
        if (code === 0) {
          rt.state = "succeeded";
          break;
        }
        if (rt.attempts > backoffLimit) {
          rt.state = "failed";
          break;
        }
        // Kubernetes backs off 10 s, 20 s, 40 s...; the suite uses 2 s to stay quick
        await sleep(2000);
      }
      rt.completionTime = new Date().toISOString();
      rt.output = tail(rt.log, 40);
      this.log(`job ${name}: ${rt.state} after ${rt.attempts} attempt(s)`);
    })();
  }

  /** Objects other than children that exist in the namespace (PostgresRestores, ...), supplied by a scenario. */
  readonly relatedSources: (() => Obj[])[] = [];

  /**
   * Everything a customize rule may select: live Pods, Job Pods, PVCs, the user's own Secrets and
   * ConfigMaps (e.g. an S3 repository's key, which the cluster hook asks for by name) and
   * scenario objects.
   */
  candidates(): Obj[] {
    return [
      ...[...this.pods.values()].filter((p) => p.started).map((p) => this.podObject(p)),
      ...this.jobPods(),
      ...this.pvcObjects(),
      ...this.userObjects,
      ...this.relatedSources.flatMap((f) => f()),
    ];
  }

  /** The claims StatefulSets created, as the API server shows them (Bound). */
  pvcObjects(): Obj[] {
    return [...this.claimObjects.values()];
  }

  /** Pods of every Job run so far (one per attempt), for related objects of other controllers. */
  jobPods(): Obj[] {
    return [...this.jobs.values()].flatMap((j) => j.pods);
  }

  /** The PostgresCluster as the API server holds it (status as the hook last wrote it). */
  parentObject(): Obj {
    return { ...this.mc.parent, status: this.mc.lastResponse?.status ?? {} };
  }

  /**
   * One round of another controller whose children run here (e.g. PostgresBackup Jobs): its
   * related objects are this cluster and the Pods of the Jobs run so far.
   */
  async reconcileOther(other: Metacontroller): Promise<Change[]> {
    await this.refreshPods();
    const changes = await other.sync([this.parentObject(), ...this.candidates()], (o) => this.statusOf(o));
    for (const c of changes)
      if (c.kind !== "updated")
        this.log(`${other.parent.kind} ${other.parent.metadata.name}: ${c.kind} ${c.key} ${c.name}`);
    await this.apply(changes.filter((c) => c.key.startsWith("Job.")));
    return changes;
  }

  // ------------------------------------------------------------------ status of children

  statusOf(o: Obj): Obj | undefined {
    if (o.kind === "StatefulSet") {
      const pod = this.pods.get(this.podNameOf(o));
      const running = pod?.started ? 1 : 0;
      const rev = pod ? `${o.metadata.name}-${pod.templateHash}` : undefined;
      const upToDate = pod && JSON.stringify(pod.template) === JSON.stringify(o.spec.template) ? running : 0;
      return {
        observedGeneration: o.metadata.generation ?? 1,
        replicas: running,
        readyReplicas: pod?.ready ? 1 : 0,
        availableReplicas: pod?.ready ? 1 : 0,
        currentReplicas: running,
        updatedReplicas: upToDate,
        currentRevision: rev,
        updateRevision: upToDate ? rev : `${o.metadata.name}-${hash(JSON.stringify(o.spec.template))}`,
      };
    }
    if (o.kind === "Deployment") {
      const pod = this.pods.get(this.deploymentPods.get(o.metadata.name) ?? "");
      const running = pod?.started ? 1 : 0;
      const ready = pod?.started && pod.ready ? 1 : 0;
      const updated = running && pod!.templateHash === hash(JSON.stringify(o.spec.template)) ? 1 : 0;
      return {
        observedGeneration: o.metadata.generation ?? 1,
        replicas: running,
        readyReplicas: ready,
        availableReplicas: ready,
        updatedReplicas: updated,
        unavailableReplicas: Math.max(0, (o.spec?.replicas ?? 1) - ready),
        conditions: [
          {
            type: "Available",
            status: ready ? "True" : "False",
            reason: ready ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
          },
        ],
      };
    }
    if (o.kind === "Job") {
      const j = this.jobs.get(o.metadata.name);
      if (!j) return undefined;
      if (j.state === "running") return { active: 1, startTime: j.startTime, failed: j.attempts - 1 || undefined };
      const cond = j.state === "succeeded" ? "Complete" : "Failed";
      return {
        startTime: j.startTime,
        completionTime: j.state === "succeeded" ? j.completionTime : undefined,
        succeeded: j.state === "succeeded" ? 1 : undefined,
        failed: j.state === "failed" ? j.attempts : j.attempts - 1 || undefined,
        conditions: [{ type: cond, status: "True", lastTransitionTime: j.completionTime }],
      };
    }
    return undefined;
  }

  /** The Pod object the API server would return, labelled by Patroni, Ready by its probes. */
  podObject(p: PodRuntime): Obj {
    const spec = p.template.spec as V1PodSpec;
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: p.name,
        namespace: this.namespace,
        uid: p.uid,
        labels: p.labels,
        annotations: p.annotations,
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: p.owner?.kind ?? "StatefulSet",
            name: p.owner?.name ?? p.sts,
            controller: true,
          },
        ],
      },
      spec,
      status: {
        phase: "Running",
        podIP: "127.0.0.1",
        podIPs: [{ ip: "127.0.0.1" }],
        conditions: [
          { type: "Initialized", status: "True" },
          { type: "ContainersReady", status: p.ready ? "True" : "False" },
          { type: "Ready", status: p.ready ? "True" : "False" },
          { type: "PodScheduled", status: "True" },
        ],
        containerStatuses: (spec.containers ?? []).map((c) => ({
          name: c.name,
          ready: p.ready,
          started: true,
          restartCount: p.restarts,
          state: alive(p.daemons.get(c.name)?.pid) ? { running: {} } : { waiting: { reason: "CrashLoopBackOff" } },
        })),
      },
    };
  }

  // ------------------------------------------------------------------ patroni facts

  scope(): string | undefined {
    for (const p of this.pods.values()) if (p.patroni) return p.patroni.config.scope;
    return undefined;
  }

  private dcsNamespace(): string {
    for (const p of this.pods.values()) if (p.patroni) return p.patroni.config.namespace ?? "/service/";
    return "/service/";
  }

  private roleLabel(): string {
    for (const p of this.pods.values()) if (p.patroni) return p.patroni.raw.kubernetes?.role_label ?? "role";
    return "role";
  }

  leaderNameCached: string | undefined;

  /** Patroni's own keys: leader name and member data. */
  async dcs(): Promise<{ leader?: string; members: Record<string, any>; config?: any; sync?: any }> {
    const scope = this.scope();
    if (!scope) return { members: {} };
    const keys = await this.etcd.scopeKeys(scope, this.dcsNamespace());
    const members: Record<string, any> = {};
    for (const [k, v] of Object.entries(keys)) if (k.startsWith("members/")) members[k.slice(8)] = JSON.parse(v);
    const parse = (s: string | undefined) => {
      try {
        return s ? JSON.parse(s) : undefined;
      } catch {
        return s;
      }
    };
    this.leaderNameCached = keys.leader || undefined;
    return { leader: keys.leader || undefined, members, config: parse(keys.config), sync: parse(keys.sync) };
  }

  /** Labels (Patroni's touch_member logic, 3.0.2) and readiness (the pod's probes). */
  async refreshPods(): Promise<void> {
    this.kubeletTick();
    let dcs: Awaited<ReturnType<E2ECluster["dcs"]>> = { members: {} };
    try {
      dcs = await this.dcs();
    } catch {}
    const roleLabel = this.roleLabel();
    await Promise.all(
      [...this.pods.values()].map(async (p) => {
        if (!p.started) return;
        const data = dcs.members[p.name];
        if (data) {
          let role: string | undefined;
          if (dcs.leader === p.name) role = "master";
          else if (data.state === "running" && !["master", "primary"].includes(data.role)) role = data.role;
          if (role) p.labels[roleLabel] = role;
          else delete p.labels[roleLabel];
          p.annotations.status = JSON.stringify(data);
        }
        p.ready = await this.probeReady(p);
      }),
    );
  }

  /**
   * Keeps pod labels and readiness current in the background, as the Kubelet's probes and
   * Patroni's label patches do, so Services follow the leader without the hook being called.
   */
  watchPods(intervalMs = 250): { stop(): void } {
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        await this.refreshPods().catch(() => {});
        await sleep(intervalMs);
      }
    })();
    return {
      stop() {
        stopped = true;
        void loop;
      },
    };
  }

  private async probeReady(p: PodRuntime): Promise<boolean> {
    const spec = p.template.spec as V1PodSpec;
    for (const c of spec.containers ?? []) {
      const d = p.daemons.get(c.name);
      if (!d) continue; // a container this machine cannot run does not block readiness
      if (!alive(d.pid)) return false;
      const probe = c.readinessProbe as V1Probe | undefined;
      if (!probe) continue;
      if (probe.httpGet) {
        let port = probe.httpGet.port as number | string;
        if (typeof port === "string") port = c.ports?.find((x) => x.name === port)?.containerPort ?? Number(port);
        const scheme = (probe.httpGet.scheme ?? "HTTP").toLowerCase();
        const code = await httpStatus(
          `${scheme}://127.0.0.1:${hostPort(p.place, Number(port))}${probe.httpGet.path ?? "/"}`,
        );
        if (code < 200 || code >= 400) return false;
      } else if (probe.exec?.command) {
        const env = p.env.get(c.name) ?? {};
        const r = await run(this.inPod(p, c, asPostgres(env, probe.exec.command)), {
          timeoutMs: (probe.timeoutSeconds ?? 5) * 1000,
        });
        if (r.code !== 0) return false;
      } else if (probe.tcpSocket) {
        let port = probe.tcpSocket.port as number | string;
        if (typeof port === "string") port = c.ports?.find((x) => x.name === port)?.containerPort ?? Number(port);
        if (!(await tcpOpen(hostPort(p.place, Number(port)), (probe.timeoutSeconds ?? 1) * 1000))) return false;
      }
    }
    return true;
  }

  /**
   * `kubectl exec POD -c CONTAINER -- argv`: the program runs in the pod's mount namespace with the
   * container's environment (as this machine maps it) and the postgres UID.
   */
  async exec(
    podName: string,
    container: string,
    argv: string[],
    opts: { timeoutMs?: number } = {},
  ): Promise<RunResult> {
    const p = this.pod(podName);
    const c = (p.template.spec as V1PodSpec).containers.find((x) => x.name === container);
    if (!c) throw new Error(`pod ${podName} has no container ${container}`);
    return await run(this.inPod(p, c, asPostgres(p.env.get(container) ?? {}, argv)), opts);
  }

  async leader(): Promise<string | undefined> {
    return (await this.dcs()).leader;
  }

  pod(name: string): PodRuntime {
    const p = this.pods.get(name);
    if (!p) throw new Error(`no pod ${name}`);
    return p;
  }

  restUrl(pod: string, path: string): string {
    const p = this.pod(pod);
    const scheme = p.patroni?.config.restapi?.certfile ? "https" : "http";
    const port = Number(
      String(p.patroni?.config.restapi?.listen ?? "")
        .split(":")
        .pop(),
    );
    return `${scheme}://127.0.0.1:${port}${path}`;
  }

  pgPort(pod: string): number {
    const p = this.pod(pod);
    return Number(
      String(p.patroni?.config.postgresql?.listen ?? "")
        .split(",")[0]!
        .split(":")
        .pop(),
    );
  }

  /** The superuser as Patroni knows it (env from the internal Secret, else the config file). */
  superuser(pod?: string): { user: string; password: string } {
    const p = pod ? this.pod(pod) : [...this.pods.values()].find((x) => x.patroni);
    if (!p?.patroni) throw new Error("no Patroni pod yet");
    const env = p.env.get(p.patroni.container) ?? {};
    const auth = p.patroni.config.postgresql?.authentication?.superuser ?? {};
    return {
      user: env.PATRONI_SUPERUSER_USERNAME ?? auth.username ?? "postgres",
      password: env.PATRONI_SUPERUSER_PASSWORD ?? auth.password,
    };
  }

  /** The CA file Postgres itself is configured with (where it is on this machine). */
  caFile(): string {
    const p = [...this.pods.values()].find((x) => x.patroni);
    const ca = p?.patroni?.config.postgresql?.parameters?.ssl_ca_file;
    if (!ca) throw new Error("Patroni configuration sets no ssl_ca_file");
    return this.hostPath(p!, ca);
  }

  superConn(port: number, dbname = "postgres"): Conn {
    const su = this.superuser();
    return { port, user: su.user, password: su.password, dbname, sslrootcert: this.caFile() };
  }

  // ------------------------------------------------------------------ process control

  /** Containers the suite killed on purpose, until the Kubelet stand-in restarts them. */
  private readonly killed = new Set<string>();

  /** Restarts per container and when the Kubelet stand-in may start it again. */
  private readonly crashes = new Map<string, { restarts: number; next: number }>();

  /** A container that keeps exiting: the suite gives up on it after this many restarts. */
  static readonly CRASH_LOOP = 6;

  /**
   * The Kubelet (restartPolicy Always): a container that exited by itself is started again
   * after a back-off (2, 4, 8, 10, 10... s here instead of 10 s doubling to 5 min). Some exits are
   * by design (Patroni waiting for a restored data directory exits until the restore Job is
   * done); a container that keeps exiting fails the wait with its own last words.
   */
  private kubeletTick(): void {
    for (const p of this.pods.values()) {
      if (!p.started || p.stopping) continue;
      for (const [name, d] of p.daemons) {
        const id = `${p.name}/${name}`;
        if (alive(d.pid) || this.killed.has(id)) continue;
        const state = this.crashes.get(id) ?? { restarts: 0, next: 0 };
        if (state.next === 0) {
          state.next = Date.now() + Math.min(10_000, 2000 * 2 ** state.restarts);
          this.crashes.set(id, state);
          this.log(
            `container ${name} of ${p.name} exited; restart ${state.restarts + 1} in ${Math.round((state.next - Date.now()) / 1000)} s`,
          );
        } else if (Date.now() >= state.next) {
          state.restarts++;
          state.next = 0;
          p.restarts++;
          const c = (p.template.spec as V1PodSpec).containers.find((x) => x.name === name)!;
          this.startContainer(p, c);
        }
      }
    }
  }

  /** Fails a wait at once when a container crash-loops, with its log. */
  assertNoCrash(): void {
    for (const [id, state] of this.crashes) {
      if (state.restarts < E2ECluster.CRASH_LOOP) continue;
      const [pod, name] = id.split("/") as [string, string];
      const d = this.pods.get(pod)?.daemons.get(name);
      throw new Fatal(
        `container ${name} of pod ${pod} crash-loops (${state.restarts} restarts):\n${d ? tail(d.log, 40) : ""}`,
      );
    }
  }

  /** kill -9 Patroni and the postmaster (docs/dataplane-notes.md P4); returns the postmaster's children. */
  async hardKill(podName: string): Promise<number[]> {
    const p = this.pod(podName);
    const patroni = p.patroni ? p.daemons.get(p.patroni.container) : undefined;
    const pm = p.dataDir ? postmasterPid(p.dataDir) : undefined;
    const kids = pm ? childrenOf(pm) : [];
    if (p.patroni) this.killed.add(`${podName}/${p.patroni.container}`);
    for (const pid of [patroni?.pid, pm]) if (pid && alive(pid)) process.kill(pid, "SIGKILL");
    this.log(`kill -9 ${podName}: patroni ${patroni?.pid}, postmaster ${pm}`);
    return kids;
  }

  /** What the Kubelet does after a container died: start it again in the same pod. */
  async restartContainer(podName: string, container?: string): Promise<void> {
    const p = this.pod(podName);
    const name = container ?? p.patroni?.container;
    const c = (p.template.spec as V1PodSpec).containers.find((x) => x.name === name);
    if (!c) throw new Error(`pod ${podName}: no container ${name}`);
    const old = p.daemons.get(c.name);
    if (old && alive(old.pid)) throw new Error(`container ${name} of ${podName} is still running`);
    p.restarts++;
    this.killed.delete(`${podName}/${c.name}`);
    this.crashes.delete(`${podName}/${c.name}`);
    this.startContainer(p, c);
  }

  async stopPod(name: string, why: string): Promise<void> {
    const p = this.pods.get(name);
    if (!p?.started) return;
    this.log(`stopping pod ${name} (${why})`);
    p.stopping = true;
    await Promise.all(
      [...p.daemons.values()].map(async (d) => {
        await stopPid(d.pid, "SIGTERM", 60_000);
        forgetDaemon(d.name);
      }),
    );
    // Patroni stops Postgres on SIGTERM; a postmaster orphaned by a hard kill is stopped here
    const pm = p.dataDir ? postmasterPid(p.dataDir) : undefined;
    if (pm) await stopPid(pm, "SIGQUIT", 20_000);
    p.daemons.clear();
    for (const id of [...this.crashes.keys()]) if (id.startsWith(`${name}/`)) this.crashes.delete(id);
    p.started = false;
    p.stopping = false;
    p.ready = false;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.jobs.values()].map((j) => j.done.catch(() => {})));
    // The repository host last: a Postgres shutting down waits for its archiver, whose
    // archive-push to a repository host already gone waits out pgBackRest's timeout (60 s).
    const repoHost = (p: PodRuntime) => p.labels[LABEL.pgbackrest] === "repo-host";
    const pods = [...this.pods.values()];
    for (const last of [false, true])
      await Promise.all(pods.filter((p) => repoHost(p) === last).map((p) => this.stopPod(p.name, "suite teardown")));
    await Promise.all([...this.serviceProxies.values()].map((p) => p.close()));
    this.serviceProxies.clear();
  }

  describe(): string {
    const lines = [`cluster ${this.name}: leader ${this.leaderNameCached ?? "-"}`];
    for (const p of this.pods.values()) {
      const d = p.patroni ? p.daemons.get(p.patroni.container) : undefined;
      lines.push(`  pod ${p.name}: started=${p.started} ready=${p.ready} labels=${JSON.stringify(p.labels)}`);
      if (d) lines.push(tail(d.log, 12).replace(/^/gm, "    | "));
    }
    for (const j of this.jobs.values())
      lines.push(`  job ${j.name}: ${j.state} attempts=${j.attempts}\n${tail(j.log, 10).replace(/^/gm, "    | ")}`);
    const st = this.mc.lastResponse?.status;
    if (st) lines.push(`  hook status: ${JSON.stringify(st).slice(0, 1500)}`);
    return lines.join("\n");
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/))
      if (t) out.push(Number(t));
  } catch {}
  return out;
}
