/**
 * The per-epoch work around the training steps (issue #7, W4): shuffled batches, validation, run logs, checkpoints.
 * Each faster path is checked against the way it was done before, value for value.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../src/api/build.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import type { TaskConfig } from '../src/config/types.js';
import { prepareData } from '../src/data/prepare.js';
import { computeMetrics } from '../src/metrics/registry.js';
import { aggregateOverTasks, evaluateSplit } from '../src/train/evaluate.js';
import { higherIsBetter } from '../src/metrics/direction.js';
import { taskKindRegistry } from '../src/tasks/registry.js';
import { taskLoss } from '../src/train/losses.js';
import { disposeSplit, toSplitTensors, type SplitTensors } from '../src/train/tensors.js';
import { type EpochRecord } from '../src/runs/records.js';
import { shuffledBatches } from '../src/train/batches.js';
import { gatherBatches } from '../src/ops/gather-batches.js';
import { GATHER_BATCHES_KERNEL, setSimdKernelsEnabled } from '../src/backend/wasm/index.js';
import { loadCheckpointInto, saveCheckpoint } from '../src/runs/checkpoint.js';
import { BackgroundTasks, replaceDirAtomic, replaceDirSteps, writeFileAtomicSteps } from '../src/runs/atomic.js';
import type { RunMeta } from '../src/runs/meta.js';
import { RunWriter } from '../src/runs/writer.js';
import type { PreparedData } from '../src/data/prepare.js';
import type { ResolvedConfig } from '../src/config/types.js';
import { backendPredictions, tempDir } from './helpers.js';

const configText = `name: overhead
seed: 5
backend: wasm
data:
  dataset: multi-digits
  options: { samples: 600 }
tasks:
  - { name: left, type: multiclass }
  - { name: right, type: multiclass }
model:
  trunk:
    - { type: dense, units: 16, activation: relu }
training:
  batch_size: 32
  epochs: 1
`;

let config: ResolvedConfig;
let data: PreparedData;

beforeAll(async () => {
  await initBackend('wasm');
  config = parseConfigText(configText).config;
  data = await prepareData(config, process.cwd());
});

const bits = (values: ArrayLike<number>): number[] => Array.from(new Uint32Array(Float32Array.from(values).buffer));

describe('shuffled training batches', () => {
  /** The batches as a gather of the whole split and a split into batches (the fallback, and how it was done). */
  function reference(x: tf.Tensor, index: tf.Tensor1D, batchSize: number): tf.Tensor[] {
    const rows = index.shape[0];
    const sizes = Array.from({ length: Math.ceil(rows / batchSize) }, (_, b) => Math.min(batchSize, rows - b * batchSize));
    return tf.tidy(() => tf.split(tf.gather(x, index), sizes, 0));
  }

  const paths: [string, () => Promise<void> | void][] = [
    ['wasm, SIMD row copies', () => void setSimdKernelsEnabled(true)],
    ['wasm, JS row copies', () => void setSimdKernelsEnabled(false)],
    ['cpu (gather + split)', async () => {
      await tf.setBackend('cpu');
    }],
  ];
  for (const [name, setUp] of paths) {
    it(`${name}: each batch holds the permuted rows bit for bit, the last one shorter, for inputs and one-hot targets`, async () => {
      await setUp();
      try {
        // The kernel runs on wasm (it is installed with the fast kernels); cpu takes the fallback.
        expect(tf.getKernel(GATHER_BATCHES_KERNEL, tf.getBackend()) !== undefined).toBe(tf.getBackend() === 'wasm');
        const split = toSplitTensors(data.splits.train, data.preprocessing);
        const before = tf.memory().numTensors;
        const permutation = Int32Array.from({ length: split.rows }, (_, i) => (i * 7919 + 3) % split.rows);
        const batchSize = 37;
        const batches = shuffledBatches(split, permutation, batchSize);
        expect(batches.length).toBe(Math.ceil(split.rows / batchSize));
        expect(batches[batches.length - 1]?.x.shape[0]).toBe(split.rows - (batches.length - 1) * batchSize);
        const index = tf.tensor1d(permutation, 'int32');
        for (const [key, all] of [['x', split.x], ...Object.entries(split.targets)] as [string, tf.Tensor2D][]) {
          const expected = reference(all, index, batchSize);
          batches.forEach((batch, b) => {
            const actual = key === 'x' ? batch.x : (batch.targets[key] as tf.Tensor2D);
            expect(actual.shape, `${key} batch ${b}`).toEqual(expected[b]?.shape);
            expect(actual.dtype).toBe('float32');
            expect(bits(actual.dataSync()), `${key} batch ${b}`).toEqual(bits((expected[b] as tf.Tensor).dataSync()));
          });
          expected.forEach((t) => t.dispose());
        }
        index.dispose();
        for (const batch of batches) {
          batch.x.dispose();
          for (const t of Object.values(batch.targets)) t.dispose();
        }
        expect(tf.memory().numTensors).toBe(before);
        disposeSplit(split);
      } finally {
        setSimdKernelsEnabled(true);
        await tf.setBackend('wasm');
      }
    });
  }

  it('refuses an index outside the rows instead of reading past them', () => {
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const index = tf.tensor1d([0, 2], 'int32');
    expect(() => gatherBatches(x, index, 1)).toThrow(/index 2 at position 1 is outside \[0, 2\)/);
    x.dispose();
    index.dispose();
  });
});

/** Validation on the backend, as it was before: every batch sliced, tf.losses and tf.softmax, the weighted loss summed in float32. */
function evaluateBefore(split: SplitTensors, tasks: readonly TaskConfig[], batchSize: number, model: ReturnType<typeof buildModel>): Record<string, number> {
  const metrics: Record<string, number> = {};
  const parts: Record<string, tf.Tensor2D[]> = Object.fromEntries(tasks.map((t) => [t.name, []]));
  const lossSums = tasks.map(() => tf.scalar(0));
  for (let start = 0; start < split.rows; start += batchSize) {
    const size = Math.min(batchSize, split.rows - start);
    tf.tidy(() => {
      const x = tf.slice(split.x, [start, 0], [size, -1]);
      const { outputs } = model.forward(x, false);
      tasks.forEach((task, i) => {
        const output = outputs[task.name] as tf.Tensor2D;
        const target = tf.slice(split.targets[task.name] as tf.Tensor2D, [start, 0], [size, -1]);
        const old = lossSums[i] as tf.Scalar;
        lossSums[i] = tf.keep(tf.add(old, tf.mul(taskLoss(task.loss, output, target), size)));
        old.dispose();
        parts[task.name]?.push(tf.keep(backendPredictions(taskKindRegistry.lookup(task.type).metricLayout, output)));
      });
    });
  }
  tasks.forEach((task, i) => {
    const chunks = parts[task.name] as tf.Tensor2D[];
    const joined = tf.concat(chunks, 0);
    const values = joined.dataSync() as Float32Array;
    joined.dispose();
    chunks.forEach((c) => c.dispose());
    metrics[`${task.name}/loss`] = ((lossSums[i] as tf.Scalar).dataSync()[0] as number) / split.rows;
    (lossSums[i] as tf.Scalar).dispose();
    const values2 = computeMetrics(task.metrics, {
      type: taskKindRegistry.lookup(task.type).metricLayout,
      rows: data.splits.val.rows,
      outputSize: 10,
      predictions: values,
      targets: data.splits.val.targets[task.name] as Float32Array,
    });
    for (const [name, value] of Object.entries(values2)) metrics[`${task.name}/${name}`] = value;
  });
  return { ...metrics, ...aggregateOverTasks(metrics, tasks) };
}

describe('validation', () => {
  it('matches the backend path (slices, tf.losses, tf.softmax) to float32 precision, and is the same for every batch size', () => {
    const model = buildModel(config, data.preprocessing);
    const val = toSplitTensors(data.splits.val, data.preprocessing);
    const before = tf.memory().numTensors;
    const whole = evaluateSplit(model, val, data.splits.val, config.tasks, data.preprocessing, val.rows).metrics;
    // One batch (the split is used without a slice), and several with a partial last one.
    for (const batchSize of [val.rows, 1024, 7, 32]) {
      const actual = evaluateSplit(model, val, data.splits.val, config.tasks, data.preprocessing, batchSize).metrics;
      const expected = evaluateBefore(val, config.tasks, batchSize, model);
      expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
      for (const key of Object.keys(expected)) {
        const tolerance = 2e-6 * Math.max(1, Math.abs(expected[key] as number));
        expect(Math.abs((actual[key] as number) - (expected[key] as number)), `${key} at batch size ${batchSize}`).toBeLessThan(tolerance);
        expect(Object.is(actual[key], whole[key]), `${key} at batch size ${batchSize} vs one batch`).toBe(true);
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    disposeSplit(val);
    model.dispose();
  });
});

function record(epoch: number, val: Record<string, number>): EpochRecord {
  return {
    epoch,
    learningRate: 0.001,
    trainLoss: { left: 0.5 / epoch, right: 0.25 / epoch + 1e-9 },
    val,
    taskWeights: { left: 1, right: 1 },
    monitor: { name: 'val/mean/accuracy', value: 0.1 * epoch, improved: epoch % 2 === 1 },
    seconds: 0.1234567,
    samplesPerSecond: 12345.6789,
  };
}

/** The run logs as the writer produced them before: every file rewritten whole from all rows so far. */
function logsBefore(records: EpochRecord[], final: { split: 'test'; epoch: number; metrics: Record<string, number> }): Record<string, string> {
  const rows: { epoch: number; split: string; metrics: Record<string, number> }[] = [];
  const epochs: unknown[] = [];
  for (const r of records) {
    const train: Record<string, number> = {};
    let sum = 0;
    for (const [task, value] of Object.entries(r.trainLoss)) {
      train[`${task}/loss`] = value;
      sum += value;
    }
    train['mean/loss'] = sum / Object.keys(r.trainLoss).length;
    rows.push({ epoch: r.epoch, split: 'train', metrics: train });
    if (Object.keys(r.val).length > 0) rows.push({ epoch: r.epoch, split: 'val', metrics: r.val });
    const round = (x: number): number => Math.round(x * 1000) / 1000;
    epochs.push({ epoch: r.epoch, learningRate: r.learningRate, taskWeights: r.taskWeights, monitor: r.monitor, seconds: round(r.seconds), samplesPerSecond: round(r.samplesPerSecond) });
  }
  rows.push({ epoch: final.epoch, split: final.split, metrics: final.metrics });
  const csv = ['epoch,split,task,metric,value,higher_is_better'];
  for (const row of rows) {
    for (const [key, value] of Object.entries(row.metrics)) {
      const slash = key.lastIndexOf('/');
      csv.push(`${row.epoch},${row.split},${key.slice(0, slash)},${key.slice(slash + 1)},${value},${higherIsBetter(key)}`);
    }
  }
  return {
    'metrics.jsonl': rows.map((r) => JSON.stringify(r)).join('\n') + '\n',
    'metrics.csv': csv.join('\n') + '\n',
    'epochs.jsonl': epochs.map((e) => JSON.stringify(e)).join('\n') + '\n',
  };
}

const meta = (id: string): RunMeta => ({
  id,
  name: 'w',
  status: 'running',
  startedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  seed: 1,
  versions: { mtl: '0', node: 'v', tfjs: '4' },
  command: [],
  cwd: '/',
  overrides: [],
  epochsCompleted: 0,
});

describe('run writer', () => {
  it('appends the logs with the same content the whole-file rewrites had', async () => {
    const dir = tempDir();
    const writer = new RunWriter(dir, meta('a'));
    const val = { 'left/loss': 0.1, 'left/accuracy': 0.9, 'right/loss': 0.2, 'right/accuracy': 0.8, 'mean/loss': 0.15, 'mean/accuracy': 0.85 };
    const records = [record(1, val), record(2, {}), record(3, { ...val, 'left/accuracy': 1 / 3 })];
    for (const r of records) writer.recordEpoch(r);
    const final = { split: 'test' as const, epoch: 3, metrics: { 'left/accuracy': 0.7, 'mean/accuracy': 0.7 } };
    writer.recordFinal(final.split, final.epoch, final.metrics);
    for (const [file, text] of Object.entries(logsBefore(records, final))) expect(readFileSync(path.join(dir, file), 'utf8'), file).toBe(text);
    expect(readdirSync(dir).sort()).toEqual(['epochs.jsonl', 'metrics.csv', 'metrics.jsonl']);

    // The same through the background worker.
    const dir2 = tempDir();
    const background = new BackgroundTasks();
    const writer2 = new RunWriter(dir2, meta('a2'));
    for (const r of records) writer2.recordEpoch(r, background);
    await background.close();
    writer2.recordFinal(final.split, final.epoch, final.metrics);
    for (const [file, text] of Object.entries(logsBefore(records, final))) expect(readFileSync(path.join(dir2, file), 'utf8'), file).toBe(text);
  });

  it('writes meta.json in the background in order, and refuses to overtake pending updates', async () => {
    const dir = tempDir();
    const background = new BackgroundTasks();
    const writer = new RunWriter(dir, meta('b'));
    writer.updateMeta({ epochsCompleted: 0 });
    for (let epoch = 1; epoch <= 5; epoch++) writer.updateMetaInBackground({ epochsCompleted: epoch }, background);
    expect(() => writer.updateMeta({ status: 'completed' })).toThrow(/pending/);
    await background.settle();
    expect(JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8'))).toMatchObject({ epochsCompleted: 5, status: 'running' });
    writer.updateMeta({ status: 'completed' });
    expect(JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8'))).toMatchObject({ epochsCompleted: 5, status: 'completed' });
    expect(readdirSync(dir)).toEqual(['meta.json']); // no temp files left
    await background.close();
  });
});

describe('folder replacement and background jobs', () => {
  it('replaces a folder whole, removes the old one, and keeps the old one when writing fails', () => {
    const root = tempDir();
    const target = path.join(root, 'best');
    replaceDirAtomic(target, { 'a.txt': 'one' });
    replaceDirAtomic(target, { 'a.txt': 'two', 'b.bin': new Uint8Array([1, 2, 3]) });
    expect(readFileSync(path.join(target, 'a.txt'), 'utf8')).toBe('two');
    expect([...readFileSync(path.join(target, 'b.bin'))]).toEqual([1, 2, 3]);
    expect(readdirSync(root)).toEqual(['best']);
    expect(() => replaceDirAtomic(target, { 'sub/c.txt': 'no such folder' })).toThrow(/ENOENT/);
    expect(readdirSync(root)).toEqual(['best']);
    expect(readFileSync(path.join(target, 'a.txt'), 'utf8')).toBe('two');
  });

  it('runs jobs in the worker in order, keeps going after a failure and reports it, with the same steps as in-process', async () => {
    const root = tempDir();
    const background = new BackgroundTasks();
    const log = path.join(root, 'log');
    void background.run(replaceDirSteps(log, { '1': 'a' }));
    void background.run(replaceDirSteps(path.join(root, 'missing', 'deeper'), { 'x/y': 'fails: no folder x' }));
    void background.run(replaceDirSteps(log, { '1': 'b', '2': 'c' }));
    void background.run(writeFileAtomicSteps(path.join(root, 'file.json'), '{}\n'));
    await expect(background.settle()).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readFileSync(path.join(log, '1'), 'utf8')).toBe('b');
    expect(readFileSync(path.join(log, '2'), 'utf8')).toBe('c');
    expect(readFileSync(path.join(root, 'file.json'), 'utf8')).toBe('{}\n');
    // The failed job removed its temp folder, as the in-process replacement does.
    expect(readdirSync(root).sort()).toEqual(['file.json', 'log', 'missing']);
    expect(readdirSync(path.join(root, 'missing'))).toEqual([]);
    await expect(background.settle()).resolves.toBeUndefined();
    await background.close();
    // Closed: a job queued now is reported as failed rather than lost silently.
    void background.run(writeFileAtomicSteps(path.join(root, 'late.json'), '{}'));
    expect(() => background.check()).toThrow(/closed/);
    expect(existsSync(path.join(root, 'late.json'))).toBe(false);
  });

  it('saves checkpoints in the background with the weights of the moment they were taken', async () => {
    const dir = path.join(tempDir(), 'checkpoints', 'best');
    const model = buildModel(config, data.preprocessing);
    const variable = model.sharedVariables[0] as tf.Variable;
    const first = variable.dataSync().slice();
    const background = new BackgroundTasks();
    await saveCheckpoint(dir, model, { architecture: 'hard-sharing' }, { epoch: 1 }, 'test', background);
    variable.assign(tf.zerosLike(variable)); // training goes on while the checkpoint is written
    await background.close();
    loadCheckpointInto(dir, model);
    expect(bits(variable.dataSync())).toEqual(bits(first));
    expect(readdirSync(path.dirname(dir))).toEqual(['best']);
    model.dispose();
  });
});

describe('a whole run', () => {
  it('leaves exactly the run files, with meta.json final and checkpoints loadable', async () => {
    const { trainExperiment } = await import('../src/api/train.js');
    const runsDir = tempDir();
    const summary = await trainExperiment(parseConfigText(configText.replace('epochs: 1', 'epochs: 3')), { runsDir });
    expect(readdirSync(summary.dir).sort()).toEqual(
      ['checkpoints', 'config.resolved.json', 'config.yaml', 'epochs.jsonl', 'meta.json', 'metrics.csv', 'metrics.jsonl', 'preprocessing.json', 'summary.json'].sort(),
    );
    expect(readdirSync(path.join(summary.dir, 'checkpoints')).sort()).toEqual(['best', 'last']);
    const metaJson = JSON.parse(readFileSync(path.join(summary.dir, 'meta.json'), 'utf8'));
    expect(metaJson).toMatchObject({ status: 'completed', epochsCompleted: 3, bestEpoch: summary.bestEpoch });
    expect(readFileSync(path.join(summary.dir, 'epochs.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(existsSync(path.join(summary.dir, 'checkpoints', 'best', 'weights.bin'))).toBe(true);
  });

  it('fails the run when a checkpoint cannot be written, and says so in meta.json', async () => {
    const { trainExperiment } = await import('../src/api/train.js');
    const runsDir = tempDir();
    let runDir = '';
    const run = trainExperiment(parseConfigText(configText.replace('epochs: 1', 'epochs: 3')), {
      runsDir,
      // A file where the checkpoints folder should go: every checkpoint write fails.
      onRunCreated: ({ dir }) => {
        runDir = dir;
        writeFileSync(path.join(dir, 'checkpoints'), 'not a folder');
      },
    });
    await expect(run).rejects.toThrow(/failed/);
    const metaJson = JSON.parse(readFileSync(path.join(runDir, 'meta.json'), 'utf8'));
    expect(metaJson.status).toBe('failed');
  });
});
