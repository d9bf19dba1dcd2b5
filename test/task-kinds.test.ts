/**
 * The task kinds (src/tasks/kinds/): what each fits from the target columns (and the errors it gives), its output
 * width, the targets metrics read, the training targets, the predictions, and its defaults; the schema's enums.
 */
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { buildExperimentSchema } from '../src/config/schema.js';
import type { TaskConfig } from '../src/config/types.js';
import type { Column, DataTable } from '../src/data/types.js';
import { UsageError } from '../src/errors.js';
import { metricRegistry } from '../src/metrics/registry.js';
import { applicableMetrics, lossRegistry, outputSize, taskKindRegistry } from '../src/tasks/registry.js';
import type { TargetEncoding } from '../src/tasks/types.js';

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
});

const numeric = (name: string, values: number[]): Column => ({
  kind: 'numeric',
  name,
  values: Float64Array.from(values),
});
const text = (name: string, values: string[]): Column => ({ kind: 'categorical', name, values });
const rows = (...indices: number[]): Int32Array => Int32Array.from(indices);

function tableOf(...columns: Column[]): DataTable {
  return { source: 'data.csv', rowCount: columns[0]?.values.length ?? 0, columns };
}

function taskOf(type: string, targets: string[], extra: Partial<TaskConfig> = {}): TaskConfig {
  const kind = taskKindRegistry.lookup(type);
  return { name: 't', type, targets, loss: kind.defaultLoss, metrics: [...kind.defaultMetrics], weight: 1, ...extra };
}

/** Fits the task's kind on `trainRows` (labels from `allRows`, default: every row), as preprocessing does. */
function fitEncoding(table: DataTable, task: TaskConfig, trainRows?: Int32Array, allRows?: Int32Array): TargetEncoding {
  const every = rows(...Array.from({ length: table.rowCount }, (_, i) => i));
  const columns = task.targets.map((name) => table.columns.find((c) => c.name === name) as Column);
  return taskKindRegistry.lookup(task.type).fitTarget({
    task,
    field: `tasks[${task.name}]`,
    columns,
    trainRows: trainRows ?? every,
    allRows: allRows ?? every,
  });
}

const encode = (table: DataTable, encoding: TargetEncoding, at: Int32Array): number[] =>
  Array.from(taskKindRegistry.lookup(encoding.type).encodeTargets(table, encoding, at));

function trainingTargets(encoding: TargetEncoding, targets: number[], count: number): number[][] {
  return tf.tidy(() =>
    taskKindRegistry.lookup(encoding.type).trainingTargets(encoding, Float32Array.from(targets), count).arraySync(),
  );
}

describe('multiclass', () => {
  const table = tableOf(numeric('digit', [10, 2, 2, 7]));

  it('classes are the distinct labels of every usable row, numbers in numeric order; one output each', () => {
    // Row 0 ("10") is outside the training rows but still gets an output unit.
    const encoding = fitEncoding(table, taskOf('multiclass', ['digit']), rows(1, 2, 3));
    expect(JSON.stringify(encoding)).toBe('{"name":"t","type":"multiclass","column":"digit","classes":["2","7","10"]}');
    expect(outputSize(encoding)).toBe(3);
    expect(encode(table, encoding, rows(0, 1, 3))).toEqual([2, 0, 1]);
    expect(trainingTargets(encoding, [2, 0], 2)).toEqual([
      [0, 0, 1],
      [1, 0, 0],
    ]);
  });

  it('a single label, and a label unseen in training, are usage errors naming the column and the line', () => {
    expect(() => fitEncoding(tableOf(text('c', ['a', 'a'])), taskOf('multiclass', ['c']))).toThrow(
      'tasks[t]: column "c" has a single label; a classification task needs at least 2.',
    );
    const encoding = fitEncoding(table, taskOf('multiclass', ['digit']));
    const other = tableOf(numeric('digit', [2, 3]));
    expect(() => encode(other, encoding, rows(0, 1))).toThrow(UsageError);
    expect(() => encode(other, encoding, rows(0, 1))).toThrow(
      'data.csv: line 3: label "3" of "digit" was not seen in training (known: 2, 7, 10); the model has no output ' +
        'for it: leave such rows out or relabel them.',
    );
  });

  it('predictions are the backend softmax when evaluation read it, else the softmax on the host', () => {
    const kind = taskKindRegistry.lookup('multiclass');
    const encoding = fitEncoding(table, taskOf('multiclass', ['digit']));
    const softmax = Float32Array.from([0.1, 0.2, 0.7]);
    const values = Float32Array.from([0, Math.log(2), Math.log(7)]);
    expect(kind.predictions(encoding, { values, rows: 1, width: 3, backend: { softmax } })).toBe(softmax);
    const onHost = Array.from(kind.predictions(encoding, { values, rows: 1, width: 3, backend: {} }));
    [0.1, 0.2, 0.7].forEach((p, i) => expect(onHost[i]).toBeCloseTo(p, 6));
    expect(kind.backendTransforms).toEqual(['softmax']);
  });
});

describe('binary', () => {
  const table = tableOf(text('smoker', ['yes', 'no', 'yes']));

  it('the positive class is the larger label, or `positive`; one output, 0/1 targets', () => {
    const byDefault = fitEncoding(table, taskOf('binary', ['smoker']));
    expect(JSON.stringify(byDefault)).toBe('{"name":"t","type":"binary","column":"smoker","classes":["no","yes"]}');
    const flipped = fitEncoding(table, taskOf('binary', ['smoker'], { positive: 'no' }));
    expect(JSON.stringify(flipped)).toBe('{"name":"t","type":"binary","column":"smoker","classes":["yes","no"]}');
    expect(outputSize(flipped)).toBe(1);
    expect(encode(table, flipped, rows(0, 1, 2))).toEqual([0, 1, 0]);
    expect(trainingTargets(flipped, [0, 1, 0], 3)).toEqual([[0], [1], [0]]);
  });

  it('predictions are σ(z), finite for large |z|', () => {
    const kind = taskKindRegistry.lookup('binary');
    const encoding = fitEncoding(table, taskOf('binary', ['smoker']));
    const predictions = kind.predictions(encoding, {
      values: Float32Array.from([0, Math.log(3), -800]),
      rows: 3,
      width: 1,
      backend: {},
    });
    expect(Array.from(predictions)).toEqual([0.5, 0.75, 0]);
  });

  it('not exactly two labels, or a positive that is no label, are usage errors', () => {
    expect(() => fitEncoding(tableOf(text('c', ['a', 'b', 'c'])), taskOf('binary', ['c']))).toThrow(
      'tasks[t]: a binary task needs exactly 2 distinct labels in column "c", found 3 (a, b, c). Use type ' +
        'multiclass for more.',
    );
    expect(() => fitEncoding(table, taskOf('binary', ['smoker'], { positive: 'maybe' }))).toThrow(
      'tasks[t].positive: "maybe" is not a label of "smoker" (labels: no, yes)',
    );
  });
});

describe('multilabel', () => {
  const table = tableOf(numeric('red', [1, 0]), numeric('round', [1, 1]));

  it('one output per 0/1 column; the targets as they are', () => {
    const encoding = fitEncoding(table, taskOf('multilabel', ['red', 'round']));
    expect(JSON.stringify(encoding)).toBe('{"name":"t","type":"multilabel","columns":["red","round"]}');
    expect(outputSize(encoding)).toBe(2);
    expect(encode(table, encoding, rows(1, 0))).toEqual([0, 1, 1, 1]);
    expect(trainingTargets(encoding, [0, 1, 1, 1], 2)).toEqual([
      [0, 1],
      [1, 1],
    ]);
  });

  it('a value other than 0 or 1 is a usage error naming the column and the line', () => {
    expect(() => fitEncoding(tableOf(numeric('red', [1, 2])), taskOf('multilabel', ['red']))).toThrow(
      'tasks[t]: multilabel target column "red" must hold 0 or 1; line 3 has "2".',
    );
  });
});

describe('regression', () => {
  const table = tableOf(numeric('price', [1, 3, 100]), numeric('flat', [5, 5, 5]));

  it(
    'mean and std come from the training rows only (a constant column keeps std 1); heads learn standardised ' +
      'targets',
    () => {
      const encoding = fitEncoding(table, taskOf('regression', ['price', 'flat']), rows(0, 1));
      expect(JSON.stringify(encoding)).toBe(
        '{"name":"t","type":"regression","columns":["price","flat"],"mean":[2,5],"std":[1,1]}',
      );
      expect(outputSize(encoding)).toBe(2);
      expect(encode(table, encoding, rows(2))).toEqual([100, 5]);
      expect(trainingTargets(encoding, [100, 5, 1, 5], 2)).toEqual([
        [98, 0],
        [-1, 0],
      ]);
    },
  );

  it('predictions are y·std + mean, in original units', () => {
    const encoding = fitEncoding(table, taskOf('regression', ['price']), rows(0, 1));
    const predictions = taskKindRegistry
      .lookup('regression')
      .predictions(encoding, { values: Float32Array.from([0, 1.5]), rows: 2, width: 1, backend: {} });
    expect(Array.from(predictions)).toEqual([2, 3.5]);
  });

  it('a text column is a usage error', () => {
    expect(() => fitEncoding(tableOf(text('price', ['', 'cheap'])), taskOf('regression', ['price']))).toThrow(
      'tasks[t]: regression target column "price" must hold finite numbers; line 3 has "cheap". Fix it, or use type ' +
        'multiclass if the column holds classes.',
    );
  });
});

describe('registry', () => {
  it('each kind has its default metrics, and they apply to it', () => {
    const defaults = (type: string): readonly string[] => taskKindRegistry.lookup(type).defaultMetrics;
    expect(defaults('multiclass')).toEqual(['accuracy', 'macro-f1', 'log-loss']);
    expect(defaults('binary')).toEqual(['accuracy', 'auc', 'macro-f1', 'log-loss']);
    expect(defaults('regression')).toEqual(['mse', 'mae', 'r2']);
    expect(defaults('multilabel')).toEqual(['accuracy', 'macro-f1', 'auc', 'log-loss']);
    for (const kind of taskKindRegistry.values()) {
      for (const name of kind.defaultMetrics) {
        expect(metricRegistry.get(name)?.appliesTo).toContain(kind.metricLayout);
        expect(applicableMetrics(kind)).toContain(name);
      }
    }
    expect(applicableMetrics(taskKindRegistry.lookup('binary'))).toEqual(['accuracy', 'macro-f1', 'auc', 'log-loss']);
  });

  it('the schema lists the registered kinds and losses', () => {
    const task = (
      buildExperimentSchema()['properties'] as Record<
        string,
        { items: { properties: Record<string, { enum: string[] }> } }
      >
    )['tasks']?.items.properties;
    expect(task?.['type']?.enum).toEqual(['multiclass', 'binary', 'regression', 'multilabel']);
    expect(task?.['loss']?.enum).toEqual(lossRegistry.names());
  });

  it('an unknown kind is a usage error with the closest name', () => {
    expect(() => taskKindRegistry.lookup('multi-class')).toThrow(
      'Unknown task type "multi-class". Did you mean "multiclass"?',
    );
  });
});
