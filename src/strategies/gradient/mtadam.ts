/**
 * MTAdam — I. Malkiel, L. Wolf, "MTAdam: Automatic Balancing of Multiple Training Loss Terms", EMNLP 2021
 * (arXiv:2006.14683), Algorithm 1. A multi-task optimizer: every loss term (here: every task) keeps its own Adam
 * moments, and before they are updated each task's gradient is rescaled, layer by layer, so that its running
 * magnitude matches that of a reference task.
 *
 * Notation: step t = 1, 2, … (one `combine` call per training batch), task i = 0 … T−1, layer l = one entry of
 * `segments` (one shared parameter tensor, as the paper's per-parameter-tensor loop), g^{i,l} the slice of task i's
 * gradient on layer l, r_i the rank of task i (`ranks`, default 1).
 *
 *   n_t^{i,l} = ‖g_1^{i,l}‖                                     at t = 1 (the first norm seeds the average)
 *   n_t^{i,l} = β3 n_{t−1}^{i,l} + (1 − β3) ‖g_t^{i,l}‖           afterwards
 *   a(l)      = the first task (in task order) with n_t^{a,l} > 1e−10 — task 0 unless its gradient on l vanished
 *   ĝ_t^{i,l} = r_i · (n_t^{a,l} / n_t^{i,l}) · g_t^{i,l}        (left as r_i · g_t^{i,l} when n_t^{i,l} ≤ 1e−10)
 *
 * so every task's layer gradient has, on average, the magnitude of the reference task's on that layer. Then, per
 * coordinate,
 *
 *   m_t^i = β1 m_{t−1}^i + (1 − β1) ĝ_t^i          m̂_t^i = m_t^i / (1 − β1^t)
 *   v_t^i = β2 v_{t−1}^i + (1 − β2) (ĝ_t^i)²       v̂_t^i = v_t^i / (1 − β2^t)
 *   d_t   = Σ_i m̂_t^i / (√(max_i v̂_t^i) + ε)
 *
 * and the paper's update is θ_t = θ_{t−1} − α d_t: the per-task first moments are summed and divided by the
 * LARGEST per-task second moment, so a step is small wherever any one task is sensitive.
 *
 * How this maps onto our trainer, which applies its configured optimizer (`training.optimizer`) to whatever a
 * combiner returns (`output` option):
 *  - `step` returns d_t, the complete Adam-normalised MTAdam step without the learning rate. With
 *    `training.optimizer: sgd` (θ ← θ − lr · combined) at `lr` = α, the shared parameters follow the paper's update
 *    exactly. This is the faithful setting and what we recommend; keep `weight_decay: 0` and `grad_clip_norm: 0`
 *    for an exact match (the trainer would otherwise add the decay to, or clip, the step rather than the raw
 *    gradient). `adam` and `adamw` would normalise the step a second time (it would still train, but as something
 *    else than MTAdam), so validation refuses them with `strategy.name: mtadam` and says to use `sgd`
 *    (`refusedOptimizers`); `momentum` is allowed (heavy-ball on the MTAdam step, not the paper's either).
 *  - `balanced` returns only the balanced sum Σ_i ĝ_t^i, for the trainer's own optimizer (e.g. Adam) to handle: the
 *    per-layer balancing is the paper's, but the optimizer then keeps one moment pair for the sum instead of one per
 *    task with the max-of-second-moments denominator.
 *  - `auto` (default) is `step` when the trainer passes `segments` (gradients on the shared parameters) and
 *    `balanced` otherwise (a `combineGradients` call, which has no layers). Representation gradients
 *    (`grad_target: representation`) have no layers (the whole vector is one segment) and their coordinates are
 *    batch rows, which change from step to step (and in number, for the last partial batch), so neither the
 *    per-layer balancing nor per-coordinate moments mean anything there: the strategy refuses that target (in
 *    validation and when created), and `grad_target: auto` is always `params`. The combiner itself still rejects
 *    `output: step` on vectors whose length changes.
 * Remaining differences from the paper, all outside the combiner: task-specific parameters (heads) never reach it —
 * they get the trainer's optimizer on their own task's gradient (with `sgd`, plain SGD, where MTAdam would give a
 * one-term parameter plain Adam); a model penalty's gradient (soft sharing) is added after the combiner; and the
 * anchor fallback looks at this step's norms of every task (the reference code, visiting tasks in turn, compares
 * against later tasks' norms from the previous step — which matters only when task 0's gradient on a layer is 0).
 *
 * No per-task weights are reported: the scales differ per layer and `step` mixes in past gradients.
 * State (checkpoints): the step counter, the T×L running norms, and — in step mode — each task's m and v, stored as
 * base64 of little-endian float64 so a resumed run continues bit for bit.
 *
 * Gradient target (`grad_target: auto`): params. The other target: refused. Why: Malkiel & Wolf balance the gradient of
 * every shared parameter tensor (layer) separately and keep per-coordinate Adam moments; the representation has no
 * layers and its coordinates are batch rows, so MTAdam is refused there.
 */
import { UsageError } from '../../errors.js';
import { enumOption, numberListOption, numberOption, type Options } from '../../util/options.js';
import { checkGrads } from './support.js';
import type { CombinerDefinition } from './types.js';

const outputs = ['auto', 'step', 'balanced'] as const;
type Output = (typeof outputs)[number];

/** Norms at or below this count as "no gradient on this layer" (the reference implementation's threshold). */
const TINY_NORM = 1e-10;

export interface MtadamOptions {
  beta1: number;
  beta2: number;
  beta3: number;
  epsilon: number;
  /** Per-task ranks r_i (the paper's relative importance), length T. */
  ranks: number[];
}

/**
 * One balancing step, in place on `norms` (T×L, null before the first step): updates the running layer norms from
 * `grads` and returns the balanced gradients ĝ^i as float64 vectors.
 */
export function balanceLayers(
  grads: readonly Float32Array[],
  segments: readonly number[],
  norms: number[][] | null,
  beta3: number,
  ranks: readonly number[],
): { balanced: Float64Array[]; norms: number[][] } {
  const t = grads.length;
  const p = grads[0]?.length ?? 0;
  const next: number[][] = grads.map(() => new Array<number>(segments.length).fill(0));
  const balanced = grads.map((g) => Float64Array.from(g));
  let start = 0;
  segments.forEach((size, l) => {
    const end = start + size;
    for (let i = 0; i < t; i++) {
      const g = grads[i]!;
      let sq = 0;
      for (let k = start; k < end; k++) sq += g[k]! * g[k]!;
      const norm = Math.sqrt(sq);
      const previous = norms?.[i]?.[l];
      next[i]![l] = previous === undefined ? norm : beta3 * previous + (1 - beta3) * norm;
    }
    let anchor = -1;
    for (let i = 0; i < t && anchor < 0; i++) if (next[i]![l]! > TINY_NORM) anchor = i;
    for (let i = 0; i < t; i++) {
      const own = next[i]![l]!;
      const scale = ranks[i]! * (anchor >= 0 && own > TINY_NORM ? next[anchor]![l]! / own : 1);
      if (scale === 1) continue;
      const b = balanced[i] as Float64Array;
      for (let k = start; k < end; k++) b[k] = b[k]! * scale;
    }
    start = end;
  });
  if (start !== p) throw new Error(`mtadam: segments cover ${start} coordinates but the gradients have ${p}.`);
  return { balanced, norms: next };
}

function badState(): UsageError {
  return new UsageError('Checkpoint state for gradient method "mtadam" does not match this run\'s configuration.');
}

function encode(values: Float64Array): string {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, k) => view.setFloat64(k * 8, v, true));
  return Buffer.from(bytes).toString('base64');
}

function decode(text: unknown): Float64Array {
  if (typeof text !== 'string') throw badState();
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 8 !== 0) throw badState();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(bytes.length / 8);
  for (let k = 0; k < out.length; k++) out[k] = view.getFloat64(k * 8, true);
  if (!out.every(Number.isFinite)) throw badState();
  return out;
}

/** r_i, one positive number per task (all 1 when not given). */
function readRanks(options: Options, taskCount: number): number[] {
  return (
    numberListOption(options, 'strategy.ranks', { length: taskCount, exclusiveMinimum: 0 }) ??
    new Array<number>(taskCount).fill(1)
  );
}

interface Moments {
  m: Float64Array[];
  v: Float64Array[];
}

export const mtadam: CombinerDefinition = {
  name: 'mtadam',
  paper:
    'I. Malkiel, L. Wolf, "MTAdam: Automatic Balancing of Multiple Training Loss Terms", EMNLP 2021 (arXiv:2006.14683)',
  gradTarget: {
    paper: 'params',
    other: 'refused',
    reason:
      'Malkiel & Wolf balance the gradient of every shared parameter tensor (layer) separately and keep ' +
      'per-coordinate Adam moments; the representation has no layers and its coordinates are batch rows, so MTAdam ' +
      'is refused there.',
  },
  refusedOptimizers: {
    names: ['adam', 'adamw'],
    reason:
      'MTAdam is an optimizer: its step is already Adam-normalised (per-task moments), so an Adam optimizer would ' +
      "normalise it a second time; use training.optimizer: sgd (θ ← θ − lr · step is the paper's update)",
  },
  optionsSchema: {
    type: 'object',
    properties: {
      beta1: {
        type: 'number',
        minimum: 0,
        exclusiveMaximum: 1,
        default: 0.9,
        description: "Decay of each task's first moment.",
      },
      beta2: {
        type: 'number',
        minimum: 0,
        exclusiveMaximum: 1,
        default: 0.999,
        description: "Decay of each task's second moment.",
      },
      beta3: {
        type: 'number',
        minimum: 0,
        exclusiveMaximum: 1,
        default: 0.9,
        description: 'Decay of the running per-layer gradient norm of each task, used for the balancing.',
      },
      epsilon: { type: 'number', exclusiveMinimum: 0, default: 1e-8, description: 'Added to √(max_i v̂_i).' },
      ranks: {
        type: ['array', 'null'],
        items: { type: 'number', exclusiveMinimum: 0 },
        default: null,
        description:
          'Relative importance r_i of each task, in task order (balanced gradient i is scaled by r_i). Null: all 1.',
      },
      output: {
        enum: [...outputs],
        default: 'auto',
        description:
          "step: the full Adam-normalised MTAdam step (use with training.optimizer: sgd for the paper's update); " +
          "balanced: only the per-layer balanced gradient sum, for the trainer's optimizer; auto: step on " +
          'parameter gradients, balanced on representation gradients.',
      },
    },
    additionalProperties: false,
  },
  checkOptions: (options, taskCount) => void readRanks(options, taskCount),
  create(options, _seed, taskCount) {
    const unit = { minimum: 0, exclusiveMaximum: 1 };
    const beta1 = numberOption(options, 'strategy.beta1', 0.9, unit);
    const beta2 = numberOption(options, 'strategy.beta2', 0.999, unit);
    const beta3 = numberOption(options, 'strategy.beta3', 0.9, unit);
    const epsilon = numberOption(options, 'strategy.epsilon', 1e-8, { exclusiveMinimum: 0 });
    const ranks = readRanks(options, taskCount);
    const output: Output = enumOption(options, 'strategy.output', outputs, 'auto');

    let step = 0;
    let norms: number[][] | null = null;
    let moments: Moments | null = null;

    return {
      combine({ grads, segments }) {
        const p = checkGrads('mtadam', grads, taskCount);
        const layers = segments ?? [p];
        if (layers.some((s) => !Number.isInteger(s) || s < 0) || layers.reduce((a, s) => a + s, 0) !== p) {
          throw new Error(`mtadam: segments [${layers.join(', ')}] do not add up to the gradient length ${p}.`);
        }
        if (norms !== null && norms[0]!.length !== layers.length) {
          throw new Error(`mtadam: got ${layers.length} segments after ${norms[0]!.length} in earlier steps.`);
        }
        const mode = output === 'auto' ? (segments ? 'step' : 'balanced') : output;
        if (mode === 'step' && moments !== null && moments.m[0]!.length !== p) {
          throw new UsageError(
            `mtadam (output: step) keeps per-coordinate moments, but the gradient length changed from ` +
              `${moments.m[0]!.length} to ${p} (representation gradients follow the batch size); ` +
              'use grad_target: params or output: balanced.',
          );
        }
        if (mode === 'step' && moments === null && step > 0) throw badState();
        step += 1;
        const result = balanceLayers(grads, layers, norms, beta3, ranks);
        norms = result.norms;
        const { balanced } = result;
        const combined = new Float32Array(p);
        if (mode === 'balanced') {
          for (const b of balanced) for (let k = 0; k < p; k++) combined[k] = combined[k]! + b[k]!;
          return { combined };
        }
        const state: Moments = moments ?? {
          m: balanced.map(() => new Float64Array(p)),
          v: balanced.map(() => new Float64Array(p)),
        };
        moments = state;
        const bias1 = 1 - beta1 ** step;
        const bias2 = 1 - beta2 ** step;
        for (let k = 0; k < p; k++) {
          let firstSum = 0;
          let secondMax = 0;
          for (let i = 0; i < taskCount; i++) {
            const g = balanced[i]![k]!;
            const m = state.m[i]!;
            const v = state.v[i]!;
            m[k] = beta1 * m[k]! + (1 - beta1) * g;
            v[k] = beta2 * v[k]! + (1 - beta2) * g * g;
            firstSum += m[k]! / bias1;
            secondMax = Math.max(secondMax, v[k]! / bias2);
          }
          combined[k] = firstSum / (Math.sqrt(secondMax) + epsilon);
        }
        return { combined };
      },
      state: () => ({
        step,
        norms: norms === null ? null : norms.map((row) => [...row]),
        moments: moments === null ? null : { m: moments.m.map(encode), v: moments.v.map(encode) },
      }),
      restore(saved) {
        if (saved === null || saved === undefined) {
          step = 0;
          norms = null;
          moments = null;
          return;
        }
        if (typeof saved !== 'object') throw badState();
        const record = saved as { step?: unknown; norms?: unknown; moments?: unknown };
        if (typeof record.step !== 'number' || !Number.isInteger(record.step) || record.step < 0) throw badState();
        let nextNorms: number[][] | null = null;
        if (record.norms !== null && record.norms !== undefined) {
          const rows = record.norms;
          const isRow = (row: unknown): boolean =>
            Array.isArray(row) &&
            row.length > 0 &&
            row.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);
          if (!Array.isArray(rows) || rows.length !== taskCount || !rows.every(isRow)) throw badState();
          if (new Set(rows.map((row: unknown[]) => row.length)).size !== 1) throw badState();
          nextNorms = (rows as number[][]).map((row) => [...row]);
        }
        let nextMoments: Moments | null = null;
        if (record.moments !== null && record.moments !== undefined) {
          const { m, v } = record.moments as { m?: unknown; v?: unknown };
          if (!Array.isArray(m) || !Array.isArray(v) || m.length !== taskCount || v.length !== taskCount)
            throw badState();
          nextMoments = { m: m.map(decode), v: v.map(decode) };
          const length = nextMoments.m[0]!.length;
          if ([...nextMoments.m, ...nextMoments.v].some((a) => a.length !== length)) throw badState();
        }
        step = record.step;
        norms = nextNorms;
        moments = nextMoments;
      },
    };
  },
};
