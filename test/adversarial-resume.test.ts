/**
 * Task-adversarial runs (issue #18) resume exactly: the adversary's head and its optimizer slots are in the `last`
 * checkpoint, and λ's DANN schedule reads the run's global step, so an interrupted and resumed run ends with the
 * metrics, adversary records and logs of the run left alone, bit for bit, on wasm. The λ each epoch ended with is
 * the schedule's at that global step (p = step / total steps).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lambdaAt } from '../src/adversarial/lambda-schedule.js';
import { parseConfigText } from '../src/config/load.js';
import { readEpochLog, readMetricRows, resumeExperiment, trainExperiment } from '../src/index.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { tempDir } from './helpers.js';

function nuisanceCsv(dir: string): void {
  writeSyntheticCsv(dir, 'nuisance.csv', {
    seed: 12,
    rows: 80,
    header: ['f0', 'f1', 'f2', 'y', 'group'],
    digits: 4,
    row: (rng) => {
      const [a, b, c] = [rng.normal(), rng.normal(), rng.normal()];
      return [a, b, c, (a + 0.5 * b + 0.1 * rng.normal()).toFixed(4), c + 0.3 * a > 0 ? 'g1' : 'g2'];
    },
  });
}

const EPOCHS = 3;
const BATCH = 8;
const config = `name: resume-adversarial
seed: 3
backend: wasm
data: { csv: nuisance.csv, split: { train: 0.6, val: 0.2, test: 0.2 } }
tasks:
  - { name: y, type: regression, target: y }
  - { name: group, type: binary, target: group, adversarial: { lambda: { max: 0.8, schedule: dann, gamma: 5 } } }
model: { trunk: [{ type: dense, units: 8, activation: tanh }] }
training: { epochs: ${EPOCHS}, batch_size: ${BATCH}, lr: 0.01 }
strategy: { name: uncertainty }
`;

const logs = (dir: string): unknown => ({
  rows: readMetricRows(dir),
  epochs: readEpochLog(dir).map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest),
});

describe('a run with an adversary', () => {
  it('resumes exactly, and λ follows the DANN schedule over the global step', async () => {
    const dir = tempDir('mtl-resume-adv-');
    nuisanceCsv(dir);
    const load = () => parseConfigText(config, { file: path.join(dir, 'exp.yaml') });
    const runsDir = path.join(dir, 'runs');
    const lambdas: number[] = [];
    const alone = await trainExperiment(load(), {
      runsDir,
      listeners: [{ onEpochEnd: (_record, model) => void lambdas.push(model.adversaries?.lambda('group') ?? NaN) }],
    });
    // 48 training rows in batches of 8: 6 steps an epoch, 18 in all; epoch e ends after global step 6e + 5.
    const total = EPOCHS * 6;
    const expected = [5, 11, 17].map((step) => lambdaAt({ kind: 'dann', lambda: 0.8, gamma: 5 }, step / total));
    expect(lambdas).toEqual(expected);
    // By hand: p = 5/18 → 0.8·(2/(1+e^(−25/18)) − 1) = 0.8 · 0.60077 ≈ 0.4806.
    expect(lambdas[0]).toBeCloseTo(0.4806, 3);

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
    expect(resumed.adversaries).toEqual(alone.adversaries);
    expect(logs(resumed.dir)).toEqual(logs(alone.dir));
    // The adversary reports every epoch, and is not one of the main tasks' metrics.
    const epochs = readEpochLog(alone.dir);
    expect(epochs.map((e) => Object.keys(e.adversaries ?? {}))).toEqual([['group'], ['group'], ['group']]);
    expect(Object.keys(alone.test).some((key) => key.startsWith('group/'))).toBe(false);
    const chance = alone.adversaries?.test['group']?.chance ?? NaN;
    expect(chance).toBeGreaterThanOrEqual(0.5);
    expect(chance).toBeLessThanOrEqual(1);
  }, 60_000);
});
