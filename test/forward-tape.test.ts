import { tf } from '../src/tf.js';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import { LayerStack } from '../src/model/layers/stack.js';
import { StepClock } from '../src/model/step-clock.js';
import { Recording } from '../src/model/kept-tape.js';
import { ForwardTape } from '../src/model/tape.js';
import { stepPaths } from '../src/train/task-gradients.js';
import { createRng } from '../src/util/rng.js';
import { tempDir, values } from './helpers.js';
import { digitsConfig } from './helpers/configs.js';
import { checkpointHashes, runLogs } from './helpers/resume-check.js';

beforeAll(async () => {
  await initBackend('wasm');
}, 60_000);
afterEach(() => {
  stepPaths.retainedTrunk = true;
  vi.restoreAllMocks();
});

const TRUNK = [
  '{ type: dense, units: 32, activation: relu }',
  '{ type: dropout, rate: 0.2 }',
  '{ type: dense, units: 16, activation: relu }',
  '{ type: dense, units: 12, activation: linear }',
];

let stacks = 0;
function stack(layers: string, clock = new StepClock(7)): LayerStack {
  stacks += 1;
  const parsed = parseConfigText(
    digitsConfig({ name: 's', seed: 1, samples: 100, trunk: layers.split(';'), training: { epochs: 1 } }),
  ).config;
  return new LayerStack(`tape${stacks}`, 20, parsed.model.trunk, createRng(5), clock);
}

describe('the steps own tape (one forward, a backward per output gradient)', () => {
  it('gives the gradients TF.js gives for the same stack, bit for bit, for several output gradients', () => {
    const clock = new StepClock(7);
    clock.step = 3;
    const trunk = stack(TRUNK.join(';'), clock);
    const before = tf.memory().numTensors;
    const x = tf.tensor2d(values(9 * 20, 1), [9, 20]);
    const tape = ForwardTape.record(trunk.layers, x, true);
    expect(tape).toBeDefined();
    const recorded = tape as ForwardTape;
    expect(Array.from(recorded.output.dataSync())).toEqual(Array.from(tf.tidy(() => trunk.apply(x, true).dataSync())));
    // Dropout was on (its multiplier is then part of every gradient below the output layer).
    expect(Array.from(recorded.output.dataSync())).not.toEqual(
      Array.from(tf.tidy(() => trunk.apply(x, false).dataSync())),
    );
    for (const seed of [2, 3]) {
      const u = tf.tensor2d(values(9 * 12, seed), [9, 12]);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(trunk.apply(x, true), u)), trunk.trainable);
      const ours = recorded.backward(u);
      expect([...ours.keys()].sort()).toEqual(trunk.trainable.map((v) => v.name).sort());
      for (const v of trunk.trainable) {
        expect(Array.from(ours.get(v.name)?.dataSync() ?? [])).toEqual(Array.from(grads[v.name]?.dataSync() ?? [1]));
      }
      tf.dispose([value, u, ...Object.values(grads), ...ours.values()]);
    }
    recorded.dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    trunk.dispose();
  });

  it('is not made for a stack with a layer it cannot record (the step then runs TF.js tape)', () => {
    const trunk = stack('{ type: dense, units: 8, activation: relu };{ type: dense, units: 4, activation: tanh }');
    const before = tf.memory().numTensors;
    const x = tf.tensor2d(values(3 * 20, 1), [3, 20]);
    expect(ForwardTape.record(trunk.layers, x, true)).toBeUndefined();
    x.dispose();
    expect(tf.memory().numTensors).toBe(before); // the dense layer recorded before the tanh one was freed
    trunk.dispose();
  });
});

async function train(strategy: string, runsDir: string, model = ''): Promise<{ dir: string; test: unknown }> {
  const base = digitsConfig({
    name: 'tape',
    seed: 9,
    samples: 400,
    trunk: TRUNK,
    training: { batch_size: 64, epochs: 2, lr: 0.01 },
  });
  const text = `${base.replace('model:\n', `model:\n${model}`)}strategy: ${strategy}\n`;
  const summary = await trainExperiment(parseConfigText(text), { runsDir });
  return { dir: summary.dir, test: summary.test };
}

/**
 * What records the step's forward pass: the steps' own tape, or for GradNorm the loss step's forward pass kept on
 * TF.js's tape (train/loss-step.ts), its task norms taken from it.
 */
function recorderOf(strategy: string) {
  return strategy.includes('gradnorm') ? vi.spyOn(Recording, 'start') : vi.spyOn(ForwardTape, 'record');
}

describe('gradient methods on the recorded trunk', () => {
  // pcgrad, cagrad and nash-mtl run on parameter gradients, mgda on the representation (its paper's MGDA-UB),
  // sdmgrad on parameter gradients of other batches too; graddrop on the representation with penalty-free trunk.
  const strategies = [
    '{ name: pcgrad }',
    '{ name: mgda }',
    '{ name: cagrad }',
    '{ name: nash-mtl }',
    '{ name: sdmgrad }',
    '{ name: pcgrad, grad_target: representation }',
    // A loss-weighting method whose norms at the last shared layer run from the tape too.
    '{ name: gradnorm }',
  ];
  for (const strategy of strategies) {
    it(`${strategy}: bit-identical to one forward pass per task (logs, test metrics, checkpoints)`, async () => {
      const runsDir = tempDir();
      const record = recorderOf(strategy);
      const taped = await train(strategy, runsDir);
      expect(record).toHaveBeenCalled(); // the new path ran
      stepPaths.retainedTrunk = false;
      record.mockClear();
      const perTask = await train(strategy, runsDir);
      expect(record).not.toHaveBeenCalled();
      expect(taped.test).toEqual(perTask.test);
      expect(runLogs(taped.dir)).toEqual(runLogs(perTask.dir));
      expect(checkpointHashes(taped.dir)).toEqual(checkpointHashes(perTask.dir));
      expect(Object.keys(checkpointHashes(taped.dir)).length).toBeGreaterThan(0);
    }, 60_000);
  }
});

describe('gradient methods on expert models with the shared experts recorded', () => {
  // The shared variables are the (shared) experts': each is recorded once, each task's own part (gate, tower, CGC's
  // task experts) runs backward through TF.js to the experts' outputs, then every expert's tape backward.
  const cases: Array<[string, string]> = [
    ['{ name: pcgrad }', 'mmoe'],
    ['{ name: mgda }', 'mmoe'],
    ['{ name: sdmgrad }', 'mmoe'],
    ['{ name: gradnorm }', 'mmoe'],
    ['{ name: pcgrad }', 'cgc'],
    ['{ name: cagrad }', 'dselect-k'],
  ];
  const models: Record<string, string> = {
    mmoe: '  architecture: mmoe\n  experts: 3\n',
    cgc: '  architecture: cgc\n  shared_experts: 2\n  task_experts: 1\n',
    // With its entropy penalty, which reads the input of the step's training pass.
    'dselect-k': '  architecture: dselect-k\n  experts: 4\n  entropy_reg: 0.1\n',
  };
  for (const [strategy, architecture] of cases) {
    const model = models[architecture]!;
    it(`${strategy} on ${architecture}: bit-identical to one forward pass per task`, async () => {
      const runsDir = tempDir();
      const record = recorderOf(strategy);
      const taped = await train(strategy, runsDir, model);
      expect(record).toHaveBeenCalled();
      stepPaths.retainedTrunk = false;
      record.mockClear();
      const perTask = await train(strategy, runsDir, model);
      expect(record).not.toHaveBeenCalled();
      expect(taped.test).toEqual(perTask.test);
      expect(runLogs(taped.dir)).toEqual(runLogs(perTask.dir));
      expect(checkpointHashes(taped.dir)).toEqual(checkpointHashes(perTask.dir));
    }, 60_000);
  }
});
