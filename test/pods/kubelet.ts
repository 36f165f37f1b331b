/**
 * @module
 * A kubelet for tests: runs the Pods the real controllers create as processes on this machine.
 *
 * - It registers its Node, renews the Node's Lease in `kube-node-lease` and reports the Node Ready.
 * - As the scheduler (its own credentials, `system:kube-scheduler`) it binds Pending pods that
 *   name no node to itself, once every PersistentVolumeClaim they use is Bound; as a provisioner
 *   (its own credentials again) it creates a local PersistentVolume for each unbound claim, on a
 *   directory under the suite's state directory, pre-bound to the claim so the real PV controller
 *   binds the pair. Released volumes it made are deleted with their directory.
 * - As the node (`system:node:<name>`, so the Node authorizer and NodeRestriction judge it) it
 *   runs each pod bound to it: a network namespace with its own address (net.ts), volumes
 *   (emptyDir, configMap, secret, projected with TokenRequest tokens and kube-root-ca.crt,
 *   downwardAPI, PVCs), env with `fieldRef`/`secretKeyRef`/`configMapKeyRef`/`envFrom` and `$(VAR)`
 *   expansion (spec.ts), init containers to completion, then the containers as processes in the
 *   pod's network namespace and a mount namespace each (mountns.ts); probes; status through the
 *   status subresource; restarts with back-off; deletion (SIGTERM, SIGKILL after the grace
 *   period, then the Pod deleted with grace 0).
 *
 * Images are not pulled: a container runs its `command` from this machine's PATH, as the
 * end-to-end suite does. A uid or gid this machine has no account for (the images' postgres is
 * uid 26) runs as the local postgres account, whose programs these are.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { Api, ApiError, type Obj } from "./api.ts";
import { inMountNamespace, type Mount } from "./mountns.ts";
import { type PodAttachment, PodNetwork } from "./net.ts";
import { ServiceProxy } from "./services.ts";
import { type ObjectSource, type PodFacts, resolveArgv, resolveEnv, volumeFiles } from "./spec.ts";

export interface KubeletConfig {
  nodeName: string;
  server: string;
  caFile: string;
  /** `proxy` (system:kube-proxy) turns on Services and names for pods (services.ts) */
  tokens: { node: string; scheduler: string; provisioner: string; proxy?: string };
  /** the suite's state directory: pod network state, volumes, pod directories */
  stateDir: string;
  logDir: string;
  /** the API server's address as pods reach it (the `kubernetes` Service's endpoint) */
  apiHost: string;
  apiPort: number;
  /**
   * When set, only pods in namespaces matching this label selector are bound (scheduled) here;
   * others stay Pending as if no node fitted them.
   */
  namespaceSelector?: string;
  /** restart back-off: first delay and cap (the real kubelet: 10 s and 5 min) */
  backoffMs?: { base: number; max: number };
  kubeletVersion?: string;
}

const DEFAULT_PATH = "/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const LEASE_SECONDS = 40;

const microTime = (d = new Date()) => d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

function which(program: string, path: string): string | undefined {
  if (program.includes("/")) return existsSync(program) ? program : undefined;
  for (const dir of path.split(":")) if (dir && existsSync(join(dir, program))) return join(dir, program);
  return undefined;
}

interface Account {
  uid: number;
  gid: number;
  home: string;
}

function accounts(): { byUid: Map<number, Account>; groups: Set<number>; postgres?: Account } {
  const byUid = new Map<number, Account>();
  let postgres: Account | undefined;
  for (const l of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const f = l.split(":");
    if (f.length < 7) continue;
    const a = { uid: Number(f[2]), gid: Number(f[3]), home: f[5] || "/" };
    byUid.set(a.uid, a);
    if (f[0] === "postgres") postgres = a;
  }
  const groups = new Set(
    readFileSync("/etc/group", "utf8")
      .split("\n")
      .map((l) => Number(l.split(":")[2]))
      .filter((n) => Number.isFinite(n)),
  );
  return { byUid, groups, postgres };
}

type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | {
      terminated: {
        exitCode: number;
        reason: string;
        startedAt?: string;
        finishedAt: string;
        message?: string;
        signal?: number;
      };
    };

interface ContainerRt {
  spec: Obj;
  init: boolean;
  child?: ChildProcess;
  pid?: number;
  state: ContainerState;
  lastState?: ContainerState;
  restartCount: number;
  /** terminated and to be started again: counted as a restart when it starts, as the Kubelet does */
  restartPending?: boolean;
  startedAtMs?: number;
  /** back-off: not started again before this */
  notBefore: number;
  ready: boolean;
  started: boolean;
  probes: Record<"readiness" | "liveness" | "startup", { last: number; ok: number; fail: number; running: boolean }>;
  killing?: boolean;
  log: string;
  termFile: string;
}

type Phase = "Pending" | "Running" | "Succeeded" | "Failed";

class PodWorker {
  pod: Obj;
  readonly uid: string;
  readonly key: string;
  readonly dir: string;
  attach?: PodAttachment;
  phase: Phase = "Pending";
  startTime = now();
  initDone = false;
  readonly containers = new Map<string, ContainerRt>();
  readonly initContainers: ContainerRt[] = [];
  private sentStatus = "";
  private transitions = new Map<string, { status: string; at: string }>();
  private source?: ObjectSource;
  private env = new Map<string, Record<string, string>>();
  terminating?: Promise<void>;
  starting?: Promise<void>;
  error?: string;
  /** the pod is gone from the API server (deleted by force) or finished and torn down */
  done = false;

  constructor(
    readonly k: Kubelet,
    pod: Obj,
  ) {
    this.pod = pod;
    this.uid = pod.metadata.uid;
    this.key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    this.dir = join(k.cfg.stateDir, "pods", `${pod.metadata.namespace}_${pod.metadata.name}_${this.uid}`);
  }

  private get ns(): string {
    return this.pod.metadata.namespace;
  }
  private get name(): string {
    return this.pod.metadata.name;
  }
  private get spec(): Obj {
    return this.pod.spec;
  }
  private get restartPolicy(): string {
    return this.spec.restartPolicy ?? "Always";
  }

  log(m: string): void {
    this.k.log(`${this.key}: ${m}`);
  }

  facts(): PodFacts {
    return {
      name: this.name,
      namespace: this.ns,
      uid: this.uid,
      podIP: this.attach?.ip ?? "",
      hostIP: this.k.net.gateway,
      nodeName: this.k.cfg.nodeName,
      serviceAccountName: this.spec.serviceAccountName,
      labels: this.pod.metadata.labels ?? {},
      annotations: this.pod.metadata.annotations ?? {},
    };
  }

  // ------------------------------------------------------------------ start

  async start(): Promise<void> {
    mkdirSync(join(this.dir, "termination"), { recursive: true, mode: 0o755 });
    for (const c of this.spec.initContainers ?? []) this.initContainers.push(this.newRt(c, true));
    for (const c of this.spec.containers ?? []) this.containers.set(c.name, this.newRt(c, false));
    await this.pushStatus();
    this.attach = await this.k.net.addPod();
    this.log(`network namespace ${this.attach.netns}, ${this.attach.ip}`);
    for (;;) {
      if (this.pod.metadata.deletionTimestamp) return;
      try {
        this.source = await this.fetchObjects();
        await this.materializeVolumes();
        break;
      } catch (e) {
        // as the Kubelet: the pod stays ContainerCreating until its Secrets/ConfigMaps exist
        this.error = (e as Error).message;
        for (const rt of [...this.initContainers, ...this.containers.values()])
          rt.state = { waiting: { reason: "ContainerCreating", message: this.error } };
        await this.pushStatus().catch(() => {});
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    this.error = undefined;
    this.writeHosts();
    for (const rt of [...this.initContainers, ...this.containers.values()])
      rt.state = { waiting: { reason: "PodInitializing" } };
  }

  private hostsText = "";

  /**
   * The pod's hosts file: itself, then the Services' and pods' names (services.ts). Rewritten in
   * place, so the containers, which bind-mounted this very file, see new names at once.
   */
  writeHosts(): void {
    if (!this.attach || this.done) return;
    const lines = [
      "127.0.0.1\tlocalhost",
      "::1\tlocalhost ip6-localhost ip6-loopback",
      `${this.attach.ip}\t${this.hostnames().join(" ")}`,
      ...(this.k.services?.hostsLines(this.ns) ?? []),
    ];
    const text = `${lines.join("\n")}\n`;
    if (text === this.hostsText) return;
    writeFileSync(join(this.dir, "hosts"), text, { mode: 0o644 });
    this.hostsText = text;
  }

  private hostnames(): string[] {
    const host = this.spec.hostname ?? this.name;
    const sub = this.spec.subdomain;
    return sub ? [`${host}.${sub}.${this.ns}.svc.cluster.local`, host] : [host];
  }

  private newRt(c: Obj, init: boolean): ContainerRt {
    const probe = () => ({ last: 0, ok: 0, fail: 0, running: false });
    mkdirSync(join(this.k.cfg.logDir, "pods"), { recursive: true });
    return {
      spec: c,
      init,
      state: { waiting: { reason: "ContainerCreating" } },
      restartCount: 0,
      notBefore: 0,
      ready: false,
      started: false,
      probes: { readiness: probe(), liveness: probe(), startup: probe() },
      log: join(this.k.cfg.logDir, "pods", `${this.ns}_${this.name}_${c.name}.log`),
      termFile: join(this.dir, "termination", c.name),
    };
  }

  /** Secrets, ConfigMaps and tokens the pod's volumes and env name, read with the node's credentials. */
  private async fetchObjects(): Promise<ObjectSource> {
    const api = this.k.nodeApi;
    const secrets = new Map<string, Obj | undefined>();
    const configMaps = new Map<string, Obj | undefined>();
    const tokens = new Map<string, string>();
    const want = (m: Map<string, Obj | undefined>, name: string | undefined) => name && m.set(name, undefined);
    const all = [...(this.spec.initContainers ?? []), ...(this.spec.containers ?? [])] as Obj[];
    for (const c of all) {
      for (const e of c.env ?? []) {
        want(secrets, e.valueFrom?.secretKeyRef?.name);
        want(configMaps, e.valueFrom?.configMapKeyRef?.name);
      }
      for (const f of c.envFrom ?? []) {
        want(secrets, f.secretRef?.name);
        want(configMaps, f.configMapRef?.name);
      }
    }
    const tokenKey = (s: Obj) => `${s.audience ?? ""}|${s.expirationSeconds ?? 3600}`;
    for (const v of (this.spec.volumes ?? []) as Obj[]) {
      want(secrets, v.secret?.secretName);
      want(configMaps, v.configMap?.name);
      for (const s of v.projected?.sources ?? []) {
        want(secrets, s.secret?.name);
        want(configMaps, s.configMap?.name);
        if (s.serviceAccountToken && !tokens.has(tokenKey(s.serviceAccountToken))) {
          const t = s.serviceAccountToken;
          const sa = this.spec.serviceAccountName ?? "default";
          const r = await api.call("POST", `/api/v1/namespaces/${this.ns}/serviceaccounts/${sa}/token`, {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: {
              ...(t.audience ? { audiences: [t.audience] } : {}),
              expirationSeconds: t.expirationSeconds ?? 3600,
              boundObjectRef: { apiVersion: "v1", kind: "Pod", name: this.name, uid: this.uid },
            },
          });
          tokens.set(tokenKey(t), r.status.token);
        }
      }
    }
    for (const [m, kind] of [
      [secrets, "secrets"],
      [configMaps, "configmaps"],
    ] as const)
      for (const name of m.keys()) m.set(name, await api.find(`/api/v1/namespaces/${this.ns}/${kind}/${name}`));
    return {
      secret: (n) => secrets.get(n),
      configMap: (n) => configMaps.get(n),
      serviceAccountToken: (s) => {
        const t = tokens.get(tokenKey(s));
        if (!t) throw new Error(`no token fetched for ${JSON.stringify(s)}`);
        return t;
      },
    };
  }

  private volumeDir(name: string): string {
    return join(this.dir, "volumes", name);
  }

  /** uid/gid as this machine has them (see the module comment). */
  private ids(c: Obj): { uid: number; gid: number; groups: number[]; home: string } {
    const { byUid, groups, postgres } = this.k.accounts;
    const psc = this.spec.securityContext ?? {};
    const sc = c.securityContext ?? {};
    const wantUid: number | undefined = sc.runAsUser ?? psc.runAsUser;
    const local = (uid: number | undefined) => (uid !== undefined ? byUid.get(uid) : undefined);
    const account = local(wantUid) ?? postgres;
    if (!account) throw new Error("no postgres account on this machine (test/e2e/install.sh makes it)");
    const mapGid = (g: number | undefined) => (g === undefined ? undefined : groups.has(g) ? g : postgres?.gid);
    const gid = mapGid(sc.runAsGroup ?? psc.runAsGroup) ?? account.gid;
    const extra = [psc.fsGroup, ...(psc.supplementalGroups ?? [])].map(mapGid).filter((g) => g !== undefined);
    return { uid: account.uid, gid, groups: [...new Set(extra as number[])], home: account.home };
  }

  private fsGroup(): number | undefined {
    const g = this.spec.securityContext?.fsGroup;
    if (g === undefined) return undefined;
    return this.k.accounts.groups.has(g) ? g : this.k.accounts.postgres?.gid;
  }

  private async materializeVolumes(): Promise<void> {
    const fsGroup = this.fsGroup();
    for (const v of (this.spec.volumes ?? []) as Obj[]) {
      const dir = this.volumeDir(v.name);
      if (v.emptyDir) {
        if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
        chmodSync(dir, 0o777);
        if (fsGroup !== undefined) {
          chownSync(dir, 0, fsGroup);
          chmodSync(dir, 0o2777);
        }
        continue;
      }
      if (v.persistentVolumeClaim) {
        const claim = await this.k.nodeApi.get(
          `/api/v1/namespaces/${this.ns}/persistentvolumeclaims/${v.persistentVolumeClaim.claimName}`,
        );
        const pvName = claim.spec?.volumeName;
        if (!pvName || claim.status?.phase !== "Bound") throw new Error(`claim ${claim.metadata.name} is not Bound`);
        const pv = await this.k.nodeApi.get(`/api/v1/persistentvolumes/${pvName}`);
        const path = pv.spec?.local?.path ?? pv.spec?.hostPath?.path;
        if (!path) throw new Error(`PersistentVolume ${pvName} is neither local nor hostPath`);
        mkdirSync(path, { recursive: true });
        // volume ownership management, as for a local volume: the root gets fsGroup, setgid
        if (fsGroup !== undefined) {
          chownSync(path, 0, fsGroup);
          chmodSync(path, 0o2775);
        }
        mkdirSync(dirname(dir), { recursive: true });
        rmSync(dir, { recursive: true, force: true });
        writeFileSync(`${dir}.source`, path);
        continue;
      }
      const files = volumeFiles(v as any, this.source!, this.facts());
      if (!files) {
        this.log(`volume ${v.name}: kind not supported (${Object.keys(v).join(",")}); an empty directory instead`);
        mkdirSync(dir, { recursive: true });
        continue;
      }
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      chmodSync(dir, 0o755);
      for (const f of files) {
        const at = join(dir, f.path);
        mkdirSync(dirname(at), { recursive: true, mode: 0o755 });
        writeFileSync(at, f.content);
        chownSync(at, 0, fsGroup ?? 0);
        chmodSync(at, fsGroup !== undefined ? (f.mode | 0o440) & 0o7777 : f.mode);
      }
    }
  }

  /** Host directory or file behind a volume. */
  private volumeSource(name: string): string {
    const link = `${this.volumeDir(name)}.source`;
    if (existsSync(link)) return readFileSync(link, "utf8");
    const dir = this.volumeDir(name);
    if (!existsSync(dir)) throw new Error(`volumeMount ${name} names no volume of the pod`);
    return dir;
  }

  private mounts(c: Obj): Mount[] {
    const out: Mount[] = ((c.volumeMounts ?? []) as Obj[]).map((m) => {
      const source = join(this.volumeSource(m.name), m.subPath ?? "");
      if (m.subPath && !existsSync(source)) mkdirSync(source, { recursive: true });
      return { path: String(m.mountPath).replace(/\/$/, "") || "/", source, readOnly: m.readOnly === true };
    });
    const term = join(this.dir, "termination", c.name);
    if (!existsSync(term)) writeFileSync(term, "");
    chmodSync(term, 0o666);
    out.push({ path: c.terminationMessagePath ?? "/dev/termination-log", source: term });
    return out;
  }

  /** The container's environment: the runtime's, the API server's Service, then the pod spec's. */
  private containerEnv(c: Obj): Record<string, string> {
    const { home } = this.ids(c);
    const k8s = this.k.services?.kubernetes;
    const apiHost = k8s?.ip ?? this.k.cfg.apiHost;
    const apiPort = k8s?.port ?? this.k.cfg.apiPort;
    const resolved = resolveEnv(c as any, this.facts(), this.source!);
    return {
      PATH: DEFAULT_PATH,
      HOSTNAME: this.spec.hostname ?? this.name,
      HOME: home,
      LANG: "C.UTF-8",
      // the `kubernetes` Service's variables (its endpoint directly when Services are not proxied)
      KUBERNETES_SERVICE_HOST: apiHost,
      KUBERNETES_SERVICE_PORT: String(apiPort),
      KUBERNETES_SERVICE_PORT_HTTPS: String(apiPort),
      KUBERNETES_PORT: `tcp://${apiHost}:${apiPort}`,
      ...resolved,
    };
  }

  /** argv that runs `argv` as container c: pod network, its own mounts and hostname, its user. */
  private wrap(c: Obj, env: Record<string, string>, argv: string[]): string[] {
    const { uid, gid, groups } = this.ids(c);
    const sc = c.securityContext ?? {};
    const user = [
      "setpriv",
      `--reuid=${uid}`,
      `--regid=${gid}`,
      ...(groups.length ? [`--groups=${groups.join(",")}`] : ["--clear-groups"]),
      ...(sc.allowPrivilegeEscalation === false ? ["--no-new-privs"] : []),
      "env",
      "-i",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...argv,
    ];
    return [
      "nsenter",
      `--net=${this.attach!.path}`,
      ...inMountNamespace(user, {
        mounts: this.mounts(c),
        readOnlyRoot: sc.readOnlyRootFilesystem === true,
        workingDir: c.workingDir,
        hostsFile: join(this.dir, "hosts"),
        mountpointsRecord: this.k.mountpointsRecord,
        hostname: this.spec.hostname ?? this.name,
      }),
    ];
  }

  private launch(rt: ContainerRt): void {
    const c = rt.spec;
    let env: Record<string, string>;
    let argv: string[];
    try {
      env = this.containerEnv(c);
      argv = resolveArgv(c as any, env);
    } catch (e) {
      rt.state = { waiting: { reason: "CreateContainerConfigError", message: (e as Error).message } };
      rt.notBefore = Date.now() + 2000;
      return;
    }
    const program = argv.length ? which(argv[0]!, env.PATH ?? DEFAULT_PATH) : undefined;
    if (!program) {
      const message = argv.length
        ? `${argv[0]} (image ${c.image}) is not a program on this machine`
        : `no command: the entrypoint of image ${c.image} is unknown here`;
      rt.state = { waiting: { reason: "CreateContainerError", message } };
      rt.notBefore = Date.now() + 5000;
      return;
    }
    this.env.set(c.name, env);
    if (rt.restartPending) {
      rt.restartCount++;
      rt.restartPending = false;
    }
    writeFileSync(rt.termFile, "");
    chmodSync(rt.termFile, 0o666);
    const fd = openSync(rt.log, "a");
    writeFileSync(fd, `--- ${now()} start (restart ${rt.restartCount}): ${argv.join(" ")}\n`);
    const wrapped = this.wrap(c, env, [program, ...argv.slice(1)]);
    const child = spawn(wrapped[0]!, wrapped.slice(1), { detached: true, stdio: ["ignore", fd, fd], cwd: "/" });
    closeSync(fd);
    child.on("error", () => {});
    const startedAt = now();
    rt.child = child;
    rt.pid = child.pid;
    rt.startedAtMs = Date.now();
    rt.state = { running: { startedAt } };
    rt.ready = false;
    rt.started = !c.startupProbe;
    for (const p of Object.values(rt.probes)) Object.assign(p, { last: 0, ok: 0, fail: 0 });
    child.on("exit", (code, signal) => {
      let message = "";
      try {
        message = readFileSync(rt.termFile).subarray(0, 4096).toString("utf8");
      } catch {}
      const exitCode = code ?? 128 + (signal ? (osSignals[signal] ?? 9) : 9);
      if (!message && exitCode !== 0 && c.terminationMessagePolicy === "FallbackToLogsOnError")
        message = tailOf(rt.log, 80).slice(-2048);
      rt.child = undefined;
      rt.pid = undefined;
      rt.ready = false;
      rt.state = {
        terminated: {
          exitCode,
          reason: exitCode === 0 ? "Completed" : "Error",
          startedAt,
          finishedAt: now(),
          ...(message ? { message } : {}),
        },
      };
      rt.killing = false;
      this.log(`container ${c.name} exited ${exitCode}${signal ? ` (${signal})` : ""}`);
      this.k.kick();
    });
    this.log(`container ${c.name} started (pid ${child.pid}): ${argv.join(" ")}`);
  }

  private backoff(rt: ContainerRt): number {
    const { base, max } = this.k.cfg.backoffMs ?? { base: 2000, max: 60_000 };
    return Math.min(max, base * 2 ** rt.restartCount);
  }

  /** Should a terminated container run again under the pod's restartPolicy? */
  private restarts(rt: ContainerRt): boolean {
    if (!("terminated" in rt.state)) return false;
    const code = rt.state.terminated.exitCode;
    if (rt.init) return code !== 0 && this.restartPolicy !== "Never";
    return this.restartPolicy === "Always" || (this.restartPolicy === "OnFailure" && code !== 0);
  }

  /** One step of the pod's life; called on every tick and on every container exit. */
  async step(): Promise<void> {
    if (!this.attach || this.error || this.terminating || this.done) return;
    if (this.phase === "Succeeded" || this.phase === "Failed") return;
    if (!this.initDone) {
      const rt = this.initContainers.find((r) => !("terminated" in r.state && r.state.terminated.exitCode === 0));
      if (!rt) this.initDone = true;
      else if (!rt.child) {
        if ("terminated" in rt.state) {
          if (!this.restarts(rt)) {
            this.phase = "Failed";
            await this.finish();
            return;
          }
          this.scheduleRestart(rt);
        }
        if (Date.now() >= rt.notBefore) this.launch(rt);
      }
    }
    if (this.initDone) {
      for (const rt of this.containers.values()) {
        if (rt.child) continue;
        if ("terminated" in rt.state) {
          if (!this.restarts(rt)) continue;
          this.scheduleRestart(rt);
        }
        if (Date.now() >= rt.notBefore) this.launch(rt);
      }
      const all = [...this.containers.values()];
      if (all.every((r) => "terminated" in r.state && !this.restarts(r))) {
        const failed = all.some((r) => "terminated" in r.state && r.state.terminated.exitCode !== 0);
        this.phase = failed ? "Failed" : "Succeeded";
        await this.finish();
        return;
      }
      this.phase = "Running";
      await this.probe();
    }
    await this.pushStatus();
  }

  /** A terminated container that restarts: CrashLoopBackOff until its back-off has passed. */
  private scheduleRestart(rt: ContainerRt): void {
    rt.lastState = rt.state;
    rt.restartPending = true;
    const delay = this.backoff(rt);
    rt.notBefore = Date.now() + delay;
    rt.state = {
      waiting: {
        reason: "CrashLoopBackOff",
        message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${rt.spec.name} pod=${this.name}`,
      },
    };
  }

  /** A pod that ran to completion: its status says so; its network namespace goes. */
  private async finish(): Promise<void> {
    this.log(`pod ${this.phase}`);
    for (const rt of this.containers.values()) rt.ready = false;
    await this.pushStatus();
    if (this.attach) await this.k.net.removePod(this.attach.netns);
  }

  // ------------------------------------------------------------------ probes

  private async probe(): Promise<void> {
    const at = Date.now();
    for (const rt of this.containers.values()) {
      if (!rt.child || !rt.startedAtMs) continue;
      const kinds: ("startup" | "liveness" | "readiness")[] = rt.started ? ["liveness", "readiness"] : ["startup"];
      if (rt.started && !rt.spec.readinessProbe) rt.ready = true;
      for (const kind of kinds) {
        const spec = rt.spec[`${kind}Probe`] as Obj | undefined;
        if (!spec) continue;
        const st = rt.probes[kind];
        const period = (spec.periodSeconds ?? 10) * 1000;
        if (st.running || at - rt.startedAtMs < (spec.initialDelaySeconds ?? 0) * 1000 || at - st.last < period)
          continue;
        st.running = true;
        st.last = at;
        void this.runProbe(rt, spec)
          .then((ok) => {
            if (ok) {
              st.ok++;
              st.fail = 0;
            } else {
              st.fail++;
              st.ok = 0;
            }
            const threshold = spec.failureThreshold ?? 3;
            if (kind === "readiness") {
              if (ok && st.ok >= (spec.successThreshold ?? 1)) rt.ready = true;
              if (!ok && st.fail >= threshold) rt.ready = false;
            } else if (kind === "startup" && ok) rt.started = true;
            else if (!ok && st.fail >= threshold && rt.child) {
              this.log(`container ${rt.spec.name}: ${kind} probe failed ${st.fail} times; killing it`);
              void this.killContainer(rt, spec.terminationGracePeriodSeconds ?? this.grace());
            }
          })
          .finally(() => {
            st.running = false;
            this.k.kick();
          });
      }
    }
  }

  private port(rt: ContainerRt, port: number | string): number {
    if (typeof port === "number") return port;
    const named = ((rt.spec.ports ?? []) as Obj[]).find((p) => p.name === port);
    return named ? named.containerPort : Number(port);
  }

  private async runProbe(rt: ContainerRt, spec: Obj): Promise<boolean> {
    const timeoutMs = (spec.timeoutSeconds ?? 1) * 1000;
    const ip = this.attach!.ip;
    try {
      if (spec.httpGet) {
        const h = spec.httpGet;
        const code = await httpGetStatus(
          (h.scheme ?? "HTTP").toLowerCase(),
          h.host ?? ip,
          this.port(rt, h.port),
          h.path ?? "/",
          timeoutMs,
        );
        return code >= 200 && code < 400;
      }
      if (spec.tcpSocket)
        return await tcpOpen(spec.tcpSocket.host ?? ip, this.port(rt, spec.tcpSocket.port), timeoutMs);
      if (spec.exec?.command) {
        const env = this.env.get(rt.spec.name) ?? {};
        const argv = this.wrap(rt.spec, env, spec.exec.command);
        return (await runQuiet(argv, Math.max(timeoutMs, 1000))) === 0;
      }
    } catch {
      return false;
    }
    return true;
  }

  // ------------------------------------------------------------------ deletion

  private grace(): number {
    return this.pod.metadata.deletionGracePeriodSeconds ?? this.spec.terminationGracePeriodSeconds ?? 30;
  }

  private async killContainer(rt: ContainerRt, graceSeconds: number): Promise<void> {
    const pid = rt.pid;
    if (!pid || rt.killing) return;
    rt.killing = true;
    signal(pid, "SIGTERM");
    const deadline = Date.now() + graceSeconds * 1000;
    while (rt.pid === pid && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (rt.pid === pid) signal(pid, "SIGKILL");
  }

  /** SIGTERM to every container, SIGKILL after the grace period, then the Pod deleted with grace 0. */
  terminate(): Promise<void> {
    this.terminating ??= (async () => {
      const grace = this.grace();
      this.log(`terminating (grace ${grace} s)`);
      await this.starting?.catch(() => {});
      const running = [...this.initContainers, ...this.containers.values()].filter((r) => r.pid);
      await Promise.all(running.map((r) => this.killContainer(r, grace)));
      if (this.attach) await this.k.net.removePod(this.attach.netns);
      for (const rt of [...this.initContainers, ...this.containers.values()]) {
        rt.ready = false;
        if (!("terminated" in rt.state))
          rt.state = { terminated: { exitCode: 137, reason: "ContainerStatusUnknown", finishedAt: now() } };
      }
      if (this.phase === "Pending" || this.phase === "Running") {
        const all = [...this.containers.values()];
        const clean = all.every((r) => "terminated" in r.state && r.state.terminated.exitCode === 0);
        this.phase = clean ? "Succeeded" : "Failed";
      }
      await this.pushStatus().catch(() => {});
      const r = await this.k.nodeApi.raw("DELETE", `/api/v1/namespaces/${this.ns}/pods/${this.name}`, {
        apiVersion: "v1",
        kind: "DeleteOptions",
        gracePeriodSeconds: 0,
        preconditions: { uid: this.uid },
      });
      if (r.code >= 300 && r.code !== 404 && r.code !== 409)
        this.log(`delete with grace 0: ${r.code} ${r.body?.message ?? ""}`);
      this.done = true;
      rmSync(this.dir, { recursive: true, force: true });
      this.log("terminated and deleted");
    })();
    return this.terminating;
  }

  /** The pod is gone from the API server: stop everything at once. */
  async abandon(): Promise<void> {
    this.done = true;
    for (const rt of [...this.initContainers, ...this.containers.values()]) if (rt.pid) signal(rt.pid, "SIGKILL");
    if (this.attach) await this.k.net.removePod(this.attach.netns);
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------ status

  private condition(type: string, ok: boolean, reason?: string): Obj {
    const status = ok ? "True" : "False";
    const prev = this.transitions.get(type);
    if (!prev || prev.status !== status) this.transitions.set(type, { status, at: now() });
    return {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: this.transitions.get(type)!.at,
      ...(reason && !ok ? { reason } : {}),
    };
  }

  private containerStatus(rt: ContainerRt): Obj {
    return {
      name: rt.spec.name,
      image: rt.spec.image,
      imageID: "",
      ...(rt.pid ? { containerID: `tusk-process://${rt.pid}` } : {}),
      ready: rt.ready,
      started: rt.init ? undefined : Boolean(rt.child) && rt.started,
      restartCount: rt.restartCount,
      state: rt.state,
      lastState: rt.lastState ?? {},
    };
  }

  async pushStatus(): Promise<void> {
    const containers = [...this.containers.values()];
    const ready = this.phase === "Running" && containers.every((r) => r.ready);
    const terminal = this.phase === "Succeeded" || this.phase === "Failed";
    const status: Obj = {
      phase: this.phase,
      hostIP: this.k.net.gateway,
      hostIPs: [{ ip: this.k.net.gateway }],
      startTime: this.startTime,
      conditions: [
        this.condition("PodReadyToStartContainers", Boolean(this.attach) && !terminal),
        this.condition("Initialized", this.initDone, "ContainersNotInitialized"),
        this.condition("Ready", ready, terminal ? "PodCompleted" : "ContainersNotReady"),
        this.condition("ContainersReady", ready, terminal ? "PodCompleted" : "ContainersNotReady"),
        this.condition("PodScheduled", true),
      ],
      ...(this.attach ? { podIP: this.attach.ip, podIPs: [{ ip: this.attach.ip }] } : {}),
      ...(this.initContainers.length
        ? { initContainerStatuses: this.initContainers.map((r) => this.containerStatus(r)) }
        : {}),
      containerStatuses: containers.map((r) => this.containerStatus(r)),
      qosClass: this.pod.status?.qosClass,
    };
    const text = JSON.stringify(status);
    if (text === this.sentStatus) return;
    await this.k.nodeApi.mergePatch(`/api/v1/namespaces/${this.ns}/pods/${this.name}/status`, { status });
    this.sentStatus = text;
  }
}

const osSignals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGABRT: 6 };

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {}
}

function tailOf(file: string, lines: number): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

function httpGetStatus(scheme: string, host: string, port: number, path: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = (scheme === "https" ? httpsRequest : httpRequest)(
      { host, port, path, method: "GET", timeout: timeoutMs, rejectUnauthorized: false },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
    req.end();
  });
}

function tcpOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: timeoutMs });
    s.on("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.on("timeout", () => {
      s.destroy();
      resolve(false);
    });
    s.on("error", () => resolve(false));
  });
}

function runQuiet(argv: string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, killSignal: "SIGKILL" }, (err) => {
      resolve(err ? (typeof (err as any).code === "number" ? (err as any).code : 1) : 0);
    });
  });
}

export class Kubelet {
  readonly nodeApi: Api;
  readonly schedulerApi: Api;
  readonly provisionerApi: Api;
  readonly services?: ServiceProxy;
  readonly net: PodNetwork;
  readonly accounts = accounts();
  readonly mountpointsRecord: string;
  private readonly workers = new Map<string, PodWorker>();
  private stopped = false;
  private wake?: () => void;
  private lastLease = 0;
  private lastNodeStatus = 0;
  private nodeUid?: string;

  constructor(
    readonly cfg: KubeletConfig,
    readonly log: (m: string) => void = (m) => console.log(`${new Date().toISOString()} ${m}`),
  ) {
    this.nodeApi = new Api(cfg.server, cfg.caFile, cfg.tokens.node, `node ${cfg.nodeName}`);
    this.schedulerApi = new Api(cfg.server, cfg.caFile, cfg.tokens.scheduler, "scheduler");
    this.provisionerApi = new Api(cfg.server, cfg.caFile, cfg.tokens.provisioner, "provisioner");
    this.net = PodNetwork.open(cfg.stateDir);
    if (cfg.tokens.proxy && this.net.state.serviceCidr)
      this.services = new ServiceProxy(
        new Api(cfg.server, cfg.caFile, cfg.tokens.proxy, "proxy"),
        this.net,
        { host: cfg.apiHost, port: cfg.apiPort },
        (m) => this.log(m),
      );
    this.mountpointsRecord = join(cfg.stateDir, "kubelet-mountpoints.txt");
  }

  /** Something changed (a container exited, a probe ended): run a tick soon. */
  kick(): void {
    this.wake?.();
  }

  async run(): Promise<void> {
    await this.register();
    while (!this.stopped) {
      try {
        await this.tick();
      } catch (e) {
        this.log(`tick: ${(e as Error).message}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, 1000);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = undefined;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.kick();
    await this.services?.close();
    await Promise.all([...this.workers.values()].map((w) => w.abandon().catch(() => {})));
  }

  // ------------------------------------------------------------------ node

  private async register(): Promise<void> {
    const name = this.cfg.nodeName;
    const r = await this.nodeApi.raw("POST", "/api/v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        labels: {
          "kubernetes.io/hostname": name,
          "kubernetes.io/os": "linux",
          "kubernetes.io/arch": process.arch === "x64" ? "amd64" : process.arch,
        },
      },
      spec: { podCIDR: `${this.net.state.prefix}.0/24`, podCIDRs: [`${this.net.state.prefix}.0/24`] },
    });
    if (r.code >= 300 && r.code !== 409) throw new ApiError(r.code, r.body, "register node");
    this.nodeUid = (await this.nodeApi.get(`/api/v1/nodes/${name}`)).metadata.uid;
    await this.services?.sync();
    await this.nodeStatus();
    await this.renewLease();
    this.log(
      `node ${name} registered (pods on ${this.net.state.prefix}.0/24, API server for pods at ${this.cfg.apiHost}:${this.cfg.apiPort})`,
    );
  }

  private async nodeStatus(): Promise<void> {
    const t = now();
    const cond = (type: string, status: string, reason: string) => ({
      type,
      status,
      reason,
      lastHeartbeatTime: t,
      lastTransitionTime: t,
    });
    const capacity = { cpu: "2", memory: "4Gi", pods: "110", "ephemeral-storage": "20Gi" };
    await this.nodeApi.mergePatch(`/api/v1/nodes/${this.cfg.nodeName}/status`, {
      status: {
        conditions: [
          cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
          cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
          cond("PIDPressure", "False", "KubeletHasSufficientPID"),
          cond("Ready", "True", "KubeletReady"),
        ],
        addresses: [
          { type: "InternalIP", address: this.net.gateway },
          { type: "Hostname", address: this.cfg.nodeName },
        ],
        capacity,
        allocatable: capacity,
        daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
        nodeInfo: {
          machineID: "",
          systemUUID: "",
          bootID: "",
          kernelVersion: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
          osImage: "tusk test kubelet",
          containerRuntimeVersion: "tusk-process://1",
          kubeletVersion: this.cfg.kubeletVersion ?? "v1.37.2",
          kubeProxyVersion: "",
          operatingSystem: "linux",
          architecture: process.arch === "x64" ? "amd64" : process.arch,
        },
      },
    });
    this.lastNodeStatus = Date.now();
  }

  private async renewLease(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.cfg.nodeName}`;
    const spec = { holderIdentity: this.cfg.nodeName, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime() };
    const existing = await this.nodeApi.find(path);
    if (existing) await this.nodeApi.call("PUT", path, { ...existing, spec: { ...existing.spec, ...spec } });
    else
      await this.nodeApi.call("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          name: this.cfg.nodeName,
          namespace: "kube-node-lease",
          ownerReferences: [{ apiVersion: "v1", kind: "Node", name: this.cfg.nodeName, uid: this.nodeUid }],
        },
        spec,
      });
    this.lastLease = Date.now();
  }

  // ------------------------------------------------------------------ loop

  private async tick(): Promise<void> {
    if (Date.now() - this.lastLease > 10_000) await this.renewLease();
    if (Date.now() - this.lastNodeStatus > 60_000) await this.nodeStatus();
    await this.services?.sync();
    for (const w of this.workers.values()) w.writeHosts();
    await this.schedule();
    await this.syncPods();
    await this.reclaimVolumes();
  }

  private async syncPods(): Promise<void> {
    const list = await this.nodeApi.get(`/api/v1/pods?fieldSelector=spec.nodeName%3D${this.cfg.nodeName}`);
    const seen = new Set<string>();
    for (const pod of list.items as Obj[]) {
      const uid = pod.metadata.uid as string;
      seen.add(uid);
      let w = this.workers.get(uid);
      const terminal = pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
      if (!w) {
        if (terminal && !pod.metadata.deletionTimestamp) continue; // finished before this kubelet started
        w = new PodWorker(this, pod);
        this.workers.set(uid, w);
        if (pod.metadata.deletionTimestamp) {
          void w.terminate();
          continue;
        }
        this.log(`${w.key}: admitted`);
        w.starting = w.start().catch((e) => {
          w!.error = (e as Error).message;
          this.log(`${w!.key}: start failed: ${(e as Error).stack}`);
        });
        continue;
      }
      w.pod = pod;
      if (pod.metadata.deletionTimestamp) {
        void w.terminate();
        continue;
      }
      if (w.done) continue;
      await w.step().catch((e) => this.log(`${w!.key}: ${(e as Error).message}`));
    }
    for (const [uid, w] of this.workers)
      if (!seen.has(uid)) {
        if (!w.done) await w.abandon();
        this.workers.delete(uid);
      }
  }

  // ------------------------------------------------------------------ scheduling and volumes

  /** Binds Pending pods that name no node, once their claims are Bound. */
  private async schedule(): Promise<void> {
    const list = await this.schedulerApi.get("/api/v1/pods?fieldSelector=spec.nodeName%3D,status.phase%3DPending");
    if (!list.items.length) return;
    let allowed: Set<string> | undefined;
    if (this.cfg.namespaceSelector) {
      const nss = await this.schedulerApi.get(
        `/api/v1/namespaces?labelSelector=${encodeURIComponent(this.cfg.namespaceSelector)}`,
      );
      allowed = new Set((nss.items as Obj[]).map((n) => n.metadata.name as string));
    }
    for (const pod of list.items as Obj[]) {
      if (pod.metadata.deletionTimestamp) continue;
      if (allowed && !allowed.has(pod.metadata.namespace)) continue;
      if ((pod.spec.schedulerName ?? "default-scheduler") !== "default-scheduler") continue;
      const ns = pod.metadata.namespace;
      let ready = true;
      for (const v of (pod.spec.volumes ?? []) as Obj[]) {
        const claimName = v.persistentVolumeClaim?.claimName;
        if (!claimName) continue;
        const claim = await this.schedulerApi.find(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${claimName}`);
        if (!claim || claim.metadata.deletionTimestamp) {
          ready = false;
          continue;
        }
        if (claim.status?.phase === "Bound") continue;
        ready = false;
        if (!claim.spec.volumeName) await this.provision(claim);
      }
      if (!ready) continue;
      const r = await this.schedulerApi.raw("POST", `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}/binding`, {
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name: pod.metadata.name, namespace: ns, uid: pod.metadata.uid },
        target: { apiVersion: "v1", kind: "Node", name: this.cfg.nodeName },
      });
      if (r.code < 300) this.log(`${ns}/${pod.metadata.name}: bound to ${this.cfg.nodeName}`);
      else if (r.code !== 409) this.log(`${ns}/${pod.metadata.name}: binding refused: ${r.code} ${r.body?.message}`);
    }
  }

  private volumesDir(): string {
    return join(this.cfg.stateDir, "volumes");
  }

  /** A local PersistentVolume on this node, pre-bound to the claim; the PV controller binds the pair. */
  private async provision(claim: Obj): Promise<void> {
    const name = `pvc-${claim.metadata.uid}`;
    if (await this.provisionerApi.find(`/api/v1/persistentvolumes/${name}`)) return;
    const path = join(this.volumesDir(), name);
    mkdirSync(path, { recursive: true });
    chmodSync(path, 0o777);
    const r = await this.provisionerApi.raw("POST", "/api/v1/persistentvolumes", {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: {
        name,
        labels: { "tusk.dev/test-kubelet": this.cfg.nodeName },
        annotations: { "pv.kubernetes.io/provisioned-by": "tusk-test-kubelet" },
      },
      spec: {
        capacity: { storage: claim.spec.resources?.requests?.storage ?? "1Gi" },
        accessModes: claim.spec.accessModes ?? ["ReadWriteOnce"],
        volumeMode: claim.spec.volumeMode ?? "Filesystem",
        storageClassName: claim.spec.storageClassName ?? "",
        persistentVolumeReclaimPolicy: "Retain",
        claimRef: {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          namespace: claim.metadata.namespace,
          name: claim.metadata.name,
          uid: claim.metadata.uid,
        },
        local: { path },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [this.cfg.nodeName] }] },
            ],
          },
        },
      },
    });
    if (r.code < 300) this.log(`PersistentVolume ${name} for claim ${claim.metadata.namespace}/${claim.metadata.name}`);
    else if (r.code !== 409) this.log(`PersistentVolume ${name}: ${r.code} ${r.body?.message}`);
  }

  private lastReclaim = 0;

  /** Volumes this kubelet made whose claim is gone: deleted, with their directory. */
  private async reclaimVolumes(): Promise<void> {
    if (Date.now() - this.lastReclaim < 10_000) return;
    this.lastReclaim = Date.now();
    const list = await this.provisionerApi.get(
      `/api/v1/persistentvolumes?labelSelector=tusk.dev%2Ftest-kubelet%3D${this.cfg.nodeName}`,
    );
    for (const pv of list.items as Obj[]) {
      if (pv.status?.phase !== "Released") continue;
      const r = await this.provisionerApi.raw("DELETE", `/api/v1/persistentvolumes/${pv.metadata.name}`);
      if (r.code < 300 || r.code === 404) {
        const path = pv.spec?.local?.path;
        if (path?.startsWith(this.volumesDir())) rmSync(path, { recursive: true, force: true });
        this.log(`PersistentVolume ${pv.metadata.name} released and deleted`);
      }
    }
  }

  /** Volumes of an earlier run (their PersistentVolume objects went with that run's etcd). */
  static clearState(stateDir: string): void {
    for (const d of ["volumes", "pods"]) rmSync(join(stateDir, d), { recursive: true, force: true });
  }
}
