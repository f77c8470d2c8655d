import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Vitest's default on a 2-core machine is one worker; two keep both cores busy while one file
    // waits on child processes or device threads (the suite's wall time is most of its CPU time).
    maxWorkers: 2,
  },
});
