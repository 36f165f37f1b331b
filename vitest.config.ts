import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        // Generous: fuzz and property tests run thousands of cases on a loaded 2-core machine.
        test: { name: "unit", include: ["test/unit/**/*.test.ts", "test/golden/**/*.test.ts"], testTimeout: 60_000 },
      },
      { test: { name: "contract", include: ["test/contract/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000 } },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // The real control plane (tools/build-control-plane.sh): one installation shared by the
        // files, run one file at a time.
        test: {
          name: "kube",
          include: ["test/kube/**/*.test.ts"],
          globalSetup: ["test/kube/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
