import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Starts moto server (installing it into .venv on first use) unless AWS_ENDPOINT_URL is set.
    globalSetup: ["test/emulator/global-setup.ts"],
  },
});
