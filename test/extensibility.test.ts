/**
 * Extending mtl from user code: a task kind, two losses and a layer type defined and registered in this file alone,
 * through the library's exports, are known to validation, train with `trainExperiment` (one config uses all of them)
 * and evaluate again with `evaluateRun`:
 *
 * - `log-cosh`, a loss for regression: mean log(cosh(y − t));
 * - `count`, a task kind for counts: the model learns the log of the rate relative to the training mean m, so its
 *   training targets are t/m, its predictions m·exp(z), and its default loss is
 * - `poisson`: mean exp(z) − t·z, the Poisson negative log-likelihood of rate m·exp(z) over m, up to a constant;
 * - `scale`, a layer type: y = s · x with one learned scalar s. Configs, the schema (with its per-type misspelling
 *   messages), the rank check at validation, the stack builder and training then know it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cellText,
  evaluateRun,
  initBackend,
  layerRegistry,
  loadConfig,
  lossRegistry,
  makeVariable,
  numericCells,
  parseConfigText,
  registerLayer,
  taskKindRegistry,
  trainExperiment,
  UsageError,
  type Layer,
  type LayerDefinition,
  type LossDefinition,
  type TaskKind,
} from '../src/index.js';
import { LayerStack } from '../src/model/layers/stack.js';
import { StepClock } from '../src/model/step-clock.js';
import { createRng } from '../src/util/rng.js';
import { tempDir, values, writeFile } from './helpers.js';
import { configProblems } from './helpers/expect.js';

interface CountEncoding {
  name: string;
  type: 'count';
  columns: string[];
  /** Per column, the mean count over the training rows (1 where it is 0). */
  mean: number[];
}

const count: TaskKind<CountEncoding> = {
  name: 'count',
  description: 'whole numbers ≥ 0, an output per column: the log of the rate relative to the training mean',
  targetColumns: 'one-or-more',
  defaultLoss: 'poisson',
  losses: ['mse'],
  metricLayout: 'regression',
  encodingFields: { columns: 'strings', mean: 'numbers' },
  metrics: ['mse', 'mae', 'rmse'],
  defaultMetrics: ['mae', 'rmse'],
  fitTarget({ task, field, columns, trainRows, allRows }) {
    const mean = columns.map((column) => {
      for (const row of allRows) {
        const v = column.kind === 'numeric' ? column.values[row]! : Number.NaN;
        if (!(Number.isInteger(v) && v >= 0)) {
          throw new UsageError(
            `${field}: count target column "${column.name}" must hold whole numbers ≥ 0; line ${row + 2} has ` +
              `"${cellText(column, row)}".`,
          );
        }
      }
      let sum = 0;
      for (const row of trainRows) sum += column.values[row] as number;
      return sum > 0 ? sum / trainRows.length : 1;
    });
    return { name: task.name, type: 'count', columns: columns.map((c) => c.name), mean };
  },
  outputSize: (encoding) => encoding.columns.length,
  encodeTargets: (table, encoding, rows) =>
    numericCells(table, encoding.columns, rows, `tasks[${encoding.name}] target`),
  trainingTargets: (encoding, targets, rows) =>
    tf.div(tf.tensor2d(targets, [rows, encoding.columns.length]), tf.tensor1d(encoding.mean)),
  predictions: (encoding, outputs) =>
    outputs.values.map((z, i) => Math.fround(encoding.mean[i % outputs.width]! * Math.exp(z))),
};

const poisson: LossDefinition = {
  name: 'poisson',
  description: 'Poisson negative log-likelihood of rate exp(z): mean over elements of exp(z) − t·z',
  fits: ['count'],
  tensor: (output, target) => tf.mean(tf.sub(tf.exp(output), tf.mul(target, output))),
  host({ values: z }, t) {
    let total = 0;
    for (let i = 0; i < z.length; i++) total += Math.exp(z[i]!) - t[i]! * z[i]!;
    return Math.fround(total / z.length);
  },
};

const logCosh: LossDefinition = {
  name: 'log-cosh',
  description: 'log-cosh: mean over elements of log(cosh(y − t))',
  fits: ['regression'],
  tensor: (output, target) => tf.mean(tf.log(tf.cosh(tf.sub(output, target)))),
  host({ values: y }, t) {
    let total = 0;
    for (let i = 0; i < y.length; i++) total += Math.log(Math.cosh(y[i]! - t[i]!));
    return Math.fround(total / y.length);
  },
};

interface ScaleConfig {
  type: 'scale';
  /** The initial value of s. */
  init: number;
}

class Scale implements Layer {
  readonly factor: tf.Variable;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
  readonly outputShape: number[];
  readonly outputSize: number;
  constructor(name: string, inputShape: readonly number[], init: number) {
    this.factor = makeVariable(`${name}/scale`, Float32Array.of(init), []);
    this.trainable = [this.factor];
    this.outputShape = [...inputShape];
    this.outputSize = this.outputShape.reduce((p, d) => p * d, 1);
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, this.factor);
  }
}

const scaleLayer: LayerDefinition<ScaleConfig> = {
  name: 'scale',
  optionsSchema: { init: { type: 'number', default: 1 } },
  input: 'flat',
  output: 'input',
  outputShape: (_config, input) => ({ shape: [...input] }),
  build: (config, { name, inputShape }) => new Scale(name, inputShape, config.init),
};

const layerConfigText = (trunk: string): string => `name: toy-layer
seed: 3
backend: wasm
data:
  dataset: synthetic-correlated
  options: { samples: 300 }
tasks:
  - { name: y1, type: regression }
  - { name: y2, type: regression }
model:
  trunk:
${trunk}
training:
  epochs: 2
  batch_size: 32
  lr: 0.01
`;

const scaleTrunk = '    - { type: dense, units: 8 }\n    - { type: scale, init: 0.5 }\n';

const layerProblems = (text: string): string[] => configProblems(text, { displayName: 'toy.yaml' });

/** What validation said of a config using `scale` before the type was registered. */
let beforeRegistration: string[] = [];

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  beforeRegistration = layerProblems(layerConfigText(scaleTrunk));
  registerLayer(scaleLayer);
}, 60_000);

taskKindRegistry.register(count);
lossRegistry.register(poisson);
lossRegistry.register(logCosh);

// The registries are process-wide, and the next test file in this worker checks the schema of the built-ins alone.
afterAll(() => {
  for (const loss of [poisson, logCosh]) lossRegistry.delete(loss.name);
  taskKindRegistry.delete(count.name);
  layerRegistry.delete(scaleLayer.name);
  // Deleting a registration is seen by validation as registering one is.
  expect(layerProblems(layerConfigText(scaleTrunk))).toEqual(beforeRegistration);
});

/** 300 rows: y = 2·x1 − x2 + noise, and n a Poisson count of rate exp(0.8·x2 + 0.5) (drawn by inversion). */
function toyCsv(): string {
  const rows = 300;
  const u = values(rows * 5, 7);
  const lines = ['x1,x2,x3,y,n'];
  for (let r = 0; r < rows; r++) {
    const at = (k: number): number => u[r * 5 + k]!;
    const rate = Math.exp(0.8 * at(1) + 0.5);
    const uniform = (at(4) + 1) / 2;
    let n = 0;
    let p = Math.exp(-rate);
    let cumulative = p;
    while (uniform > cumulative && n < 50) {
      n++;
      p *= rate / n;
      cumulative += p;
    }
    lines.push(
      [at(0), at(1), at(2), 2 * at(0) - at(1) + 0.1 * at(3), n].map((x) => String(Math.round(x * 1e4) / 1e4)).join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

const config = (tasks: string): string => `name: toy-kinds
seed: 3
backend: wasm
data:
  csv: toy.csv
tasks:
${tasks}
model:
  trunk: [{ type: dense, units: 16 }, { type: scale, init: 0.5 }]
training:
  epochs: 4
  batch_size: 32
  lr: 0.01
`;

const goodTasks = `  - { name: level, type: regression, target: y, loss: log-cosh }
  - { name: visits, type: count, target: n }`;

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  dir = tempDir('mtl-extensibility-');
  writeFile(dir, 'toy.csv', toyCsv());
});

/** The problems validation reports for a config, one line each, the file named `exp.yaml`. */
function problems(tasks: string): string[] {
  const file = writeFile(dir, 'exp.yaml', config(tasks));
  try {
    loadConfig(file);
  } catch (error) {
    if (error instanceof UsageError) return error.details.map((line) => line.replace(file, 'exp.yaml'));
    throw error;
  }
  return [];
}

describe('a task kind, losses and a layer type registered from user code', () => {
  it('the losses compute what a hand computation gives, as tensor ops and on the host', () => {
    const host = (loss: string, y: number[], t: number[]): number =>
      lossRegistry
        .lookup(loss)
        .host({ values: Float32Array.from(y), rows: 1, width: y.length, backend: {} }, Float32Array.from(t));
    const tensor = (loss: string, y: number[], t: number[]): number =>
      tf.tidy(
        () =>
          lossRegistry
            .lookup(loss)
            .tensor(tf.tensor2d(y, [1, y.length]), tf.tensor2d(t, [1, t.length]))
            .dataSync()[0]!,
      );
    // log cosh 1 = log 1.5430806 = 0.4337808; (0 + 2 · 0.4337808) / 3
    expect(host('log-cosh', [0, 1, -2], [0, 0, -1])).toBeCloseTo(0.2891872, 6);
    expect(tensor('log-cosh', [0, 1, -2], [0, 0, -1])).toBeCloseTo(0.2891872, 6);
    // (e^0 − 1·0 + e^{ln 2} − 3·ln 2) / 2 = (1 + 2 − 2.0794415) / 2
    expect(host('poisson', [0, Math.log(2)], [1, 3])).toBeCloseTo(0.4602793, 6);
    expect(tensor('poisson', [0, Math.log(2)], [1, 3])).toBeCloseTo(0.4602793, 6);
  });

  it('the count kind fits the training mean, trains on t/m and predicts m·exp(z)', () => {
    const column = { kind: 'numeric' as const, name: 'n', values: Float64Array.from([2, 6, 9]) };
    const task = { name: 'visits', type: 'count', targets: ['n'], loss: 'poisson', metrics: [], weight: 1 };
    const encoding = count.fitTarget({
      task,
      field: 'tasks[visits]',
      columns: [column],
      trainRows: Int32Array.from([0, 1]),
      allRows: Int32Array.from([0, 1, 2]),
    });
    expect(encoding).toEqual({ name: 'visits', type: 'count', columns: ['n'], mean: [4] });
    expect(tf.tidy(() => count.trainingTargets(encoding, Float32Array.from([2, 6]), 2).arraySync())).toEqual([
      [0.5],
      [1.5],
    ]);
    expect(
      Array.from(
        count.predictions(encoding, { values: Float32Array.from([0, Math.log(2)]), rows: 2, width: 1, backend: {} }),
      ),
    ).toEqual([4, 8]);
    const bad = { ...column, values: Float64Array.from([2, 1.5]) };
    expect(() =>
      count.fitTarget({
        task,
        field: 'tasks[visits]',
        columns: [bad],
        trainRows: Int32Array.from([0]),
        allRows: Int32Array.from([0, 1]),
      }),
    ).toThrow('tasks[visits]: count target column "n" must hold whole numbers ≥ 0; line 3 has "1.5".');
  });

  it('validation fills the kind defaults and reports a loss or metric that does not fit, as for built-in kinds', () => {
    const loaded = loadConfig(writeFile(dir, 'exp.yaml', config(goodTasks)));
    expect(loaded.config.tasks.map((t) => [t.type, t.loss, t.metrics])).toEqual([
      ['regression', 'log-cosh', ['mse', 'mae', 'r2']],
      ['count', 'poisson', ['mae', 'rmse']],
    ]);
    expect(
      problems(`  - { name: level, type: binary, target: y, loss: log-cosh }
  - { name: visits, type: count, target: n, loss: huber, metrics: [r2] }`),
    ).toEqual([
      'exp.yaml:7:51: tasks[0].loss: loss "log-cosh" does not fit a binary task; use one of: binary-cross-entropy',
      'exp.yaml:8:51: tasks[1].loss: loss "huber" does not fit a count task; use one of: mse, poisson',
      'exp.yaml:8:68: tasks[1].metrics[0]: metric "r2" does not apply to a count task; use one of: mse, mae, rmse',
    ]);
    expect(problems('  - { name: visits, type: counts, target: n }')).toEqual([
      'exp.yaml:7:27: tasks[0].type: "counts" is not allowed; did you mean "count"? Expected one of: multiclass, ' +
        'binary, regression, multilabel, count.',
    ]);
  });

  it(
    'trains a config that uses all of them; the summary has the kind default metrics, and evaluateRun reproduces ' +
      'them',
    async () => {
      const runsDir = tempDir('mtl-extensibility-runs-');
      const summary = await trainExperiment(loadConfig(writeFile(dir, 'exp.yaml', config(goodTasks))), { runsDir });
      expect(summary.status).toBe('completed');
      expect(Object.keys(summary.test).sort()).toEqual(
        [
          'level/loss',
          'level/mae',
          'level/mse',
          'level/r2',
          'mean/loss',
          'mean/mae',
          'mean/mse',
          'mean/r2',
          'mean/rmse',
          'visits/loss',
          'visits/mae',
          'visits/rmse',
        ].sort(),
      );
      for (const value of Object.values(summary.test)) expect(Number.isFinite(value)).toBe(true);
      // Both tasks learned: predicting the training mean (z = 0) scores exactly 1 under the poisson loss on t/m.
      expect(summary.test['visits/loss']).toBeLessThan(0.9);
      expect(summary.test['level/r2']).toBeGreaterThan(0.8);
      // The count kind's encoding is stored with the run as it fitted it.
      const stored = JSON.parse(readFileSync(path.join(summary.dir, 'preprocessing.json'), 'utf8')) as {
        tasks: { type: string }[];
      };
      expect(stored.tasks[1]).toMatchObject({ name: 'visits', type: 'count', columns: ['n'] });

      const evaluation = await evaluateRun(summary.dir, { split: 'test' });
      expect(evaluation.metrics).toEqual(summary.test);
    },
  );
});

describe('a layer type registered from outside the package', () => {
  it('is unknown to configs before it is registered, and known after', () => {
    expect(beforeRegistration).toEqual([
      expect.stringMatching(/^toy\.yaml:13:15: model\.trunk\[1\]\.type: "scale" is not allowed/),
    ]);
    const { config } = parseConfigText(layerConfigText('    - { type: dense, units: 8 }\n    - { type: scale }\n'));
    expect(config.model.trunk[1]).toEqual({ type: 'scale', init: 1 });
  });

  it("reports a misspelled option against the layer's own keys", () => {
    expect(layerProblems(layerConfigText('    - { type: dense, units: 8 }\n    - { type: scale, inti: 2 }\n'))).toEqual(
      ['toy.yaml:13:22: model.trunk[1].inti: unknown field "inti"; did you mean "init"? Allowed here: type, init.'],
    );
  });

  it('gets the rank check its definition declares (a flat input)', () => {
    const trunk = '    - { type: reshape, shape: [4, 4, 1] }\n    - { type: scale }\n    - { type: flatten }\n';
    expect(layerProblems(layerConfigText(trunk))).toEqual([
      'toy.yaml:13:7: model.trunk[1]: a scale layer needs a flat input but gets an image; put { type: flatten } ' +
        'before it',
    ]);
  });

  it('is built by a LayerStack: y = s · x, its variable named by its position', () => {
    const doubling: ScaleConfig = { type: 'scale', init: 2 };
    const stack = new LayerStack('toy', 2, [doubling], createRng(1), new StepClock(1));
    try {
      expect(stack.trainable.map((v) => v.name)).toEqual(['toy/0/scale']);
      expect(stack.outputShape).toEqual([2]);
      const y = stack.apply(tf.tensor2d([[1, -3]]), true);
      expect(Array.from(y.dataSync())).toEqual([2, -6]);
      y.dispose();
    } finally {
      stack.dispose();
    }
  });

  it('trains in a trunk; its learned scalar is in the checkpoint', async () => {
    const summary = await trainExperiment(parseConfigText(layerConfigText(scaleTrunk)), { runsDir: tempDir() });
    expect(summary.status).toBe('completed');
    expect(summary.epochs).toBe(2);
    for (const metric of ['y1/mse', 'y2/mse']) expect(Number.isFinite(summary.test[metric])).toBe(true);
    const checkpoint = path.join(summary.dir, 'checkpoints', 'last');
    const json = JSON.parse(readFileSync(path.join(checkpoint, 'model.json'), 'utf8')) as {
      weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>;
    };
    const entries = json.weightsManifest[0]?.weights ?? [];
    expect(entries.find((w) => w.name === 'shared/1/scale')?.shape).toEqual([]);
    const buffer = readFileSync(path.join(checkpoint, 'weights.bin'));
    const named = tf.io.decodeWeights(
      buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength),
      entries,
    );
    const learned = named['shared/1/scale']?.dataSync()[0];
    for (const tensor of Object.values(named)) tensor.dispose();
    // Trained from 0.5 by two epochs of Adam at lr 0.01: it moved, and stayed finite.
    expect(Number.isFinite(learned)).toBe(true);
    expect(learned).not.toBe(0.5);
  }, 60_000);
});
