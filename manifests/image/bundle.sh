#!/usr/bin/env sh
# Bundles the Node entry (functions/node.ts and everything it imports from functions/ and
# shared/) into one ES module, leaving npm packages as imports resolved from node_modules.
# The image runs the bundle with plain `node`: no TypeScript loader, nothing written at run
# time (the root filesystem is read-only). Usage: bundle.sh [OUTFILE], default dist/tusk.mjs.
set -eu
out="${1:-dist/tusk.mjs}"
cd "$(dirname "$0")/../.."
exec ./node_modules/.bin/esbuild functions/node.ts --bundle --platform=node --target=node20 \
  --format=esm --packages=external --log-level=warning --outfile="$out"
