import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../src/tf.js';
import type { PredictionLayout } from '../src/metrics/types.js';

/** A fresh temp folder for a test's configs, CSVs and run store. */
export function tempDir(prefix = 'mtl-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Deterministic values in [-1, 1). */
export function values(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * What evaluation gave metrics before it computed on the host, as backend ops: softmax, sigmoid, or y·std + mean in
 * float32 (the reference for test/host-losses.test.ts and test/evaluation.test.ts).
 */
export function backendPredictions(
  type: PredictionLayout,
  output: tf.Tensor2D,
  regressionScale?: { mean: number[]; std: number[] },
): tf.Tensor2D {
  return tf.tidy(() => {
    switch (type) {
      case 'multiclass':
        return tf.softmax(output);
      case 'binary':
      case 'multilabel':
        return tf.sigmoid(output);
      case 'regression': {
        if (!regressionScale) return output;
        return tf.add(tf.mul(output, tf.tensor1d(regressionScale.std)), tf.tensor1d(regressionScale.mean));
      }
    }
  });
}
