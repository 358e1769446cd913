import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Lets the leak test force collections, so finalizers run when it measures.
    execArgv: ['--expose-gc'],
    testTimeout: 60_000,
  },
});
