/**
 * What training measures for `mtl analyze` (issue #15 points 1–2): the fraction of steps whose task gradients
 * conflict, logged per epoch next to the cosines, and inter-task affinity (Fifty et al. 2021) with
 * `analysis.affinity: true`, which must leave the training trajectory bit for bit as it was.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { gradientsFromLog } from '../src/analysis/gradient-pass.js';
import { analyzeRun, readEpochLog, readMetricRows, trainExperiment } from '../src/index.js';
import { EpochDiagnostics } from '../src/train/diagnostics.js';
import { tempDir } from './helpers.js';
import { digitsConfig } from './helpers/configs.js';
import { configProblems } from './helpers/expect.js';

const TRUNK = ['{ type: dense, units: 16, activation: relu }', '{ type: dropout, rate: 0.2 }', '{ type: batch-norm }'];

function config(strategy: string, analysis = '', optimizer = 'adam'): string {
  const base = digitsConfig({
    name: 'analysis',
    seed: 3,
    samples: 240,
    trunk: TRUNK,
    training: { lr: 0.01, batch_size: 32, epochs: 3, optimizer },
  });
  return `${base}strategy: ${strategy}\n${analysis}`;
}

async function train(text: string, overrides: string[] = []): Promise<string> {
  const run = await trainExperiment(parseConfigText(text, { overrides }), { runsDir: tempDir('mtl-analysis-') });
  expect(run.status).toBe('completed');
  return run.dir;
}

function withoutCosines<T extends { gradientCosines?: unknown; gradientConflicts?: unknown; gradientSteps?: unknown }>(
  epoch: T,
): unknown {
  const { gradientCosines: _c, gradientConflicts: _f, gradientSteps: _n, ...rest } = epoch;
  return rest;
}

/** The logs without timings and affinity; `keepCosines` false: without the gradient cosines and conflicts too. */
function withoutTimings(dir: string, keepCosines = true): unknown {
  // The cosines of a strategy that logs none come from affinity's task gradients: compared on their own below.
  const epochs = readEpochLog(dir).map(
    ({ seconds: _s, samplesPerSecond: _r, taskAffinity: _a, affinitySteps: _n, ...rest }) =>
      keepCosines ? rest : withoutCosines(rest),
  );
  return { rows: readMetricRows(dir), epochs };
}

describe('gradient conflicts in the epoch log', () => {
  it('a gradient strategy logs, per pair, the fraction of steps with cosine < 0', async () => {
    const dir = await train(config('{ name: pcgrad }'));
    const epochs = readEpochLog(dir);
    expect(epochs).toHaveLength(3);
    for (const epoch of epochs) {
      const conflict = epoch.gradientConflicts?.['left|right'];
      expect(conflict).toBeDefined();
      // 240 rows at 60/20/20 → 144 training rows → 5 steps per epoch: a fraction in fifths.
      const fifths = (conflict ?? NaN) * 5;
      expect(Math.abs(fifths - Math.round(fifths))).toBeLessThan(1e-9);
      expect(conflict).toBeGreaterThanOrEqual(0);
      expect(conflict).toBeLessThanOrEqual(1);
    }
  });

  it('a loss-weighting strategy logs none', async () => {
    const dir = await train(config('{ name: equal }'));
    expect(readEpochLog(dir)[0]?.gradientConflicts).toBeUndefined();
  });
});

describe('inter-task affinity during training', () => {
  it.each([
    ['equal, adam', '{ name: equal }', 'adam', 'optimizer', []],
    ['pcgrad, momentum', '{ name: pcgrad }', 'momentum', 'optimizer', []],
    ['equal, sgd', '{ name: equal }', 'sgd', 'optimizer', []],
    ['equal, adam, the paper’s sgd lookahead', '{ name: equal }', 'adam', 'sgd', []],
    ['pcgrad on the representation', '{ name: pcgrad, grad_target: representation }', 'adam', 'optimizer', []],
    ['uncertainty on mmoe', '{ name: uncertainty }', 'adam', 'optimizer', ['model.architecture=mmoe']],
    ['famo on cross-stitch', '{ name: famo }', 'adam', 'optimizer', ['model.architecture=cross-stitch']],
  ])('%s: the trajectory is the same with it, and Z is logged per epoch', async (_n, strategy, opt, lookahead, set) => {
    const plain = await train(config(strategy, '', opt), set);
    const analysis = `analysis: { affinity: true, affinity_every: 2, affinity_lookahead: ${lookahead} }\n`;
    const measured = await train(config(strategy, analysis, opt), set);
    const strategyLogsCosines = readEpochLog(plain)[0]?.gradientCosines !== undefined;
    expect(withoutTimings(measured, strategyLogsCosines)).toEqual(withoutTimings(plain, strategyLogsCosines));
    const epochs = readEpochLog(measured);
    // Steps 0..14, every 2nd: 0, 2, 4 in epoch 1; 6, 8 in epoch 2; 10, 12, 14 in epoch 3.
    expect(epochs.map((e) => e.affinitySteps)).toEqual([3, 2, 3]);
    for (const epoch of epochs) {
      expect(Object.keys(epoch.taskAffinity ?? {}).sort()).toEqual([
        'left>left',
        'left>right',
        'right>left',
        'right>right',
      ]);
      for (const z of Object.values(epoch.taskAffinity ?? {})) expect(Number.isFinite(z)).toBe(true);
    }
    expect(readEpochLog(plain)[0]?.taskAffinity).toBeUndefined();
    // A strategy that takes no task gradients gets them logged from affinity's, over the measured steps; a gradient
    // strategy logs them at every step (5 per epoch).
    expect(epochs.map((e) => e.gradientSteps)).toEqual(strategyLogsCosines ? [5, 5, 5] : [3, 2, 3]);
    if (!strategyLogsCosines) {
      for (const epoch of epochs) {
        const cosine = epoch.gradientCosines?.['left|right'] ?? NaN;
        expect(Math.abs(cosine)).toBeLessThanOrEqual(1);
        // A fraction of the epoch's measured steps (3, 2, 3 of them).
        const conflicts = (epoch.gradientConflicts?.['left|right'] ?? NaN) * (epoch.affinitySteps ?? NaN);
        expect(Math.abs(conflicts - Math.round(conflicts))).toBeLessThan(1e-9);
      }
    }
  });

  it('mtl analyze counts the steps the logged cosines are over: the measured ones, not every batch', async () => {
    const analysis = 'analysis: { affinity: true, affinity_every: 2 }\n';
    const dir = await train(config('{ name: equal }', analysis));
    const report = await analyzeRun(dir);
    expect(report.gradient?.source).toBe('training-log');
    // 8 measured steps (3, 2, 3) of the 15 trained; the mean over training weighs each epoch by its steps.
    expect(report.gradient?.steps).toBe(8);
    const epochs = readEpochLog(dir);
    const weighted = epochs.reduce(
      (s, e) => s + (e.gradientConflicts?.['left|right'] ?? NaN) * (e.gradientSteps ?? 0),
      0,
    );
    expect(report.gradient?.conflictFraction['left|right']).toBeCloseTo(weighted / 8, 12);
    // Logs from before `gradientSteps` fall back to affinity's count for a strategy that takes no gradients.
    const old = epochs.map(({ gradientSteps: _n, ...rest }) => rest);
    expect(gradientsFromLog(old, (e) => e.affinitySteps ?? 5, 'parameters')?.steps).toBe(8);
  });

  it('is refused, with the file position, where the architecture shares no parameters', () => {
    const text = `name: t
data: { dataset: multi-digits }
tasks:
  - { name: left, type: multiclass }
  - { name: right, type: multiclass }
model: { architecture: soft-sharing }
analysis:
  affinity: true
`;
    const problems = configProblems(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^exp\.yaml:8:\d+: analysis\.affinity: inter-task affinity .*"soft-sharing" shares no/);
  });

  it('refuses a misspelled key and a zero period', () => {
    const base = `${'name: t\ndata: { dataset: multi-digits }\ntasks:\n  - { name: left, type: multiclass }\n'}`;
    expect(configProblems(`${base}analysis: { affinty: true }\n`)[0]).toContain('affinty');
    expect(configProblems(`${base}analysis: { affinity_every: 0 }\n`)[0]).toContain('analysis.affinity_every');
    // Tuning a measurement that is off does nothing: refused as other options that do nothing are (it was accepted).
    expect(configProblems(`${base}analysis: { affinity_every: 5, affinity_lookahead: optimizer }\n`)).toEqual([
      expect.stringMatching(/analysis\.affinity_every: has no effect: inter-task affinity is not measured/),
      expect.stringMatching(/analysis\.affinity_lookahead: has no effect: .*or remove "affinity_lookahead"\.$/),
    ]);
    expect(() => parseConfigText(`${base}analysis: { affinity: true, affinity_every: 5 }\n`)).not.toThrow();
  });
});

describe('epoch diagnostics', () => {
  const tasks = [{ name: 'a' }, { name: 'b' }];
  const partial = {
    stepLosses: [],
    stepSizes: [],
    seconds: 0,
    cosineSteps: 2,
    cosineSum: [
      [2, 0.5],
      [0.5, 2],
    ],
  };

  it('count conflicts and average cosines and affinity, keyed a|b and a>b', () => {
    const diagnostics = new EpochDiagnostics();
    diagnostics.addCosines([
      [1, -0.5],
      [-0.5, 1],
    ]);
    diagnostics.addCosines([
      [1, 0.25],
      [0.25, 1],
    ]);
    diagnostics.addAffinity([
      [0.5, -0.25],
      [0.125, 1],
    ]);
    expect(diagnostics.record(tasks)).toEqual({
      gradientCosines: { 'a|b': -0.125 },
      gradientConflicts: { 'a|b': 0.5 },
      gradientSteps: 2,
      taskAffinity: { 'a>a': 0.5, 'a>b': -0.25, 'b>a': 0.125, 'b>b': 1 },
      affinitySteps: 1,
    });
  });

  it('continue from a mid-epoch snapshot; one from before conflicts were counted logs none for that epoch', () => {
    const resumed = new EpochDiagnostics({
      ...partial,
      conflictCount: [
        [0, 1],
        [1, 0],
      ],
    });
    resumed.addCosines([
      [1, -0.5],
      [-0.5, 1],
    ]);
    expect(resumed.record(tasks)).toEqual({
      gradientCosines: { 'a|b': 0 },
      gradientConflicts: { 'a|b': 2 / 3 },
      gradientSteps: 3,
    });
    const older = new EpochDiagnostics(partial);
    older.addCosines([
      [1, -0.5],
      [-0.5, 1],
    ]);
    expect(older.record(tasks)).toEqual({ gradientCosines: { 'a|b': 0 }, gradientSteps: 3 });
  });
});
