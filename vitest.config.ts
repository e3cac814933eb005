import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "bench/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Each e2e file runs real Claude Code processes; two files at a time fit 2 cores.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
