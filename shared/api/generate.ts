/**
 * @module
 * `npm run gen`: writes manifests/crds/*.yaml from the zod schemas. A test fails when the
 * committed files differ from what this writes.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { crdFiles } from "./crd-files.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = join(root, "manifests", "crds");
mkdirSync(dir, { recursive: true });
for (const [name, text] of Object.entries(crdFiles())) writeFileSync(join(dir, name), text);
console.log(`wrote ${Object.keys(crdFiles()).length} files to manifests/crds`);
