/**
 * What the parameter-gradient step gives the methods of new-methods-2: independent samples from other batches
 * (SDMGrad, MoDo) and the per-task scales of the task parameters' gradients (DB-MTL, ExcessMTL); and short
 * training runs of STCH and of the single-batch variants (the default variants train in gradient-training.test.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../src/api/build.js';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import type { ResolvedConfig } from '../src/config/types.js';
import type { PreparedData } from '../src/data/prepare.js';
import type { CombineInput, CombineResult } from '../src/strategies/gradient/types.js';
import type { GradientStrategy } from '../src/strategies/types.js';
import { trainingStep, type Batch } from '../src/train/step.js';
import { createRng } from '../src/util/rng.js';
import { eightRowStepData } from './helpers/step.js';
import { tempDir } from './helpers.js';
import { writeLinearRegressionCsv } from './helpers/csv.js';
import { expectClose } from './helpers/expect.js';

describe('the parameter-gradient step for independent samples and task scales', () => {
  const dir = tempDir();
  let config: ResolvedConfig;
  let data: PreparedData;
  beforeAll(async () => {
    ({ config, data } = await eightRowStepData(dir));
  }, 60_000);

  /** Rows [from, to) of the 8-row training split as a batch. */
  function rowsBatch(from: number, to: number): Batch {
    const train = data.splits.train;
    const width = data.preprocessing.inputSize;
    return {
      x: tf.tensor2d(train.x.slice(from * width, to * width), [to - from, width]),
      targets: Object.fromEntries(
        config.tasks.map((t) => [
          t.name,
          tf.tensor2d((train.targets[t.name] as Float32Array).slice(from, to), [to - from, 1]),
        ]),
      ),
    };
  }

  /** One step of a recording combiner, with the model's initial weights (seeded, the same every call). */
  function step(
    rows: [number, number],
    options: {
      samples?: number;
      others?: [number, number][];
      result?: (input: CombineInput) => CombineResult;
    } = {},
  ): { input: CombineInput; gradients: Record<string, number[]>; losses: number[]; leaked: number } {
    const model = buildModel(config, data.preprocessing);
    const batch = rowsBatch(...rows);
    const others = (options.others ?? []).map((range) => rowsBatch(...range));
    const inputs: CombineInput[] = [];
    const strategy: GradientStrategy = {
      name: 'recording',
      needs: 'parameter-gradients',
      combiner: {
        ...(options.samples !== undefined ? { independentSamples: options.samples } : {}),
        combine(input) {
          // The gradients are valid during the call only (CombineInput): a combiner that keeps them copies them.
          inputs.push({
            ...input,
            grads: input.grads.map((g) => Float32Array.from(g)),
            ...(input.extraSamples
              ? { extraSamples: input.extraSamples.map((set) => set.map((g) => Float32Array.from(g))) }
              : {}),
          });
          return options.result?.(input) ?? { combined: input.grads[0]! };
        },
        state: () => null,
        restore: () => undefined,
      },
      currentWeights: () => [1, 1],
      state: () => null,
      restore: () => undefined,
    };
    const before = tf.memory().numTensors;
    try {
      const context = { tasks: config.tasks, epoch: 0, step: 0, rng: createRng(1) };
      const out = trainingStep(model, strategy, batch, config.tasks, [], context, others);
      const gradients = Object.fromEntries(
        Object.entries(out.gradients).map(([k, t]) => [k, Array.from(t.dataSync())]),
      );
      const losses = Array.from(out.taskLosses.dataSync());
      tf.dispose([...Object.values(out.gradients), out.taskLosses]);
      return { input: inputs[0]!, gradients, losses, leaked: tf.memory().numTensors - before };
    } finally {
      tf.dispose([batch, ...others].flatMap((b) => [b.x, ...Object.values(b.targets)]));
      model.dispose();
    }
  }

  it('gives a combiner that needs 3 samples the task gradients on the two other batches; the rest from its own', () => {
    const own = step([0, 4]);
    const second = step([4, 6]);
    const third = step([6, 8]);
    const sampled = step([0, 4], {
      samples: 3,
      others: [
        [4, 6],
        [6, 8],
      ],
    });
    const { grads, extraSamples } = sampled.input;
    expect(grads.map((g) => Array.from(g))).toEqual(own.input.grads.map((g) => Array.from(g)));
    expect(extraSamples?.map((set) => set.map((g) => Array.from(g)))).toEqual([
      second.input.grads.map((g) => Array.from(g)),
      third.input.grads.map((g) => Array.from(g)),
    ]);
    // The update, the task parameters and the losses come from the step's own batch.
    expect(sampled.gradients).toEqual(own.gradients);
    expect(sampled.losses).toEqual(own.losses);
    expect(sampled.leaked).toBe(0);
    expect(step([0, 4]).input.extraSamples).toBeUndefined();
    expect(() => step([0, 4], { samples: 3, others: [[4, 6]] })).toThrow(/needs 2 other batches per step, got 1/);
  });

  it("multiplies each task's own gradients by the combiner's taskScales", () => {
    const plain = step([0, 8]);
    const scaled = step([0, 8], { result: (input) => ({ combined: input.grads[0]!, taskScales: [2, 0.5] }) });
    const taskNames = Object.keys(plain.gradients).filter((name) => !name.includes('shared'));
    expect(taskNames.length).toBeGreaterThan(0);
    for (const name of taskNames) {
      const factor = name.includes('/a/') || name.startsWith('a/') ? 2 : 0.5;
      expectClose(
        scaled.gradients[name]!,
        plain.gradients[name]!.map((v) => v * factor),
        6,
      );
    }
    expect(scaled.leaked).toBe(0);
  });
});

describe('training', () => {
  const dir = tempDir();
  writeLinearRegressionCsv(dir, 'related.csv', {
    seed: 5,
    rows: 300,
    features: 8,
    targets: [
      { weights: [1, 0, 0.5, 0, -1, 0, 0.3, 0], noise: 0.1 },
      { weights: [0.5, 1, 0, 0.4, -0.5, 0.8, 0, -0.2], noise: 0.1 },
    ],
  });
  const config = (strategy: string) => `name: g
seed: 2
backend: wasm
data: { csv: related.csv }
tasks:
  - { name: a, type: regression, target: y1 }
  - { name: b, type: regression, target: y2 }
model:
  trunk: [{ type: dense, units: 16 }]
training: { epochs: 6, batch_size: 32, lr: 0.01, optimizer: adam }
strategy: ${strategy}
`;

  const cases = [
    '{ name: stch, warmup_epochs: 1 }',
    '{ name: sdmgrad, sampling: single-batch }',
    '{ name: modo, sampling: single-batch }',
  ];
  for (const strategy of cases) {
    it(`${strategy}: no NaN, both tasks learn, tensors flat`, async () => {
      const counts: number[] = [];
      const summary = await trainExperiment(parseConfigText(config(strategy), { file: path.join(dir, 'exp.yaml') }), {
        runsDir: path.join(dir, 'runs'),
        listeners: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }],
      });
      expect(summary.status).toBe('completed');
      const train = readFileSync(path.join(summary.dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .filter((r) => r.split === 'train');
      const first = train[0].metrics;
      const last = train[train.length - 1].metrics;
      for (const task of ['a', 'b']) {
        expect(Number.isFinite(last[`${task}/loss`]), task).toBe(true);
        expect(last[`${task}/loss`], task).toBeLessThan(0.5 * first[`${task}/loss`]);
        expect(summary.test[`${task}/r2`], task).toBeGreaterThan(0.5);
      }
      expect(counts[counts.length - 1]).toBe(counts[1]);
    });
  }
});
