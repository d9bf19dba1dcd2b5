/**
 * Exact resume with masked labels (issue #17): a run on partly labelled rows with a row budget, interrupted mid-epoch
 * and resumed, ends with the metrics, best epoch and logs of the same run left alone, bit for bit, on wasm. The
 * epoch's label counts come back from its order (train/label-weights.ts) and the subset combiners' state (Nash-MTL's
 * warm start per task set) from the strategy's saved state.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { readEpochLog, readMetricRows, resumeExperiment, trainExperiment } from '../src/index.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { tempDir } from './helpers.js';

function partlyLabelledCsv(dir: string): void {
  writeSyntheticCsv(dir, 'part.csv', {
    seed: 11,
    rows: 90,
    header: ['f0', 'f1', 'f2', 'kind', 'size'],
    digits: 4,
    row: (rng, r) => {
      const [a, b, c] = [rng.normal(), rng.normal(), rng.normal()];
      const kind = r % 3 === 0 ? '' : a + b > 0 ? 'p' : 'n';
      return [a, b, c, kind, r % 4 === 1 ? 'NA' : (c - a + 0.1 * rng.normal()).toFixed(4)];
    },
  });
}

const config = (strategy: string) => `name: resume-masked
seed: 2
backend: wasm
data: { csv: part.csv }
tasks:
  - { name: kind, type: binary, target: kind, metrics: [accuracy], max_train_rows: 10 }
  - { name: size, type: regression, target: size }
model: { trunk: [{ type: dense, units: 8, activation: tanh }] }
training: { epochs: 3, batch_size: 8, lr: 0.01 }
strategy: ${strategy}
`;

const logs = (dir: string): unknown => ({
  rows: readMetricRows(dir),
  epochs: readEpochLog(dir).map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest),
});

describe('mtl train --resume with masked labels continues exactly', () => {
  for (const strategy of ['{ name: uncertainty }', '{ name: nash-mtl, grad_target: params }']) {
    it(strategy, async () => {
      const dir = tempDir('mtl-resume-masked-');
      partlyLabelledCsv(dir);
      const load = () => parseConfigText(config(strategy), { file: path.join(dir, 'exp.yaml') });
      const runsDir = path.join(dir, 'runs');
      const alone = await trainExperiment(load(), { runsDir });
      const controller = new AbortController();
      const stopped = await trainExperiment(load(), {
        runsDir,
        signal: controller.signal,
        listeners: [{ onBatch: (info) => void (info.epoch === 1 && info.batch === 3 && controller.abort()) }],
      });
      expect(stopped.status).toBe('interrupted');
      const resumed = await resumeExperiment(stopped.id, { runsDir });
      expect(resumed.status).toBe(alone.status);
      expect(resumed.bestEpoch).toBe(alone.bestEpoch);
      expect(resumed.test).toEqual(alone.test);
      expect(resumed.val).toEqual(alone.val);
      expect(logs(resumed.dir)).toEqual(logs(alone.dir));
      expect(alone.labels?.['kind']?.train).toBe(10);
    }, 60_000);
  }
});
