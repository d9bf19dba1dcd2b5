import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Training tests run real epochs on the wasm backend; 2-core CI machines need room.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    poolOptions: {
      forks: {
        // vitest's default on a 2-core machine is one fork (cores − 1); many tests wait on CLI child processes, so a
        // second fork keeps both cores busy (the suite ran 11.4 min with one).
        maxForks: 2,
        minForks: 1,
        // Each fork runs its files one after another in one process: TF.js, the wasm backend, the compiled kernels
        // and the config schema load once per fork instead of once per file (about 2 of the suite's 9.5 minutes).
        // test/setup/shared-worker.ts puts back what a file may change process-wide; a file that registers
        // definitions removes them again, and a module mock asserts it took effect.
        isolate: false,
      },
    },
    setupFiles: ['test/setup/shared-worker.ts'],
  },
});
