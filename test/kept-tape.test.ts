import path from 'node:path';
import { tf } from '../src/tf.js';
import { afterEach, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import { KeptEncoding, KeptTape, Recording } from '../src/model/kept-tape.js';
import type { MultiTaskModel } from '../src/model/types.js';
import { stepPaths } from '../src/train/task-gradients.js';
import { tempDir } from './helpers.js';
import { digitsConfig } from './helpers/configs.js';
import { configText, writeSources } from './helpers/multi-input.js';
import { shiftedConfig, writeShiftedSources } from './helpers/adversarial.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { checkpointHashes, runLogs } from './helpers/resume-check.js';

beforeAll(async () => {
  await initBackend('wasm');
}, 60_000);
afterEach(() => {
  stepPaths.retainedTrunk = true;
  vi.restoreAllMocks();
});

const DENSE_TRUNK = [
  '{ type: dense, units: 24, activation: relu }',
  '{ type: dropout, rate: 0.2 }',
  '{ type: dense, units: 12, activation: relu }',
];
// Layers the steps' own tape has no recorded form for: batch-norm (its statistics move once per step), layer-norm
// and a tanh activation, so hard sharing's trunk falls back to the kept tape.
const NORM_TRUNK = [
  '{ type: dense, units: 24, activation: relu }',
  '{ type: batch-norm }',
  '{ type: dropout, rate: 0.2 }',
  '{ type: dense, units: 12, activation: tanh }',
  '{ type: layer-norm }',
];

async function train(
  strategy: string,
  model: string,
  trunk: readonly string[],
  runsDir: string,
): Promise<{ dir: string; test: unknown }> {
  const base = digitsConfig({
    name: 'kept',
    seed: 4,
    samples: 300,
    trunk,
    training: { batch_size: 64, epochs: 2, lr: 0.01 },
  });
  const text = `${base.replace('model:\n', `model:\n${model}`)}strategy: ${strategy}\n`;
  const summary = await trainExperiment(parseConfigText(text), { runsDir });
  return { dir: summary.dir, test: summary.test };
}

/**
 * Trains with `run` on the one-forward path (`recorder` must be called, unless `recorded` is false), then with
 * `stepPaths.retainedTrunk = false` (it must not be): test metrics, logs and checkpoint bytes must be the same. Returns
 * the first run.
 */
async function expectSameBothWays(
  run: () => Promise<{ dir: string; test: unknown }>,
  recorder: MockInstance,
  recorded = true,
): Promise<{ dir: string; test: unknown }> {
  const once = await run();
  if (recorded) expect(recorder).toHaveBeenCalled();
  stepPaths.retainedTrunk = false;
  recorder.mockClear();
  const perTask = await run();
  expect(recorder).not.toHaveBeenCalled();
  expect(once.test).toEqual(perTask.test);
  expect(runLogs(once.dir)).toEqual(runLogs(perTask.dir));
  expect(checkpointHashes(once.dir)).toEqual(checkpointHashes(perTask.dir));
  return once;
}

describe('gradient methods on the kept TF.js tape (one forward pass per step for any model)', () => {
  // [strategy, model section lines, trunk, the kept recorder the step must use]
  // The recorder: the kept tape of the task steps, of the representation step, or the loss step's (GradNorm).
  const cases: Array<[string, string, readonly string[], 'tasks' | 'encoding' | 'step']> = [
    ['{ name: pcgrad }', '  architecture: cross-stitch\n', DENSE_TRUNK, 'tasks'],
    ['{ name: sdmgrad }', '  architecture: cross-stitch\n', DENSE_TRUNK, 'tasks'],
    [
      '{ name: cagrad }',
      '  architecture: ple\n  levels: 2\n  shared_experts: 2\n  task_experts: 1\n',
      DENSE_TRUNK,
      'tasks',
    ],
    ['{ name: nash-mtl }', '  architecture: attention\n', DENSE_TRUNK, 'tasks'],
    ['{ name: pcgrad }', '  architecture: shared-private\n', DENSE_TRUNK, 'tasks'],
    ['{ name: pcgrad }', '', NORM_TRUNK, 'tasks'],
    ['{ name: gradnorm }', '', NORM_TRUNK, 'step'],
    ['{ name: mgda }', '', NORM_TRUNK, 'encoding'],
    ['{ name: pcgrad, grad_target: representation }', '', NORM_TRUNK, 'encoding'],
  ];
  for (const [strategy, model, trunk, kind] of cases) {
    const architecture = /architecture: ([a-z-]+)/.exec(model)?.[1] ?? 'hard-sharing with norm layers';
    it(`${strategy} on ${architecture}: bit-identical to one forward pass per task`, async () => {
      const runsDir = tempDir();
      const record =
        kind === 'tasks'
          ? vi.spyOn(KeptTape, 'record')
          : kind === 'encoding'
            ? vi.spyOn(KeptEncoding, 'record')
            : vi.spyOn(Recording, 'start');
      const kept = await expectSameBothWays(() => train(strategy, model, trunk, runsDir), record);
      expect(Object.keys(checkpointHashes(kept.dir)).length).toBeGreaterThan(0);
    }, 60_000);
  }
});

describe('the representation step with input adapters (issue #17) on the kept tape', () => {
  it('{ name: pcgrad, grad_target: representation }: the adapter and trunk gradients are bit-identical', async () => {
    const dir = tempDir();
    writeSources(dir);
    // wide.csv (3 features) through a dense adapter 3 → 2 before the shared trunk: only z's gradient trains it.
    const text = configText(
      'csv: wide.csv, split: { train: 0.5, val: 0.25, test: 0.25 }',
      'strategy: { name: pcgrad, grad_target: representation }\n',
    ).replace('epochs: 5', 'epochs: 3, multi_input: { adapters: true }');
    const run = () =>
      trainExperiment(parseConfigText(text, { file: path.join(dir, 'exp.yaml') }), {
        runsDir: path.join(dir, 'runs'),
      });
    await expectSameBothWays(run, vi.spyOn(KeptEncoding, 'record'));
  }, 60_000);
});

describe('inter-task affinity from one recorded forward pass per measured step', () => {
  // The T task gradients and the losses at θ_s from one recorded pass (hard sharing: the steps' own tape; cross-stitch:
  // TF.js's kept tape), or each gradient from a pass of its own: the same Z, so the same logs.
  const cases: Array<[string, string]> = [
    ['hard-sharing', ''],
    ['cross-stitch', '  architecture: cross-stitch\n'],
  ];
  for (const [architecture, model] of cases) {
    it(`${architecture}: the logged affinities are bit-identical both ways`, async () => {
      const runsDir = tempDir();
      const strategy = '{ name: equal }\nanalysis: { affinity: true }';
      // Hard sharing records on its own tape (no TF.js recording); cross-stitch on the kept one.
      const record = vi.spyOn(Recording, 'start');
      const run = () => train(strategy, model, DENSE_TRUNK, runsDir);
      const once = await expectSameBothWays(run, record, architecture === 'cross-stitch');
      expect(JSON.stringify(runLogs(once.dir))).toContain('affinity');
    }, 60_000);
  }
});

describe('penalties and adversaries with gradient methods, on the kept tape', () => {
  const dir = tempDir();
  writeShiftedSources(dir, 60);
  writeSyntheticCsv(dir, 'c.csv', {
    seed: 8,
    rows: 60,
    header: ['x0', 'x1', 'y', 'w', 'c'],
    digits: 4,
    row: (rng) => {
      const [a, b] = [rng.normal(), rng.normal()];
      return [a, b, a + 0.1 * rng.normal(), b - a, a + b > 0 ? 'p' : 'n'];
    },
  });
  const adversarialTask = `name: adv
seed: 3
backend: wasm
data: { csv: c.csv }
tasks:
  - { name: y, type: regression }
  - { name: w, type: regression }
  - { name: c, type: binary, adversarial: { lambda: { max: 1, schedule: dann } } }
model: { trunk: [{ type: dense, units: 6, activation: tanh }] }
training: { epochs: 3, batch_size: 16, lr: 0.01 }
strategy: { name: mgda }
`;
  const cases: Array<[string, string]> = [
    [
      'a feature discriminator (a penalty)',
      shiftedConfig({
        epochs: 3,
        adversary: '{ type: discriminator }',
        extra: 'strategy: { name: pcgrad, grad_target: representation }\n',
      }),
    ],
    ['an adversarial task (gradient reversal on z)', adversarialTask],
  ];
  const run = (text: string) => () =>
    trainExperiment(parseConfigText(text, { file: path.join(dir, 'exp.yaml') }), {
      runsDir: path.join(dir, 'runs'),
    });
  for (const [label, text] of cases) {
    it(`${label}: z forward once, bit-identical to running it again inside TF.js's tape`, async () => {
      await expectSameBothWays(run(text), vi.spyOn(KeptEncoding, 'record'));
    }, 60_000);
  }

  it("an adversarial task with parameter gradients: its gradients from the step's kept forward pass", async () => {
    // PCGrad on the shared parameters; the adversary's Σ_a ∇L_a is added after the combination, from the same
    // recorded forward pass (one backward pass more) or, the earlier way, from a forward pass of its own.
    const text = adversarialTask.replace('strategy: { name: mgda }', 'strategy: { name: pcgrad }');
    const adversaryFromTape = vi.spyOn(KeptTape.prototype, 'outputsLossGradients');
    await expectSameBothWays(run(text), adversaryFromTape);
  }, 60_000);
});

describe('the kept tape when the forward pass throws', () => {
  it('rethrows, frees what it recorded, and leaves TF.js taping nothing', () => {
    const w = tf.variable(tf.ones([3, 2]), true, 'kept-throw/w');
    const x = tf.ones([4, 3]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const model = {
      sharedVariables: [w],
      taskVariables: {},
      forward: (input: tf.Tensor2D) => {
        tf.relu(tf.matMul(input, w)); // recorded, with its inputs saved for the gradient
        throw new Error('boom');
      },
    } as unknown as MultiTaskModel;
    expect(() => KeptTape.record(model, x, true)).toThrow('boom');
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().state.gradientDepth).toBe(0);
    expect(tf.engine().state.activeTape ?? null).toBeNull(); // as before: never set, or null after a gradient call
    // Taping is off again: an op now records nothing and keeps nothing.
    tf.tidy(() => {
      tf.matMul(x, w);
    });
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    w.dispose();
  });
});
