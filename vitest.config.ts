import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    pool: "forks",
    // Two test files at a time (vitest's default on a 2-core machine is one): most files wait on child processes
    // and loopback servers, so the suite takes about 170 s instead of 265 s here.
    maxWorkers: 2,
    // The JSON results let .ci/run print a plain "N passed, N failed" line.
    reporters: ["default", "json"],
    outputFile: { json: ".vitest/results.json" },
  },
});
