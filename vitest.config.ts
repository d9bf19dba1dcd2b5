import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Training tests run real epochs on the wasm backend; 2-core CI machines need room.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
