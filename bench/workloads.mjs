/**
 * The benchmark workloads W1–W3, defined once and built with the project's own code (dist/): a YAML config through
 * `parseConfigText`, a small CSV of the right width through `prepareData` (so the preprocessing — input width, class
 * lists — is the project's), `buildModel`, the registered strategy (`equal`, `pcgrad`), `createOptimizer`, and per
 * step exactly what the trainer's loop does around the step function (trainingStep → clip →
 * optimizer.apply → dispose → loss accumulation). Only the batches differ from `mtl train`: they are made once,
 * before timing, as tensors of random values (4 batches, cycled), as in bench/torch_reference.py.
 *
 * Shapes (the same as bench/torch_reference.py):
 *   W1  hard-sharing, trunk 784→256→128 (ReLU), two 10-way softmax heads, batch 256, Adam lr 1e-3, equal weighting
 *   W2  W1 with PCGrad on the shared (trunk) parameters (grad_target: params)
 *   W3  MMoE, 8 experts of one dense 100→64 (ReLU), a softmax gate per task, towers 64→32 (ReLU)→1, two binary
 *       tasks (sigmoid cross-entropy), batch 512, Adam lr 1e-3, equal weighting
 *
 * The scaling workloads of issue #20 (named as the child's --workload, see {@link resolveWorkload}):
 *   TASKS:<strategy>:<T>  W1's trunk with T 10-way softmax heads, batch 256, Adam, the strategy from the registry
 *                         with its default options (grad_target auto)
 *   WIDTH:<w>             trunk 784→w→w (ReLU), two 10-way heads, batch 256, Adam, equal weighting
 *   BATCH:<b>             W1 with batches of b rows
 *   W3:pcgrad             W3 with PCGrad on the shared parameters (the experts), for PATHS
 *   W2:cross-stitch       W2 on cross-stitch (a tower per task, the cross-stitch units shared), for PATHS
 *   CONV:pcgrad           CONV with PCGrad on the shared parameters, for PATHS
 *   W2:adversary          W2 plus an adversarial 10-way task (gradient reversal on the trunk's output, λ = 1): its
 *                         gradients added to PCGrad's combination, for PATHS
 *   CONV                  the model of configs/multi-digits-conv.yaml (the file itself, its own batch 64 and Adam
 *                         lr 0.002), on the built-in multi-digits data's width and classes
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../dist/tf.js';
import { loadConfig, parseConfigText } from '../dist/config/load.js';
import { prepareData } from '../dist/data/prepare.js';
import { buildModel } from '../dist/api/build.js';
import { getStrategy } from '../dist/strategies/registry.js';
import { mainTasks } from '../dist/adversarial/adversarial-tasks.js';
import { createOptimizer, learningRateAt } from '../dist/train/optimizers.js';
import { createRng } from '../dist/util/rng.js';
import { clipByGlobalNorm, trainingStep } from '../dist/train/step.js';

export const N_BATCHES = 4;

const W1 = {
  description: 'MLP 784→256→128, 2×10-way softmax heads, batch 256, Adam, equal',
  features: 784,
  batch: 256,
  tasks: [
    { name: 'a', type: 'multiclass', classes: 10 },
    { name: 'b', type: 'multiclass', classes: 10 },
  ],
  model: `  architecture: hard-sharing
  trunk:
    - { type: dense, units: 256, activation: relu }
    - { type: dense, units: 128, activation: relu }
  head: []`,
  strategy: '{ name: equal }',
};

/** What each workload is, in one place: used for the model config, the data and the table. */
export const WORKLOADS = {
  W1,
  // W2 is W1 with PCGrad on the shared parameters, by definition.
  W2: {
    ...W1,
    description: 'W1 + PCGrad on the shared parameters (T=2 backward passes)',
    strategy: '{ name: pcgrad, grad_target: params }',
  },
  W3: {
    description: 'MMoE, 8 experts 100→64, gates, towers 64→32→1, 2 binary tasks, batch 512, Adam, equal',
    features: 100,
    batch: 512,
    tasks: [
      { name: 'a', type: 'binary', classes: 2 },
      { name: 'b', type: 'binary', classes: 2 },
    ],
    model: `  architecture: mmoe
  experts: 8
  trunk:
    - { type: dense, units: 64, activation: relu }
  head:
    - { type: dense, units: 32, activation: relu }`,
    strategy: '{ name: equal }',
  },
};

const TRUNK_784_256_128 = W1.model;

/** W1's trunk with `count` 10-way heads and a strategy by name (its default options). */
function tasksWorkload(strategy, count) {
  return {
    description: `W1's trunk, ${count} 10-way heads, batch 256, Adam, ${strategy} (default options)`,
    features: 784,
    batch: 256,
    tasks: Array.from({ length: count }, (_, i) => ({ name: `t${i}`, type: 'multiclass', classes: 10 })),
    model: TRUNK_784_256_128,
    strategy: `{ name: ${strategy} }`,
  };
}

/** Trunk 784→w→w (ReLU), two 10-way heads, equal weighting. */
function widthWorkload(width) {
  return {
    ...W1,
    description: `MLP 784→${width}→${width}, 2×10-way softmax heads, batch 256, Adam, equal`,
    model: `  architecture: hard-sharing
  trunk:
    - { type: dense, units: ${width}, activation: relu }
    - { type: dense, units: ${width}, activation: relu }
  head: []`,
  };
}

const CONV_CONFIG = fileURLToPath(new URL('../configs/multi-digits-conv.yaml', import.meta.url));

/**
 * The workload a name stands for: W1–W3, `TASKS:<strategy>:<T>`, `WIDTH:<w>`, `BATCH:<b>` or `CONV` (see the head
 * comment).
 * Throws for anything else.
 */
export function resolveWorkload(name) {
  if (WORKLOADS[name]) return WORKLOADS[name];
  const tasks = /^TASKS:([a-z0-9-]+):(\d+)$/.exec(name);
  if (tasks) return tasksWorkload(tasks[1], Number(tasks[2]));
  const width = /^WIDTH:(\d+)$/.exec(name);
  if (width) return widthWorkload(Number(width[1]));
  const batch = /^BATCH:(\d+)$/.exec(name);
  if (batch) return { ...W1, description: `W1 with batch ${batch[1]}`, batch: Number(batch[1]) };
  // W3's MMoE with PCGrad on the experts (PATHS: the experts recorded once, or run once per task).
  if (name === 'W3:pcgrad') return { ...WORKLOADS.W3, strategy: '{ name: pcgrad }' };
  // The conv model with PCGrad, and W2 on cross-stitch (PATHS: TF.js's tape kept for every task, or T forwards).
  if (name === 'CONV:pcgrad') return { ...resolveWorkload('CONV'), overrides: ['strategy.name=pcgrad'] };
  if (name === 'W2:cross-stitch')
    return { ...WORKLOADS.W2, model: WORKLOADS.W2.model.replace('hard-sharing', 'cross-stitch') };
  // W2 with an adversarial task (PATHS: its gradients from the kept tape, or from a forward pass of their own).
  if (name === 'W2:adversary')
    return {
      ...WORKLOADS.W2,
      tasks: [...WORKLOADS.W2.tasks, { name: 'c', type: 'multiclass', classes: 10, adversarial: '{ lambda: 1 }' }],
    };
  if (name === 'CONV')
    return {
      description:
        'configs/multi-digits-conv.yaml: 8×12 image, conv 3×3×16 same, max-pool 2, conv 3×3×32 same, ' +
        'flatten, dense 64, two 10-way heads, batch 64, Adam lr 0.002, equal',
      configFile: CONV_CONFIG,
    };
  throw new Error(`unknown workload ${name}`);
}

/** The experiment config of a workload, as a user would write it. */
export function workloadYaml(name) {
  const w = resolveWorkload(name);
  return `name: bench-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}
seed: 0
backend: wasm
data:
  csv: table.csv
  normalize: none
tasks:
${w.tasks
  .map(
    (t) =>
      `  - { name: ${t.name}, type: ${t.type}, target: ` +
      `y_${t.name}${t.type === 'binary' ? ', positive: "1"' : ''}` +
      `${t.adversarial ? `, adversarial: ${t.adversarial}` : ''} }`,
  )
  .join('\n')}
model:
${w.model}
training:
  optimizer: adam
  lr: 0.001
  beta1: 0.9
  beta2: 0.999
  epsilon: 1.0e-8
  batch_size: ${w.batch}
  epochs: 1
strategy: ${w.strategy}
`;
}

/** Deterministic pseudo-random numbers (xorshift32 → uniform, Box–Muller → normal). */
function generator(seed) {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 1) / 4294967297;
  };
  return {
    uniform,
    int: (n) => Math.min(n - 1, Math.floor(uniform() * n)),
    normals(n) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i += 2) {
        const r = Math.sqrt(-2 * Math.log(uniform()));
        const t = 2 * Math.PI * uniform();
        out[i] = r * Math.cos(t);
        if (i + 1 < n) out[i + 1] = r * Math.sin(t);
      }
      return out;
    },
  };
}

/** A small CSV of the workload's width (every class present), so `prepareData` fits the preprocessing. */
function writeTable(dir, w, rng) {
  const header = [...Array.from({ length: w.features }, (_, i) => `x${i}`), ...w.tasks.map((t) => `y_${t.name}`)];
  const rows = [header.join(',')];
  for (let r = 0; r < 100; r++) {
    const x = Array.from(rng.normals(w.features), (v) => v.toFixed(3));
    rows.push([...x, ...w.tasks.map((t) => String(r % t.classes))].join(','));
  }
  writeFileSync(path.join(dir, 'table.csv'), `${rows.join('\n')}\n`);
}

/**
 * Builds a workload on the current backend. `step()` runs one training step exactly as the trainer's loop body does
 * (minus slicing the batch out of the shuffled split); `readLoss()` syncs and returns the accumulated mean loss.
 */
export async function buildWorkload(name, { seed = 0 } = {}) {
  const w = resolveWorkload(name);
  const rng = generator(seed * 7919 + name.charCodeAt(1));
  let data;
  let loaded;
  if (w.configFile) {
    // The config file itself, on its own data (a built-in dataset): the model, batch size and optimizer are the
    // file's; only the batches below are bench-made.
    loaded = loadConfig(w.configFile, ['backend=wasm', ...(w.overrides ?? [])]);
    data = await prepareData(loaded.config, path.dirname(w.configFile));
    w.features = data.preprocessing.inputSize;
    w.batch = loaded.config.training.batch_size;
    w.tasks = loaded.config.tasks.map((t, i) => ({
      name: t.name,
      type: t.type,
      classes: data.preprocessing.tasks[i].classes.length,
    }));
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), `mtl-bench-${name.replace(/[^A-Za-z0-9]+/g, '-')}-`));
    try {
      writeTable(dir, w, rng);
      loaded = parseConfigText(workloadYaml(name), { file: path.join(dir, 'exp.yaml') });
      data = await prepareData(loaded.config, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const config = loaded.config;
  const preprocessing = data.preprocessing;
  if (preprocessing.inputSize !== w.features)
    throw new Error(`${name}: input width ${preprocessing.inputSize}, expected ${w.features}`);
  w.tasks.forEach((t, i) => {
    const encoding = preprocessing.tasks[i];
    if (t.type === 'multiclass' && encoding.classes.length !== t.classes)
      throw new Error(`${name}: ${t.name} has ${encoding.classes.length} classes`);
  });

  const model = buildModel(config, preprocessing);
  const strategy = getStrategy(config.strategy.name).create(config.strategy, {
    tasks: mainTasks(config.tasks),
    seed: config.seed,
    hasSharedRepresentation: Boolean(model.encode && model.decode),
  });
  // The strategy's tasks, as the trainer's: an adversarial task is trained beside them (adversarial/).
  const tasks = mainTasks(config.tasks);
  // The solver's share: wall time inside the combiner (Gram matrix, solve, combination), wrapped here.
  const solver = { ms: 0, calls: 0 };
  if (strategy.combiner) {
    const combine = strategy.combiner.combine.bind(strategy.combiner);
    strategy.combiner.combine = (input) => {
      const t0 = performance.now();
      try {
        return combine(input);
      } finally {
        solver.ms += performance.now() - t0;
        solver.calls += 1;
      }
    };
  }
  const trainable = [
    ...model.sharedVariables,
    ...tasks.flatMap((t) => model.taskVariables[t.name] ?? []),
    ...(strategy.variables?.() ?? []),
    ...(model.adversaries?.variables ?? []),
  ];
  const optimizer = createOptimizer(config.training, trainable);
  const learningRate = learningRateAt(config.training, 0);
  const strategyRng = createRng(config.seed).fork('strategy');

  // Pre-made batches: x ~ N(0, 1); targets in the training form the trainer feeds (one-hot, or 0/1 columns).
  const batches = Array.from({ length: N_BATCHES }, () => {
    const x = tf.tensor2d(rng.normals(w.batch * w.features), [w.batch, w.features]);
    const targets = {};
    w.tasks.forEach((t, i) => {
      const encoding = preprocessing.tasks[i];
      if (t.type === 'multiclass') {
        const labels = Int32Array.from({ length: w.batch }, () => rng.int(encoding.classes.length));
        targets[t.name] = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), encoding.classes.length).toFloat());
      } else {
        targets[t.name] = tf.tensor2d(
          Float32Array.from({ length: w.batch }, () => rng.int(2)),
          [w.batch, 1],
        );
      }
    });
    return { x, targets };
  });

  let step = 0;
  let lossSum = tf.zeros([tasks.length]);
  let lossRows = 0;
  // Cumulative wall time of the step's phases (ms): forward + backward (the step function), optimizer (clip +
  // apply + disposing the gradients), rest (loss accumulation, bookkeeping).
  const phases = { forwardBackward: 0, optimizer: 0, rest: 0 };
  const runStep = () => {
    const t0 = performance.now();
    const batch = batches[step % batches.length];
    const size = w.batch;
    model.setStep(step);
    const context = { tasks, epoch: 0, step, rng: strategyRng };
    const result = trainingStep(model, strategy, batch, tasks, trainable, context);
    const t1 = performance.now();
    const gradients = clipByGlobalNorm(result.gradients, config.training.grad_clip_norm);
    optimizer.apply(gradients, learningRate);
    for (const g of Object.values(gradients)) g.dispose();
    const t2 = performance.now();
    const newSum = tf.tidy(() => tf.add(lossSum, tf.mul(result.taskLosses, size)));
    lossSum.dispose();
    result.taskLosses.dispose();
    lossSum = newSum;
    lossRows += size;
    step++;
    phases.forwardBackward += t1 - t0;
    phases.optimizer += t2 - t1;
    phases.rest += performance.now() - t2;
  };
  const takeMeanLoss = (sums) => {
    const value = Array.from(sums).reduce((a, b) => a + b, 0) / Math.max(lossRows, 1);
    lossSum.dispose();
    lossSum = tf.zeros([tasks.length]);
    lossRows = 0;
    return value;
  };
  return {
    name,
    config,
    model,
    strategy,
    step: runStep,
    phases,
    solver,
    batch: w.batch,
    description: w.description,
    optimizer,
    trainable,
    /** Mean (over steps since the last read) of the sum of the task losses; one sync. */
    readLoss() {
      return takeMeanLoss(lossSum.dataSync());
    },
    /**
     * The same, read asynchronously: TF.js's webgpu backend cannot read synchronously in Node (its readSync draws
     * through an OffscreenCanvas, which Node lacks), so bench/gpu.mjs reads this way on every backend.
     */
    async readLossAsync() {
      return takeMeanLoss(await lossSum.data());
    },
    dispose() {
      lossSum.dispose();
      optimizer.dispose();
      model.dispose();
      strategy.dispose?.();
      for (const b of batches) {
        b.x.dispose();
        for (const t of Object.values(b.targets)) t.dispose();
      }
    },
  };
}
