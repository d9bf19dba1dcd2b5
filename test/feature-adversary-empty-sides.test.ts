/**
 * A feature discriminator between domains of `data.domains` when a batch or a split has no rows of one side (the
 * target domain is rare: most batches of 4 have none of its rows; the validation split has none at all). Such a step
 * leaves the discriminator as it is and adds a generator term of 0 (no gradient); the epoch's measure reports an
 * undefined loss (null) and the accuracy and chance over the rows there are. The run completes on wasm, where batches
 * with no rows of a side used to crash it (`memory access out of bounds`), and resumes exactly.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainerAdversaries, type TrainerAdversaries } from '../src/adversarial/training.js';
import { buildModel } from '../src/api/build.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import { prepareData } from '../src/data/prepare.js';
import type { MultiTaskModel } from '../src/model/types.js';
import type { Batch } from '../src/train/step.js';
import { disposeSplit, toSplitTensors, type SplitTensors } from '../src/train/tensors.js';
import { tempDir, writeFile } from './helpers.js';
import { mtl } from './helpers/cli.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { bits } from './helpers/expect.js';
import { expectExactResume } from './helpers/resume-check.js';

/** Training rows with domain c (3 of 48); validation rows are a and b only; test rows a and c. */
const TARGET_ROWS = [5, 22, 40];

function writeData(dir: string): void {
  writeSyntheticCsv(dir, 'sites.csv', {
    seed: 5,
    rows: 80,
    header: ['part', 'site', 'x1', 'x2', 'x3', 'y'],
    digits: 4,
    row: (rng, i) => {
      const part = i < 48 ? 'train' : i < 64 ? 'val' : 'test';
      const site =
        part === 'train'
          ? TARGET_ROWS.includes(i)
            ? 'c'
            : i % 2 === 1
              ? 'a'
              : 'b'
          : part === 'val'
            ? i % 2 === 1
              ? 'a'
              : 'b'
            : i % 3 === 0
              ? 'c'
              : 'a';
      const x = [rng.normal() + (site === 'c' ? 2 : 0), rng.normal(), rng.normal()];
      return [part, site, ...x, x[0]! + x[1]! > 0 ? 'pos' : 'neg'];
    },
  });
}

const CONFIG = `name: empty-sides
seed: 0
backend: wasm
data:
  csv: sites.csv
  split: { column: part }
  domains: { column: site, source: [a, b], target: c }
tasks:
  - { name: y, type: binary, metrics: [accuracy] }
model: { trunk: [{ type: dense, units: 8, activation: relu }] }
training: { epochs: 3, batch_size: 4 }
adversary: { type: discriminator, real: { domain: a }, fake: { domain: c }, weight: 1, hidden: [4], steps: 2 }
`;

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  dir = tempDir('mtl-empty-sides-');
  writeData(dir);
}, 60_000);

const load = () => parseConfigText(CONFIG, { file: path.join(dir, 'exp.yaml') });

describe('a step whose batch has no rows of a side', () => {
  let model: MultiTaskModel;
  let adversaries: TrainerAdversaries;
  let train: SplitTensors;
  beforeAll(async () => {
    const { config } = load();
    const data = await prepareData(config, dir);
    model = buildModel(config, data.preprocessing);
    adversaries = trainerAdversaries(config, model, data, undefined)!;
    train = toSplitTensors(data.splits.train, data.preprocessing);
  }, 60_000);
  afterAll(() => {
    adversaries.dispose();
    model.dispose();
    disposeSplit(train);
  });

  /** The training rows at these positions, as a batch. */
  const batchOf = (rows: number[]): Batch => {
    const index = tf.tensor1d(rows, 'int32');
    const batch = {
      x: tf.gather(train.x, index),
      targets: Object.fromEntries(Object.entries(train.targets).map(([task, t]) => [task, tf.gather(t, index)])),
    };
    index.dispose();
    return batch;
  };
  const disposeBatch = (batch: Batch): void => tf.dispose([batch.x, ...Object.values(batch.targets)]);
  const discriminator = () => adversaries.checkpointVariables().filter((v) => !/\/[mv]$/.test(v.name));
  const read = () => discriminator().map((v) => bits(v.dataSync()));

  it('trains the discriminator not at all, and the generator term is 0 with a zero gradient', () => {
    const noTarget = batchOf([0, 1, 2, 3]); // sites b, a, b, a: no row of domain c (fake)
    const before = read();
    const updates = adversaries.state()?.updates;
    adversaries.beforeStep(noTarget, 0);
    expect(read()).toEqual(before);
    expect(adversaries.state()?.updates).toBe(updates);
    const { value, grads } = tf.variableGrads(() => adversaries.stepModel.penalty!(noTarget), model.sharedVariables);
    expect(value.dataSync()[0]).toBe(0);
    for (const grad of Object.values(grads)) expect(Array.from(grad.dataSync()).every((g) => g === 0)).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    disposeBatch(noTarget);
  });

  it('trains it k times on a batch with both sides', () => {
    const both = batchOf([4, 5, 6, 7]); // row 5 is domain c
    const before = read();
    const updates = adversaries.state()?.updates ?? Number.NaN;
    adversaries.beforeStep(both, 0);
    expect(read()).not.toEqual(before);
    expect(adversaries.state()?.updates).toBe(updates + 2);
    disposeBatch(both);
  });
});

describe('a run whose batches and validation split lack the target domain', () => {
  it('completes on wasm and logs an undefined loss where the validation split has no fake rows', () => {
    const file = writeFile(dir, 'exp.yaml', CONFIG);
    const runsDir = path.join(dir, 'runs-cli');
    const result = mtl(['train', file, '--runs-dir', runsDir]);
    expect(result.stderr).not.toContain('failed');
    expect(result.code).toBe(0);
    const lines = readFileSync(path.join(runsDir, result.stdout.trim(), 'epochs.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const measured = (JSON.parse(line) as { adversaries: Record<string, unknown> }).adversaries[
        'feature-discriminator'
      ];
      // 8 validation rows of domain a (real), none of c (fake): L_D needs both, chance is all real.
      expect(measured).toEqual({ loss: null, accuracy: expect.any(Number), chance: 1 });
    }
  }, 120_000);

  it('resumes exactly', async () => {
    await expectExactResume(load, path.join(dir, 'runs-resume'), { epoch: 1, batch: 3 });
  }, 120_000);
});
