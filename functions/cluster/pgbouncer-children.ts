/**
 * @module
 * Everything `spec.proxy.pgBouncer` adds to a cluster, for sync.ts: the Deployment, Service,
 * PodDisruptionBudget, ConfigMap and Secret, the SQL the users Job appends (auth_user and
 * lookup function), and the settings that were ignored. Without `proxy.pgBouncer` it adds
 * nothing, so removing the proxy removes every pgBouncer child (Metacontroller deletes what a
 * sync no longer returns). The client-facing certificate is issued with the cluster's other
 * certificates (secret.ts).
 */
import type { ObjectMap } from "../../shared/metacontroller.ts";
import type { ClusterModel } from "./model.ts";
import { buildPgBouncerConfigMap, pgbouncerIni, pgbouncerSpec } from "./pgbouncer-configmap.ts";
import { buildPgBouncerDeployment } from "./pgbouncer-deployment.ts";
import { buildPgBouncerPdb } from "./pgbouncer-pdb.ts";
import { pgbouncerSecret } from "./pgbouncer-secret.ts";
import { buildPgBouncerService } from "./pgbouncer-service.ts";
import { pgbouncerSql } from "./pgbouncer-sql.ts";
import type { ClusterDeps } from "./secret.ts";

export interface PgBouncerParts {
  children: object[];
  /** Lines for the end of the users SQL. */
  sql: string[];
  ignored: string[];
}

export async function pgbouncerChildren(
  model: ClusterModel,
  children: ObjectMap,
  deps: ClusterDeps,
): Promise<PgBouncerParts> {
  if (!pgbouncerSpec(model)) return { children: [], sql: [], ignored: [] };
  const { ini, ignored } = pgbouncerIni(model);
  const { secret, credentials } = await pgbouncerSecret(model, children, deps);
  const pdb = buildPgBouncerPdb(model);
  return {
    children: [
      buildPgBouncerConfigMap(model, ini),
      secret,
      buildPgBouncerDeployment(model, ini),
      buildPgBouncerService(model),
      ...(pdb ? [pdb] : []),
    ],
    sql: pgbouncerSql(model, credentials),
    ignored,
  };
}
