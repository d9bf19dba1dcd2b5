/**
 * Runs around every test file of the `shared` project, whose files share a worker process one after another
 * (vitest.config.ts): puts back what a file may change process-wide, so the next file starts as a fresh process would
 * leave it for these purposes.
 */
import { afterAll, vi } from 'vitest';
import { setFmaKernelsEnabled, setSimdKernelsEnabled } from '../../src/backend/wasm/backend.js';
import { tf } from '../../src/tf.js';

afterAll(async () => {
  vi.restoreAllMocks();
  setFmaKernelsEnabled(false);
  setSimdKernelsEnabled(true);
  // Files that compare backends switch to cpu; the trainer and most tests expect wasm once it has been loaded.
  const backend = tf.engine().backendName;
  if (backend !== null && backend !== 'wasm' && tf.findBackend('wasm') !== null) await tf.setBackend('wasm');
});
