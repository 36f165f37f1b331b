/**
 * @module
 * What the scheduler needs from Kubernetes, as a small interface: create, list and delete
 * PostgresBackups in a namespace. kube.ts implements it with @kubernetes/client-node; tests
 * use a fake.
 */

/** A PostgresBackup as the scheduler creates it. */
export interface PostgresBackupObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: { cluster: string; repoName: string; type: string };
}

/** A listed PostgresBackup: what pruning needs. */
export interface ListedBackup {
  name: string;
  creationTimestamp?: string;
  phase?: string;
}

export interface BackupStore {
  /** "exists" when an object with that name is already there (a duplicate event). */
  create(namespace: string, backup: PostgresBackupObject): Promise<"created" | "exists">;
  list(namespace: string, labelSelector: string): Promise<ListedBackup[]>;
  /** Deleting an object that is already gone succeeds. */
  delete(namespace: string, name: string): Promise<void>;
}

/** A Kubernetes API error with its HTTP status. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
