import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start brokers and processes; two at a time keeps a 2-core machine responsive.
    maxWorkers: 2,
  },
});
