import { tf } from '../tf.js';
import type { ModelConfig } from '../config/types.js';
import { buildHeads } from './heads.js';
import { UsageError } from '../errors.js';
import { flatTail, hasImageLayers } from './layers/plan.js';
import type { LayerStack } from './layers/stack.js';
import { lastKernelLayerVariables } from './last-shared-layer.js';
import { StepClock } from './step-clock.js';
import { TaskTape } from './tape.js';
import { integerOption } from '../util/options.js';
import {
  buildExperts,
  gateBiasOption,
  gateBiasSchema,
  mixExperts,
  SoftmaxGate,
  stackVariables,
  type InspectableModel,
} from './experts.js';
import type { ModelBuildContext } from './types.js';

/**
 * Progressive Layered Extraction (Tang, Liu, Zhao & Gong 2020, RecSys), of which Customized Gate Control (CGC) is the
 * one-level case. Level l has S shared experts E^l_s and, per task t, K task experts E^l_t, each a stack of the
 * `trunk` layers (on levels after the first, of its flat tail when the trunk works on images, see below). With task
 * inputs u_t^0 = x and shared input s^0 = x:
 *
 *   u_t^{l+1} = Σ_j g_t^l(u_t^l)_j · e_j,   e = [E^l_s(s^l), E^l_t(u_t^l)],      g_t^l = softmax(W_t^l u_t^l)
 * (S+K)
 *   s^{l+1}   = Σ_j g_s^l(s^l)_j · e_j,     e = [E^l_s(s^l), E^l_1(u_1^l), …, E^l_T(u_T^l)]                     (S+T·K)
 *   ŷ_t = head_t(u_t^L)
 *
 * (eq. 2–6; gates have no bias, as in the paper's eq. 3, unless `gate_bias: true`, LibMTL's nn.Linear gates.)
 * The shared gate g_s exists on every level but the last (CGC has none). Parameter roles follow from who reads what:
 * shared experts and shared gates serve every task; task t's experts feed the shared gate below the last level, so
 * they are shared there and task parameters only on the last level; task t's gate on level l reaches other tasks only
 * through task t's experts on level l+1 feeding the shared gate, so it is a task parameter on the last two levels.
 *
 * Image trunks (reshape → conv2d → … → flatten → dense …): level 0's experts are whole trunks on the flat model input;
 * the levels after it read a flat vector of the previous level's width, so their experts are the trunk's flat tail,
 * the layers after its last flatten (an image trunk without one is refused). All gates read flat inputs.
 */
export interface ExtractionOptions {
  levels: number;
  sharedExperts: number;
  taskExperts: number;
  gateBias: boolean;
}

export function extractionOptions(config: ModelConfig, fixedLevels?: number): ExtractionOptions {
  return {
    levels: fixedLevels ?? integerOption(config, 'model.levels', 2, { minimum: 1 }),
    sharedExperts: integerOption(config, 'model.shared_experts', 2, { minimum: 1 }),
    taskExperts: integerOption(config, 'model.task_experts', 1, { minimum: 1 }),
    gateBias: gateBiasOption(config),
  };
}

export const expertCountSchema: Record<string, Record<string, unknown>> = {
  shared_experts: {
    type: 'integer',
    minimum: 1,
    default: 2,
    description:
      'Shared experts per extraction level; each expert is a copy of the `trunk` layers with its own weights.',
  },
  task_experts: {
    type: 'integer',
    minimum: 0,
    default: 1,
    description: 'Task-specific experts per task and extraction level (copies of the `trunk` layers).',
  },
  ...gateBiasSchema,
};

/**
 * Why a model config cannot have `levels` extraction levels, or undefined. Levels after the first read the previous
 * level's flat output, which an image trunk (reshape → conv → … → flatten → …) cannot take from the start: their
 * experts are the trunk's layers after its last flatten, and there must be some.
 */
export function deeperLevelProblem(config: ModelConfig, levels: number): string | undefined {
  if (levels <= 1 || !hasImageLayers(config.trunk) || flatTail(config.trunk).layers.length > 0) return undefined;
  return (
    `levels after the first are built from the trunk layers after its last flatten (they read the previous level's ` +
    `flat output, ` +
    `not an image), and this trunk has none; add a dense layer after the flatten, or use levels: 1`
  );
}

/**
 * Why a model config's `task_experts` cannot be 0, or undefined. Without task experts every gate, each task's and the
 * shared one, mixes the same shared experts: nothing is extracted for one task only, which is what CGC and PLE add
 * over MMoE, and one level is MMoE itself (softmax(W_t x) over S experts). Below the last two levels a task's gate
 * would also be counted as a shared parameter although no other task reads it (see buildExtractionModel).
 */
export function taskExpertsProblem(architecture: 'cgc' | 'ple', config: ModelConfig): string | undefined {
  const shared = config['shared_experts'];
  if (config['task_experts'] !== 0 || typeof shared !== 'number') return undefined;
  const name = architecture.toUpperCase();
  const levels = architecture === 'cgc' ? 1 : config['levels'];
  const bias = config['gate_bias'] === true ? ' and gate_bias: true' : '';
  return (
    `with no task experts, every gate mixes only the ${shared} shared expert${shared === 1 ? '' : 's'} of its ` +
    `level, so no expert learns for one task alone: ${
      levels === 1 ? `that is MMoE, not ${name}` : `the task-specific extraction ${name} adds to MMoE is gone`
    }. Set task_experts to 1 or more, or use architecture: mmoe with experts: ${shared}${bias}.`
  );
}

interface Level {
  shared: LayerStack[];
  /** tasks[t]: task t's experts. */
  tasks: LayerStack[][];
  taskGates: SoftmaxGate[];
  sharedGate: SoftmaxGate | undefined;
}

export function buildExtractionModel(
  architecture: string,
  config: ModelConfig,
  { inputSize, heads, rng }: ModelBuildContext,
  options: ExtractionOptions,
): InspectableModel {
  const { levels: L, sharedExperts: S, taskExperts: K, gateBias } = options;
  const problem = deeperLevelProblem(config, L);
  if (problem) throw new UsageError(`${architecture}: ${problem}`);
  const tail = flatTail(config.trunk);
  const clock = new StepClock(rng.fork('dropout').seed31());
  const levels: Level[] = [];
  let width = inputSize;
  for (let l = 0; l < L; l++) {
    const levelRng = rng.fork(`level${l}`);
    // Level 0 reads the model input; later levels read the previous level's flat output, so with an image trunk their
    // experts are the trunk's flat tail (the layers after its last flatten), named by their trunk indices.
    const layers = l === 0 ? config.trunk : tail.layers;
    const stackOptions = l === 0 ? {} : { firstIndex: tail.start, input: `the output of extraction level ${l - 1}` };
    const shared = buildExperts(
      `levels/${l}/shared-experts/`,
      S,
      width,
      layers,
      levelRng.fork('shared'),
      clock,
      stackOptions,
    );
    const tasks = heads.map((spec) =>
      buildExperts(
        `levels/${l}/task-experts/${spec.name}/`,
        K,
        width,
        layers,
        levelRng.fork(`experts/${spec.name}`),
        clock,
        stackOptions,
      ),
    );
    const taskGates = heads.map(
      (spec) =>
        new SoftmaxGate(`levels/${l}/gates/${spec.name}`, width, S + K, levelRng.fork(`gate/${spec.name}`), gateBias),
    );
    const sharedGate =
      l < L - 1
        ? new SoftmaxGate(
            `levels/${l}/gates/shared`,
            width,
            S + heads.length * K,
            levelRng.fork('gate/shared'),
            gateBias,
          )
        : undefined;
    levels.push({ shared, tasks, taskGates, sharedGate });
    width = shared[0]?.outputSize ?? width;
  }
  const towers = buildHeads(heads, width, config.head, rng.fork('heads'), clock);

  const sharedVariables: tf.Variable[] = [];
  const taskVariables: Record<string, tf.Variable[]> = Object.fromEntries(
    heads.map((spec) => [spec.name, [] as tf.Variable[]]),
  );
  const stateVariables: tf.Variable[] = [];
  levels.forEach((level, l) => {
    const shared = stackVariables(level.shared);
    sharedVariables.push(...shared.trainable, ...(level.sharedGate?.trainable ?? []));
    stateVariables.push(...shared.state);
    heads.forEach((spec, t) => {
      const experts = stackVariables(level.tasks[t]!);
      stateVariables.push(...experts.state);
      (l === L - 1 ? (taskVariables[spec.name] as tf.Variable[]) : sharedVariables).push(...experts.trainable);
      (l >= L - 2 ? (taskVariables[spec.name] as tf.Variable[]) : sharedVariables).push(
        ...level.taskGates[t]!.trainable,
      );
    });
  });
  towers.forEach((tower) => {
    (taskVariables[tower.spec.name] as tf.Variable[]).push(...tower.trainable);
    stateVariables.push(...tower.state);
  });

  /** Task inputs to the heads, u_t^L, recording gate weights when asked. */
  const run = (x: tf.Tensor2D, training: boolean, record?: Record<string, tf.Tensor>): tf.Tensor2D[] => {
    let taskInputs: tf.Tensor2D[] = heads.map(() => x);
    let sharedInput = x;
    levels.forEach((level, l) => {
      const sharedOut = level.shared.map((expert) => expert.apply(sharedInput, training));
      const taskOut = level.tasks.map((experts, t) => experts.map((expert) => expert.apply(taskInputs[t]!, training)));
      const next = heads.map((spec, t) => {
        const g = level.taskGates[t]!.apply(taskInputs[t]!);
        if (record) record[`gate/${spec.name}/${l}`] = g;
        return mixExperts([...sharedOut, ...taskOut[t]!], g);
      });
      if (level.sharedGate) {
        const g = level.sharedGate.apply(sharedInput);
        if (record) record[`gate/shared/${l}`] = g;
        sharedInput = mixExperts([...sharedOut, ...taskOut.flat()], g);
      }
      taskInputs = next;
    });
    return taskInputs;
  };

  /** The one level's shared experts recorded; task t's output made from them as `run` makes it. */
  const recordOneLevel = (x: tf.Tensor2D, training: boolean): TaskTape | undefined => {
    const level = levels[0]!;
    return TaskTape.record(
      level.shared.map((expert) => expert.layers),
      x,
      training,
      (sharedOut, task, tr) => {
        const t = heads.findIndex((spec) => spec.name === task);
        if (t < 0) throw new Error(`internal: no task "${task}"`);
        const taskOut = level.tasks[t]!.map((expert) => expert.apply(x, tr));
        const mixed = mixExperts([...(sharedOut as tf.Tensor2D[]), ...taskOut], level.taskGates[t]!.apply(x));
        return towers[t]!.apply(mixed, tr);
      },
    );
  };

  return {
    architecture,
    sharedVariables,
    // GradNorm's W: the last level's shared experts are read by every task's gate.
    lastSharedLayer: lastKernelLayerVariables(levels.at(-1)?.shared ?? []),
    taskVariables,
    stateVariables,
    setStep: (step) => {
      clock.step = step;
    },
    // One level (CGC): the shared experts are exactly the shared variables; each task's experts, gate and tower are
    // its own part. Deeper levels feed lower task experts to later shared gates, which the tape does not cover.
    ...(L === 1 ? { recordTasks: (x: tf.Tensor2D, training: boolean) => recordOneLevel(x, training) } : {}),
    forward(x, training) {
      const results = tf.tidy(() => {
        const inputs = run(x, training);
        return towers.map((tower, t) => tower.apply(inputs[t]!, training));
      });
      return { outputs: Object.fromEntries(towers.map((tower, t) => [tower.spec.name, results[t]!])) };
    },
    inspect(x) {
      return tf.tidy(() => {
        const record: Record<string, tf.Tensor> = {};
        run(x, false, record);
        return record;
      });
    },
    dispose() {
      for (const level of levels) {
        for (const expert of [...level.shared, ...level.tasks.flat()]) expert.dispose();
        for (const gate of level.taskGates) gate.dispose();
        level.sharedGate?.dispose();
      }
      for (const tower of towers) tower.dispose();
    },
  };
}
