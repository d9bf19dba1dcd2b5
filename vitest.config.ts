import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Training tests run real epochs on the wasm backend; 2-core CI machines need room.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // vitest's default on a 2-core machine is one fork (cores − 1); many tests wait on CLI child processes, so a
    // second fork keeps both cores busy (the suite ran 11.4 min with one).
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
