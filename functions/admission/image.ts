/**
 * @module
 * Which PostgreSQL major a custom image runs, read from its tag. Conservative: only tag shapes
 * that clearly name a major count (`17`, `17.5-bookworm`, `postgres-16`, `pg16`, Percona's
 * `ppg18`, Crunchy's `ubi9-17.5-2520`); anything else is "unknown", never a refusal.
 */

export type ImageMajor = { major: number } | { unknown: string } | { ambiguous: number[] };

const PATTERNS = [
  /^(\d{2})(?=$|[.\-_])/g,
  /(?:^|[^a-z0-9])(?:ppg|pg|postgres|postgresql)[-_]?(\d{2})(?=$|[^0-9])/gi,
  /(?:^|[^a-z0-9])(?:ubi|centos|rhel|el)\d+-(\d{2})(?=$|[.-])/gi,
];

/** The tag of an image reference (after the last ':' that follows the last '/'), digest removed. */
export function imageTag(image: string): string | undefined {
  const noDigest = image.split("@")[0] ?? "";
  const lastSlash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > lastSlash ? noDigest.slice(colon + 1) : undefined;
}

export function imageMajor(image: string): ImageMajor {
  const tag = imageTag(image);
  if (!tag) return { unknown: "it has no tag" };
  const found = new Set<number>();
  for (const pattern of PATTERNS) {
    for (const m of tag.matchAll(pattern)) {
      const major = Number(m[1]);
      if (major >= 10 && major <= 40) found.add(major);
    }
  }
  if (found.size === 0) return { unknown: `its tag ${JSON.stringify(tag)} names no major version` };
  if (found.size > 1) return { ambiguous: [...found].sort((a, b) => a - b) };
  return { major: [...found][0] as number };
}
