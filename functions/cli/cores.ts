/**
 * @module
 * The hook cores the CLI runs, loaded on first use. The CLI never re-implements a hook: it
 * builds the request Metacontroller would send and calls the same pure function the HTTP route
 * calls. A core that is not in this checkout yet (the backup and restore hooks land
 * separately) is reported as such, with exit code 2, instead of failing at start-up for every
 * command.
 */
import type { CustomizeRequest, CustomizeResponse, SyncRequest, SyncResponse } from "../../shared/metacontroller.ts";
import { CliError } from "./errors.ts";

/** What every core may be given: a CSPRNG and a clock, used only for absent Secrets. */
export interface CoreDeps {
  randomBytes(n: number): Uint8Array;
  now(): Date;
}

export type SyncCore = (request: SyncRequest, deps: CoreDeps) => Promise<SyncResponse> | SyncResponse;

export type ParentKind = "PostgresCluster" | "PostgresBackup" | "PostgresRestore";

interface CoreLocation {
  /** Relative to this file. */
  module: string;
  /** The export the hook's app.ts wires to POST /<function>/sync. */
  exportName: string;
  /** Who is writing it, for the message when it is missing. */
  issue: string;
}

export const SYNC_CORES: Record<ParentKind, CoreLocation> = {
  PostgresCluster: { module: "../cluster/sync.ts", exportName: "syncCluster", issue: "the cluster hook (issue 3)" },
  PostgresBackup: { module: "../backup/sync.ts", exportName: "syncBackup", issue: "the backup hook (issue 5)" },
  PostgresRestore: { module: "../restore/sync.ts", exportName: "syncRestore", issue: "the restore hook (issue 6)" },
};

/** The repository path of a core, e.g. `functions/backup/sync.ts`. */
export function corePath(kind: ParentKind): string {
  return `functions/${SYNC_CORES[kind].module.replace(/^\.\.\//, "")}`;
}

/** Whether loading `module` failed because that very file is absent (not one it imports). */
function notFound(error: unknown, module: string): boolean {
  const message = error instanceof Error ? error.message : String(error);
  const file = module.replace(/^\.\.\//, "");
  return (
    /Module not found|Cannot find module|Failed to load url|does not exist/i.test(message) && message.includes(file)
  );
}

const loaded = new Map<ParentKind, SyncCore>();

export async function loadSyncCore(kind: ParentKind): Promise<SyncCore> {
  const cached = loaded.get(kind);
  if (cached) return cached;
  const where = SYNC_CORES[kind];
  const path = corePath(kind);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(new URL(where.module, import.meta.url).href)) as Record<string, unknown>;
  } catch (error) {
    if (notFound(error, where.module)) {
      throw new CliError(
        `cannot render a ${kind} yet: ${where.issue} is not in this checkout (${path} is missing); update Tusk and try again`,
        2,
      );
    }
    const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new CliError(`cannot render a ${kind}: ${path} failed to load: ${why}`, 2);
  }
  const fn = mod[where.exportName];
  if (typeof fn !== "function") {
    throw new CliError(
      `cannot render a ${kind} yet: ${path} has no ${where.exportName}() export (${where.issue} is unfinished)`,
      2,
    );
  }
  const core = fn as SyncCore;
  loaded.set(kind, core);
  return core;
}

export type CustomizeCore = (request: CustomizeRequest) => CustomizeResponse | Promise<CustomizeResponse>;

export const CUSTOMIZE_CORES: Record<ParentKind, { module: string; exportName: string }> = {
  PostgresCluster: { module: "../cluster/customize.ts", exportName: "customizeCluster" },
  PostgresBackup: { module: "../backup/customize.ts", exportName: "customizeBackup" },
  PostgresRestore: { module: "../restore/customize.ts", exportName: "customizeRestore" },
};

/**
 * The customize hook of a kind, or undefined when there is none yet: then the sync hook is
 * called without related objects, as Metacontroller does for a controller without one.
 */
export async function loadCustomizeCore(kind: ParentKind): Promise<CustomizeCore | undefined> {
  const where = CUSTOMIZE_CORES[kind];
  try {
    const mod = (await import(new URL(where.module, import.meta.url).href)) as Record<string, unknown>;
    const fn = mod[where.exportName];
    return typeof fn === "function" ? (fn as CustomizeCore) : undefined;
  } catch (error) {
    if (notFound(error, where.module)) return undefined;
    const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new CliError(
      `cannot render a ${kind}: ${where.module.replace(/^\.\.\//, "functions/")} failed to load: ${why}`,
      2,
    );
  }
}
