#!/usr/bin/env node
// `npx tusk`: Node runs TypeScript through tsx, registered here, then the CLI's entry.
import { register } from "tsx/esm/api";

register();
await import("./tusk.ts");
