/**
 * Multi-input MTL runs (issue #17): a step's batch holds one batch of each data group with each task's labels only
 * on its own group's rows; an interrupted run resumes exactly (eval, features and compare: multi-input-eval.test.ts).
 */
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import { prepareMultiInput } from '../src/data/multi-input.js';
import { readEpochLog, readMetricRows, resumeExperiment, trainExperiment } from '../src/index.js';
import { labelledInBatch } from '../src/train/batches.js';
import { multiInputOrder, multiInputPlan } from '../src/train/multi-input-batches.js';
import { createRng } from '../src/util/rng.js';
import { tempDir } from './helpers.js';
import { mtl } from './helpers/cli.js';
import { configText, writeSources } from './helpers/multi-input.js';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  dir = tempDir('mtl-multi-runs-');
  writeSources(dir);
}, 60_000);

const load = () => parseConfigText(configText(), { file: path.join(dir, 'exp.yaml') });

describe("a step's batch", () => {
  it('holds 8 rows of each group; y labelled on the first 8 only, z on the last 8 only', async () => {
    const data = await prepareMultiInput(load().config, dir);
    const plan = multiInputPlan([24, 10], 8, undefined);
    const order = multiInputOrder(plan, createRng(9));
    const labelled = data.splits.train.labelled!;
    const first8 = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    const last8 = Int32Array.from([8, 9, 10, 11, 12, 13, 14, 15]);
    for (let step = 0; step < plan.steps; step++) {
      const positions = labelledInBatch(labelled, order, step * plan.stepRows, plan.stepRows);
      expect(positions['y']).toEqual(first8);
      expect(positions['z']).toEqual(last8);
    }
  });
});

describe('resume', () => {
  it('an interrupted multi-input run resumes to the logs and metrics of the run left alone', async () => {
    const runsDir = path.join(dir, 'runs-resume');
    const alone = await trainExperiment(load(), { runsDir });
    const controller = new AbortController();
    const stopped = await trainExperiment(load(), {
      runsDir,
      signal: controller.signal,
      listeners: [{ onBatch: (info) => void (info.epoch === 1 && info.batch === 2 && controller.abort()) }],
    });
    expect(stopped.status).toBe('interrupted');
    const resumed = await resumeExperiment(stopped.id, { runsDir });
    expect(resumed.test).toEqual(alone.test);
    expect(resumed.bestEpoch).toBe(alone.bestEpoch);
    const logs = (runDir: string): unknown => ({
      rows: readMetricRows(runDir),
      epochs: readEpochLog(runDir).map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest),
    });
    expect(logs(resumed.dir)).toEqual(logs(alone.dir));
  }, 60_000);
});

describe('mtl train on built-in data (the worked example of docs/notes/multi-input.md)', () => {
  it('trains y1 on 2000 rows and y2 on its own 200, each with its own split', () => {
    const file = path.join(dir, 'example.yaml');
    writeFileSync(
      file,
      `name: multi-input-example
seed: 0
backend: wasm
data: { dataset: synthetic-correlated, options: { tasks: 2, samples: 2000 } }
tasks:
  - { name: y1, type: regression }
  - name: y2
    type: regression
    data: { dataset: synthetic-correlated, options: { tasks: 2, samples: 200, correlation: 0.9 } }
model: { trunk: [{ type: dense, units: 16, activation: relu }] }
training: { epochs: 2, batch_size: 32 }
`,
    );
    const result = mtl(['train', file, '--runs-dir', path.join(dir, 'runs-example')]);
    expect(result.code, result.stderr).toBe(0);
    // 0.7/0.15/0.15 of each source: 1400·300·300 and 140·30·30.
    expect(`${result.stdout}${result.stderr}`).toContain('labels (train · val · test): y1 1400·300·300, y2 140·30·30');
  }, 60_000);
});
