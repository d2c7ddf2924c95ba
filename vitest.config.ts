// Unit tests (pure TypeScript, plus a few that run the CLI or helm) and the
// chart tests (real helm). Generous timeout: chart tests render with helm on
// shared CPUs.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/chart/**/*.test.ts', 'test/features/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
