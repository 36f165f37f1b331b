/**
 * A bucket in memory for the repository reader's tests, and the objects of an S3 repo at
 * /pgbackrest/repo1 holding the real info files pgBackRest 2.45 wrote.
 */
import type { RepoObjectReader } from "../../../shared/pgbackrest/repo-read.ts";
import { real } from "../backup/fixtures.ts";

/** A bucket in memory, holding the real info files of an S3 repo at /pgbackrest/repo1. */
export function bucket(
  objects: Record<string, { text?: string; lastModified?: string }>,
): RepoObjectReader & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async getText(key) {
      reads.push(`get ${key}`);
      return objects[key]?.text;
    },
    async list(prefix) {
      reads.push(`list ${prefix}`);
      const below = Object.keys(objects).filter((k) => k.startsWith(prefix));
      const prefixes = [
        ...new Set(
          below
            .map((k) => k.slice(prefix.length))
            .filter((r) => r.includes("/"))
            .map((r) => `${prefix}${r.split("/")[0]}/`),
        ),
      ];
      const files = below
        .filter((k) => !k.slice(prefix.length).includes("/"))
        .map((key) => ({ key, ...(objects[key]!.lastModified ? { lastModified: objects[key]!.lastModified } : {}) }));
      return { objects: files, prefixes };
    },
  };
}

export const ROOT = "pgbackrest/repo1/";
const WAL = `${ROOT}archive/db/15-1/0000000100000000/`;
export const REPO = {
  [`${ROOT}backup/db/backup.info`]: { text: real("backup.info") },
  [`${ROOT}archive/db/archive.info`]: { text: real("archive.info") },
  [`${WAL}000000010000000000000001-45d2f9ffcff0e8af04d8799307ba01f8d7bf8d28.lz4`]: {
    lastModified: "2026-11-22T22:33:10Z",
  },
  [`${WAL}000000010000000000000002.00000028.backup`]: { lastModified: "2026-11-22T22:33:41Z" },
  [`${WAL}000000010000000000000004-706e6279c8b66052e5282ac810ab9766574e69d6.lz4`]: {
    lastModified: "2026-11-22T23:10:00Z",
  },
  [`${WAL}000000010000000000000003-806e6279c8b66052e5282ac810ab9766574e69d6.lz4`]: {
    lastModified: "2026-11-22T23:00:00Z",
  },
  [`${ROOT}archive/db/15-1/0000000100000000/../x`]: {},
};
