/**
 * Per-source input adapters (issue #17; model/input-adapters.ts): with `training.multi_input.adapters`, a task whose
 * own data has another feature layout (wide.csv: x0, x1, x2) than the first source (source.csv: x0, x1) gets a dense
 * adapter 3 → 2 named adapters/z/kernel, owned by task z; the run trains, evaluates (val metrics bit for bit),
 * resumes exactly, and its adapter can be loaded (and frozen) by `init:`.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.js';
import { buildModel } from '../src/api/build.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import { prepareMultiInput } from '../src/data/multi-input.js';
import { evaluateRun, readSummary, trainExperiment } from '../src/index.js';
import { readCheckpointWeights } from '../src/runs/checkpoint.js';
import { readPreprocessing } from '../src/runs/preprocessing-file.js';
import { tempDir } from './helpers.js';
import { configText, writeSources } from './helpers/multi-input.js';
import { expectExactResume } from './helpers/resume-check.js';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  dir = tempDir('mtl-multi-adapters-');
  writeSources(dir);
}, 60_000);

const WIDE = 'csv: wide.csv, split: { train: 0.5, val: 0.25, test: 0.25 }';
const text = (extra = '') =>
  configText(WIDE).replace(
    'training: { epochs: 5, batch_size: 8, lr: 0.03 }',
    'training: { epochs: 5, batch_size: 8, lr: 0.03, multi_input: { adapters: true } }',
  ) + extra;
const load = (source: string) => parseConfigText(source, { file: path.join(dir, 'exp.yaml') });

describe('the adapters layout', () => {
  it("pads each group's rows to the widest (3) and marks its group: input width 3 + 2", async () => {
    const data = await prepareMultiInput(load(text()).config, dir);
    expect(data.preprocessing.adapters).toEqual({ sharedWidth: 2, groups: [{ width: 2 }, { width: 3, adapter: 'z' }] });
    expect(data.preprocessing.inputSize).toBe(5);
    const train = data.splits.train;
    // source.csv's first training row: x0, x1, 0 (padding), indicator of group 0; wide.csv's rows: indicator 1.
    expect(Array.from(train.x.subarray(2, 5))).toEqual([0, 1, 0]);
    const last = train.rows - 1;
    expect(Array.from(train.x.subarray(last * 5 + 3, last * 5 + 5))).toEqual([0, 1]);
  });

  it('z owns adapters/z/kernel (3 × 2) and /bias; a group read as is has none', async () => {
    const data = await prepareMultiInput(load(text()).config, dir);
    const model = buildModel(load(text()).config, data.preprocessing);
    try {
      const owned = model.taskVariables['z']!.map((v) => `${v.name} ${v.shape.join('×')}`);
      expect(owned).toEqual(expect.arrayContaining(['adapters/z/kernel 3×2', 'adapters/z/bias 2']));
      expect(model.sharedVariables.some((v) => v.name.startsWith('adapters/'))).toBe(false);
      expect(model.taskVariables['y']!.some((v) => v.name.startsWith('adapters/'))).toBe(false);
    } finally {
      model.dispose();
    }
  });

  it("a row reaches its own group's adapter only: y's rows give adapters/z/kernel a zero gradient", async () => {
    const data = await prepareMultiInput(load(text()).config, dir);
    const model = buildModel(load(text()).config, data.preprocessing);
    try {
      const kernel = model.taskVariables['z']!.find((v) => v.name === 'adapters/z/kernel')!;
      const gradientOn = (rows: number[], task: string): number[] => {
        const x = tf.tensor2d(
          rows.flatMap((r) => Array.from(data.splits.train.x.subarray(r * 5, r * 5 + 5))),
          [rows.length, 5],
        );
        const { value, grads } = tf.variableGrads(() => tf.sum(model.forward(x, true).outputs[task]!), [kernel]);
        const values = Array.from(grads[kernel.name]!.dataSync());
        tf.dispose([x, value, ...Object.values(grads)]);
        return values;
      };
      expect(gradientOn([0, 1, 2], 'y')).toEqual([0, 0, 0, 0, 0, 0]);
      const last = data.splits.train.rows - 1;
      expect(gradientOn([last], 'z').some((g) => g !== 0)).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it('without adapters: true the layouts are refused, naming the option', async () => {
    const plain = configText(WIDE);
    const message = await prepareMultiInput(load(plain).config, dir).then(
      () => '',
      (error: unknown) => String(error),
    );
    expect(message).toContain('or set training.multi_input: { adapters: true }');
  });
});

describe('a run with an adapter', () => {
  it('trains, checkpoints the adapter, and mtl eval --split val gives its val metrics bit for bit', async () => {
    const runsDir = path.join(dir, 'runs-eval');
    const run = await trainExperiment(load(text()), { runsDir });
    expect(run.status).toBe('completed');
    const weights = readCheckpointWeights(path.join(run.dir, 'checkpoints', 'best'));
    expect(weights.named['adapters/z/kernel']?.shape).toEqual([3, 2]);
    for (const t of Object.values(weights.named)) t.dispose();
    expect(readPreprocessing(run.dir).adapters?.groups[1]).toEqual({ width: 3, adapter: 'z' });
    const result = await evaluateRun(run.id, { runsDir, split: 'val' });
    expect(result.metrics).toEqual(readSummary(run.dir, run.id).val);
  }, 60_000);

  it('a representation-gradient method (PCGrad on z) trains the adapter through encode', async () => {
    const source = text('strategy: { name: pcgrad, grad_target: representation }\n');
    const run = await trainExperiment(load(source), { runsDir: path.join(dir, 'runs-representation') });
    expect(run.status).toBe('completed');
    const data = await prepareMultiInput(load(source).config, dir);
    const fresh = buildModel(load(source).config, data.preprocessing);
    const initial = Array.from(fresh.taskVariables['z']!.find((v) => v.name === 'adapters/z/kernel')!.dataSync());
    fresh.dispose();
    const weights = readCheckpointWeights(path.join(run.dir, 'checkpoints', 'last')).named;
    const trained = Array.from(weights['adapters/z/kernel']!.dataSync());
    for (const t of Object.values(weights)) t.dispose();
    expect(trained).toHaveLength(6);
    expect(trained).not.toEqual(initial);
  }, 60_000);

  it('an interrupted run resumes to the logs and metrics of the run left alone', async () => {
    const runsDir = path.join(dir, 'runs-resume');
    await expectExactResume(() => load(text()), runsDir, { epoch: 2, batch: 1 });
  }, 60_000);

  it('init: loads the adapter by its path; frozen, it stays bit-identical to the source', async () => {
    const runsDir = path.join(dir, 'runs-init');
    const source = await trainExperiment(load(text()), { runsDir });
    const target = await trainExperiment(
      load(text(`init: { from: ${source.id}, load: [shared, z], freeze: [adapters/z] }\n`)),
      { runsDir },
    );
    expect(target.status).toBe('completed');
    const read = (run: { dir: string }, checkpoint: string) =>
      readCheckpointWeights(path.join(run.dir, 'checkpoints', checkpoint)).named;
    const before = read(source, 'best');
    const after = read(target, 'last');
    const values = (t: tf.Tensor | undefined) => Array.from(t?.dataSync() ?? []);
    expect(values(after['adapters/z/kernel'])).toEqual(values(before['adapters/z/kernel']));
    expect(values(after['adapters/z/kernel']).length).toBe(6);
    // The trunk was loaded but not frozen: it trained on.
    expect(values(after['shared/0/kernel'])).not.toEqual(values(before['shared/0/kernel']));
    for (const t of [...Object.values(before), ...Object.values(after)]) t.dispose();
  }, 60_000);
});
