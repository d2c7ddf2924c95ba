// The parity suite's own unit tests (report merging, the git server), run by
// scripts/parity.sh before the suite: the suite's verdicts are only as good as these.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['*.test.ts'],
    testTimeout: 60_000,
  },
});
