/**
 * @module
 * Everything `spec.proxy.pgBouncer` adds to a cluster, for sync.ts: the Deployment, Service,
 * PodDisruptionBudget, ConfigMap and Secret, the SQL the users Job appends (auth_user and
 * lookup function), and the settings that were ignored. Without `proxy.pgBouncer` it adds
 * nothing, so removing the proxy removes every pgBouncer child (Metacontroller deletes what a
 * sync no longer returns). The client-facing certificate is issued with the cluster's other
 * certificates (users/secrets.ts).
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { ANNOTATION } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import type { ClusterDeps } from "../deps.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import { buildPgBouncerConfigMap, pgbouncerIni, pgbouncerSpec } from "./configmap.ts";
import { buildPgBouncerDeployment } from "./deployment.ts";
import { buildPgBouncerPdb } from "./pdb.ts";
import { pgbouncerSecret } from "./secret.ts";
import { buildPgBouncerService } from "./service.ts";
import { pgbouncerSql } from "./sql.ts";

export interface PgBouncerParts {
  children: object[];
  /** Lines for the end of the users SQL. */
  sql: string[];
  ignored: string[];
}

/**
 * `tls` are the cluster's certificate Secrets (users/secrets.ts tlsSecrets): a renewed certificate
 * restarts pgBouncer, which reads its files only at start.
 */
export async function pgbouncerChildren(
  model: ClusterModel,
  observed: ObservedCluster,
  deps: ClusterDeps,
  tls: V1Secret[],
): Promise<PgBouncerParts> {
  if (!pgbouncerSpec(model)) return { children: [], sql: [], ignored: [] };
  const { ini, ignored } = pgbouncerIni(model);
  const { secret, credentials } = await pgbouncerSecret(model, observed, deps);
  const pdb = buildPgBouncerPdb(model);
  return {
    children: [
      buildPgBouncerConfigMap(model, ini),
      secret,
      buildPgBouncerDeployment(model, ini, certificateFingerprint(model, tls)),
      buildPgBouncerService(model),
      ...(pdb ? [pdb] : []),
    ],
    sql: pgbouncerSql(model, credentials),
    ignored,
  };
}

/**
 * Which certificates pgBouncer reads: the Secrets' replaced-certificate annotations, set when
 * a certificate is renewed or reissued (tls/renewal.ts). Never the PEM itself, which is random
 * on every fresh start and would make the first Deployment differ from run to run.
 */
function certificateFingerprint(model: ClusterModel, tls: V1Secret[]): unknown {
  const replaced = (name: string) =>
    tls.find((s) => s.metadata?.name === name)?.metadata?.annotations?.[ANNOTATION.replacedCertificate] ?? null;
  return {
    client: replaced(names.pgbouncerCertSecret(model.name)),
    server: replaced(names.serverCertSecret(model.name)),
  };
}
