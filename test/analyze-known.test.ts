/**
 * `mtl analyze`'s measures on cases with known answers (issue #15): two identical tasks (the same target column, heads
 * set equal) have gradient cosine 1, no conflict and each task's update does for the other exactly what it does for
 * itself; `synthetic-correlated` at correlation 0.9 is more related than at 0 by every measure.
 */
import { tf } from '../src/tf.js';
import { describe, expect, it, vi } from 'vitest';
import { checkpointGradientPass } from '../src/analysis/gradient-pass.js';
import { dataRelatedness } from '../src/analysis/data-relatedness.js';
import { parseConfigText } from '../src/config/load.js';
import { analyzeRun, buildModel, initBackend, prepareData, trainExperiment } from '../src/index.js';
import { KeptTape } from '../src/model/kept-tape.js';
import { ForwardTape } from '../src/model/tape.js';
import { measureAffinity, sgdLookahead } from '../src/train/affinity.js';
import { stepPaths } from '../src/train/task-gradients.js';
import { createOptimizer } from '../src/train/optimizers.js';
import { disposeSplit, toSplitTensors } from '../src/train/tensors.js';
import { printAnalysis } from '../src/cli/analyze.js';
import { tempDir } from './helpers.js';
import { writeSyntheticCsv } from './helpers/csv.js';

const IDENTICAL = (csv: string): string => `name: identical
seed: 2
backend: wasm
data: { csv: ${csv} }
tasks:
  - { name: a, type: regression, target: y }
  - { name: b, type: regression, target: y }
model:
  trunk: [{ type: dense, units: 8, activation: relu }]
training: { batch_size: 16, lr: 0.01 }
`;

describe('identical tasks', () => {
  it('gradient cosine 1, no conflict, affinity to the other = affinity to itself, targets fully related', async () => {
    await initBackend('wasm', { fma: 'off' });
    const dir = tempDir('mtl-identical-');
    const csv = writeSyntheticCsv(dir, 'same.csv', {
      seed: 4,
      rows: 80,
      header: ['x0', 'x1', 'x2', 'y'],
      row: (rng) => {
        const x = [rng.normal(), rng.normal(), rng.normal()] as const;
        return [...x, x[0] - 0.5 * x[1] + 0.1 * rng.normal()];
      },
    });
    const config = parseConfigText(IDENTICAL(csv)).config;
    const data = await prepareData(config, dir);
    const model = buildModel(config, data.preprocessing);
    const split = toSplitTensors(data.splits.train, data.preprocessing);
    const optimizer = createOptimizer(config.training, [...model.sharedVariables]);
    try {
      // The same head for both tasks: the two tasks are then one task twice.
      const [own, other] = [model.taskVariables['a'] ?? [], model.taskVariables['b'] ?? []];
      own.forEach((v, k) => other[k]?.assign(v));
      const gradient = checkpointGradientPass(model, split, config.tasks, 16, 'best');
      expect(gradient?.steps).toBe(Math.ceil(split.rows / 16));
      expect(gradient?.meanCosine['a|b']).toBeCloseTo(1, 6);
      expect(gradient?.conflictFraction['a|b']).toBe(0);

      const batch = { x: split.x, targets: split.targets };
      const z = measureAffinity(model, batch, config.tasks, (g) => optimizer.lookahead(g, 0.01));
      expect(z[0]?.[0]).toBeGreaterThan(0);
      expect(z[0]?.[1]).toBe(z[0]?.[0]);
      expect(z[1]?.[0]).toBe(z[1]?.[1]);
      expect(z[0]?.[1]).toBe(z[1]?.[0]);
      const paper = measureAffinity(model, batch, config.tasks, (g) => sgdLookahead(model, g, 0.01));
      expect(paper[0]?.[0]).toBeGreaterThan(0);
      expect(paper[0]?.[1]).toBe(paper[0]?.[0]);

      const targets = dataRelatedness(data.splits.train, data.preprocessing, config.tasks);
      expect(targets.association['a|b']).toBeCloseTo(1, 12);
      expect(targets.normalisedMutualInformation['a|b']).toBeCloseTo(1, 12);
    } finally {
      optimizer.dispose();
      disposeSplit(split);
      model.dispose();
    }
  });

  it.each([
    ['hard-sharing', '', 'own'],
    ['mmoe', 'architecture: mmoe, experts: 3, ', 'own'],
    // No recorded shared part of its own: the model forward once per batch on TF.js's kept tape.
    ['cross-stitch', 'architecture: cross-stitch, ', 'kept'],
  ] as const)(
    'the checkpoint pass on %s records the shared part once per batch, same numbers as a pass per task',
    async (_, arch, tape) => {
      await initBackend('wasm', { fma: 'off' });
      const config = parseConfigText(`name: t
backend: wasm
data: { dataset: synthetic-correlated, options: { samples: 120 } }
tasks: [{ name: y1, type: regression }, { name: y2, type: regression }]
model: { ${arch}trunk: [{ type: dense, units: 8, activation: relu }, { type: dropout, rate: 0.3 }] }
`).config;
      const data = await prepareData(config, '.');
      const model = buildModel(config, data.preprocessing);
      const split = toSplitTensors(data.splits.train, data.preprocessing);
      const record = tape === 'own' ? vi.spyOn(ForwardTape, 'record') : vi.spyOn(KeptTape, 'record');
      try {
        const tensors = tf.memory().numTensors;
        const taped = checkpointGradientPass(model, split, config.tasks, 16, 'best');
        expect(record).toHaveBeenCalled();
        expect(tf.memory().numTensors).toBe(tensors);
        stepPaths.retainedTrunk = false;
        record.mockClear();
        const perTask = checkpointGradientPass(model, split, config.tasks, 16, 'best');
        expect(record).not.toHaveBeenCalled();
        expect(taped).toEqual(perTask);
        expect(taped?.steps).toBe(Math.ceil(split.rows / 16));
      } finally {
        stepPaths.retainedTrunk = true;
        record.mockRestore();
        disposeSplit(split);
        model.dispose();
      }
    },
  );

  it('measuring affinity leaves every shared variable bit for bit as it was and leaks no tensor', async () => {
    await initBackend('wasm', { fma: 'off' });
    const config = parseConfigText(`name: t
backend: wasm
data: { dataset: synthetic-correlated, options: { samples: 100 } }
tasks: [{ name: y1, type: regression }, { name: y2, type: regression }]
model: { trunk: [{ type: dense, units: 8, activation: relu }, { type: dropout, rate: 0.3 }] }
`).config;
    const data = await prepareData(config, '.');
    const model = buildModel(config, data.preprocessing);
    const split = toSplitTensors(data.splits.train, data.preprocessing);
    const optimizer = createOptimizer(config.training, [...model.sharedVariables]);
    const before = model.sharedVariables.map((v) => Array.from(v.dataSync()));
    const tensors = tf.memory().numTensors;
    model.setStep(3);
    measureAffinity(model, { x: split.x, targets: split.targets }, config.tasks, (g) => optimizer.lookahead(g, 0.1));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(model.sharedVariables.map((v) => Array.from(v.dataSync()))).toEqual(before);
    optimizer.dispose();
    disposeSplit(split);
    model.dispose();
  });
});

function correlated(correlation: number, strategy: string, affinity: boolean): string {
  return `name: rho-${correlation}
seed: 11
backend: wasm
data:
  dataset: synthetic-correlated
  options: { correlation: ${correlation}, samples: 1200 }
tasks:
  - { name: y1, type: regression }
  - { name: y2, type: regression }
model:
  trunk: [{ type: dense, units: 16, activation: relu }]
training: { epochs: 4, batch_size: 64, lr: 0.01 }
strategy: ${strategy}
analysis: { affinity: ${affinity} }
`;
}

async function analysed(correlation: number, strategy: string, affinity: boolean) {
  const runsDir = tempDir('mtl-rho-');
  const run = await trainExperiment(parseConfigText(correlated(correlation, strategy, affinity)), { runsDir });
  return analyzeRun(run.id, { runsDir });
}

describe('synthetic-correlated: correlation 0.9 is more related than 0 by every measure', () => {
  it.each([
    ['pcgrad (cosines from the training log)', '{ name: pcgrad }', true, 'training-log'],
    ['equal with affinity (cosines of the gradients affinity takes, logged)', '{ name: equal }', true, 'training-log'],
    ['equal (cosines from a pass over the checkpoint)', '{ name: equal }', false, 'checkpoint-pass'],
  ] as const)('%s', async (_name, strategy, withAffinity, source) => {
    const low = await analysed(0, strategy, withAffinity);
    const high = await analysed(0.9, strategy, withAffinity);
    expect(high.gradient?.source).toBe(source);
    const cosine = (r: typeof low) => r.gradient?.meanCosine['y1|y2'] ?? NaN;
    const conflict = (r: typeof low) => r.gradient?.conflictFraction['y1|y2'] ?? NaN;
    const affinity = (r: typeof low) =>
      ((r.affinity?.affinity['y1>y2'] ?? NaN) + (r.affinity?.affinity['y2>y1'] ?? NaN)) / 2;
    const outputs = (r: typeof low) => r.model?.representationCka['y1|y2'] ?? NaN;
    const heads = (r: typeof low) => r.model?.parameters[0]?.cka['y1|y2'] ?? NaN;
    const association = (r: typeof low) => r.data?.association['y1|y2'] ?? NaN;
    const information = (r: typeof low) => r.data?.mutualInformation['y1|y2'] ?? NaN;
    expect(cosine(high)).toBeGreaterThan(cosine(low));
    expect(conflict(high)).toBeLessThanOrEqual(conflict(low));
    if (withAffinity) expect(affinity(high)).toBeGreaterThan(affinity(low));
    else expect(high.affinity).toBeNull();
    expect(outputs(high)).toBeGreaterThan(outputs(low));
    expect(high.model?.parameters[0]?.layer).toBe('tasks/*/output/kernel');
    expect(heads(high)).toBeGreaterThan(heads(low));
    expect(association(high)).toBeGreaterThan(0.5);
    expect(Math.abs(association(low))).toBeLessThan(0.2);
    expect(information(high)).toBeGreaterThan(information(low));
    expect(high.grouping?.source).toBe(withAffinity ? 'affinity' : 'gradient-cosine');
    expect(high.grouping?.groups).toEqual([['y1', 'y2']]);
    // Unrelated tasks at a trained checkpoint: cosine just below 0, flagged, with where it was measured.
    const flagged = low.warnings.map((w) => w.reason);
    if (source === 'checkpoint-pass') expect(flagged[0]).toMatch(/mean gradient cosine .* < 0.*at the best checkpoint/);
    else expect(flagged).toEqual([]);
    // The report never suggests training together a pair it warns about.
    for (const report of [low, high]) {
      const groups = report.grouping?.groups ?? [];
      const warned = report.warnings.filter((w) => groups.some((g) => w.tasks.every((t) => g.includes(t))));
      expect(warned).toEqual([]);
    }
  });
});

describe('the printed report', () => {
  it('shows the single-task comparison when the run has one, and the affinity matrix with its diagonal', () => {
    const lines: string[] = [];
    printAnalysis(
      {
        run: 'r',
        createdAt: '',
        tasks: ['a', 'b'],
        gradient: null,
        affinity: {
          steps: 4,
          everySteps: 1,
          affinity: { 'a>a': 0.5, 'a>b': -0.25, 'b>a': 0.125, 'b>b': 1 },
          perEpoch: [],
        },
        performance: {
          baseline: 'single-task',
          split: 'test',
          tasks: [
            { task: 'a', metrics: [], gain: 0.05 },
            { task: 'b', metrics: [], gain: -0.1 },
          ],
          deltaM: -0.025,
          baselineRuns: {},
        },
        model: null,
        data: null,
        grouping: null,
        warnings: [],
        unavailable: {},
        rules: {},
      },
      (line = '') => lines.push(line),
      () => undefined,
    );
    const text = lines.join('\n');
    expect(text).toContain('performance (MTL against single-task baselines, test split; gain > 0: MTL better)');
    expect(text).toMatch(/^a +\+5\.00% +—$/m);
    expect(text).toMatch(/^b +-10\.00% +—$/m);
    expect(text).toContain('Δm -2.50%');
    expect(text).toMatch(/^a → a +0\.5000$/m);
    expect(text).toMatch(/^a → b +-0\.2500$/m);
  });

  it('names the warned pairs the suggested grouping keeps apart, next to the grouping', () => {
    const lines: string[] = [];
    printAnalysis(
      {
        run: 'r',
        createdAt: '',
        tasks: ['a', 'b', 'c'],
        gradient: null,
        affinity: null,
        performance: null,
        model: null,
        data: null,
        grouping: {
          source: 'affinity',
          groups: [['a', 'c'], ['b']],
          score: 0.9,
          search: 'exhaustive',
          keptApart: [['a', 'b']],
          rule: '',
        },
        warnings: [{ tasks: ['a', 'b'], reason: 'affinity negative both ways (a→b -0.100, b→a -0.0500)' }],
        unavailable: {},
        rules: {},
      },
      (line = '') => lines.push(line),
      () => undefined,
    );
    expect(lines).toEqual([
      'suggested grouping (from affinity): {a, c} {b}',
      'kept apart: a + b (flagged below; by affinity alone the pair would share a group)',
      'warning: a + b: affinity negative both ways (a→b -0.100, b→a -0.0500)',
    ]);
  });
});
