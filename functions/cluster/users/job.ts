/**
 * @module
 * The users Job: psql as the superuser against `<cluster>-primary` (TLS verify-full) applying
 * the SQL of users/sql.ts; named by that SQL, so it runs again only when the SQL changes.
 */
import type { V1Job } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { names } from "../../../shared/names.ts";
import { caVolume, internalEnv, job } from "../objects/job.ts";
import { INTERNAL_KEYS } from "./internal-secret.ts";

const TLS_MOUNT = "/etc/tusk/tls";
const USERS_MOUNT = "/etc/tusk/users";

/** Creates and updates roles and databases; named by the SQL it applies. */
export function buildUsersJob(model: ClusterModel, sql: string): V1Job {
  const host = `${names.primaryService(model.name)}.${model.namespace}.svc`;
  return job(
    model,
    (hash) => names.usersJob(model.name, hash),
    {
      component: "users",
      command: ["psql", "--no-psqlrc", "--set=ON_ERROR_STOP=1", `--file=${USERS_MOUNT}/users.sql`],
      env: [
        { name: "PGHOST", value: host },
        { name: "PGPORT", value: String(model.port) },
        { name: "PGDATABASE", value: "postgres" },
        { name: "PGSSLMODE", value: "verify-full" },
        { name: "PGSSLROOTCERT", value: `${TLS_MOUNT}/ca.crt` },
        { name: "PGCONNECT_TIMEOUT", value: "10" },
        internalEnv(model, "PGUSER", INTERNAL_KEYS.superuserUsername),
        internalEnv(model, "PGPASSWORD", INTERNAL_KEYS.superuserPassword),
      ],
      volumes: [
        caVolume(model),
        { name: "users", secret: { secretName: names.usersSqlSecret(model.name), defaultMode: 0o440 } },
      ],
      mounts: [
        { name: "ca", mountPath: TLS_MOUNT, readOnly: true },
        { name: "users", mountPath: USERS_MOUNT, readOnly: true },
      ],
    },
    sql,
  );
}
