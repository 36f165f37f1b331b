/**
 * @module
 * The Postgres reload a replaced server certificate needs.
 *
 * PostgreSQL reads ssl_cert_file, ssl_key_file and ssl_ca_file at start and on reload
 * (SIGHUP, since PostgreSQL 10); Patroni neither watches the files nor reloads by itself (it
 * reloads Postgres when its own configuration changes or on POST /reload). A restart is not
 * needed, so no hash of the certificate goes into the pod template (which would restart every
 * pod). Instead, when the hook replaces an observed server certificate (renewal, or new DNS
 * names), the new Secret carries the annotation `postgres.tusk.dev/replaced-certificate` (a
 * hash of the certificate it replaced), kept while that certificate stays. While it is there,
 * a reload Job named by a hash of the new certificate runs once every instance is ready: for
 * each instance it waits until the kubelet has put the new certificate on that pod's disk (it
 * compares pg_read_file(ssl_cert_file) with the Secret's tls.crt; a projected Secret volume is
 * updated within a minute or two), then calls pg_reload_conf(). A certificate issued with a new
 * cluster (no observed one) needs no reload: the pods start with it. The replication and
 * pgBackRest client certificates are read by libpq and pgBackRest at each connection, so they
 * need none either. A user's customTLSSecret is not the hook's: rotating it is the user's
 * business, reload included.
 */
import type { V1Job, V1Secret } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { ANNOTATION } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { caVolume, internalEnv, job } from "../objects/job.ts";
import { INTERNAL_KEYS } from "../users/internal-secret.ts";

const CA_MOUNT = "/etc/tusk/tls";
const MAX_TRIES = 60;
const RETRY_SECONDS = 10;

/**
 * For each host in $MEMBERS: wait ($TRIES checks, $RETRY_SECONDS apart) until its Postgres
 * reads the Secret's certificate from ssl_cert_file, then reload it. Every value comes from the
 * environment, never from the script text.
 */
export const RELOAD_SCRIPT = [
  "set -u",
  "err=$(mktemp)",
  "for host in $MEMBERS; do",
  "  tries=0",
  `  until [ "$(printf '%s\\n' "SELECT pg_catalog.pg_read_file(pg_catalog.current_setting('ssl_cert_file')) = :'expected';" | psql --no-psqlrc --quiet --tuples-only --no-align --host="$host" --set=expected="$EXPECTED_CERT" --file=- 2>"$err")" = t ]; do`,
  "    tries=$((tries + 1))",
  '    if [ "$tries" -ge "$TRIES" ]; then echo "$host: the new server certificate is not on its disk after $tries checks: $(cat "$err")" >&2; exit 1; fi',
  '    sleep "$RETRY_SECONDS"',
  "  done",
  `  psql --no-psqlrc --quiet --tuples-only --no-align --host="$host" --set=ON_ERROR_STOP=1 --command="SELECT pg_catalog.pg_reload_conf()" >/dev/null || exit 1`,
  '  echo "$host: reloaded"',
  "done",
].join("\n");

/**
 * The reload Job while the server certificate Secret being emitted says it replaced one (see
 * the module comment); undefined otherwise. Named by a hash of the new certificate, so each
 * replacement reloads once.
 */
export function buildTlsReloadJob(model: ClusterModel, secrets: V1Secret[]): V1Job | undefined {
  if (model.spec.customTLSSecret) return undefined;
  const name = names.serverCertSecret(model.name);
  const server = secrets.find((s) => s.metadata?.name === name);
  const replaced = server?.metadata?.annotations?.[ANNOTATION.replacedCertificate];
  const certificate = server?.data?.["tls.crt"];
  if (!replaced || !certificate) return undefined;
  const domain = `${names.podsService(model.name)}.${model.namespace}.svc`;
  return job(
    model,
    (hash) => names.tlsReloadJob(model.name, hash),
    {
      component: "tls-reload",
      command: ["sh", "-c", RELOAD_SCRIPT],
      env: [
        { name: "MEMBERS", value: model.instances.map((i) => `${i.pod}.${domain}`).join(" ") },
        // A projected Secret reaches the pods within a minute or two; give it ten.
        { name: "TRIES", value: String(MAX_TRIES) },
        { name: "RETRY_SECONDS", value: String(RETRY_SECONDS) },
        { name: "EXPECTED_CERT", valueFrom: { secretKeyRef: { name, key: "tls.crt" } } },
        { name: "PGPORT", value: String(model.port) },
        { name: "PGDATABASE", value: "postgres" },
        { name: "PGSSLMODE", value: "verify-full" },
        { name: "PGSSLROOTCERT", value: `${CA_MOUNT}/ca.crt` },
        { name: "PGCONNECT_TIMEOUT", value: "10" },
        internalEnv(model, "PGUSER", INTERNAL_KEYS.superuserUsername),
        internalEnv(model, "PGPASSWORD", INTERNAL_KEYS.superuserPassword),
      ],
      volumes: [caVolume(model)],
      mounts: [{ name: "ca", mountPath: CA_MOUNT, readOnly: true }],
    },
    { certificate },
  );
}
