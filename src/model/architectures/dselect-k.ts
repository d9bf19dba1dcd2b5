import { tf } from '../../tf.js';
import { UsageError } from '../../errors.js';
import { buildHeads } from '../heads.js';
import { makeVariable } from '../layers/initialisers.js';
import { lastKernelLayerOfTrunk, lastKernelLayerVariables } from '../last-shared-layer.js';
import { StepClock } from '../step-clock.js';
import { TaskTape } from '../tape.js';
import { enumOption, integerOption, numberOption } from '../../util/options.js';
import { buildExperts, mixExperts, stackVariables, type InspectableModel } from '../experts.js';
import type { Rng } from '../../util/rng.js';
import type { ArchitectureDefinition } from '../types.js';

/**
 * DSelect-k (Hazimeh, Zhao, Chowdhery, Sathiamoorthy, Chen, Mazumder, Hong & Chi 2021, NeurIPS), per-example gate:
 * MMoE's shared experts f_1..f_E (each a stack of the `trunk` layers), but task t's gate is a differentiable
 * selection of (at most) k experts. With m = ⌈log₂ E⌉ and the smooth step
 *
 *   S(s) = 0 (s ≤ −γ/2),  1 (s ≥ γ/2),  −2/γ³ s³ + 3/(2γ) s + 1/2 otherwise,
 *
 * selector i ∈ 1..k reads logits z_i(x) = Z_i x + c_i ∈ ℝ^m and puts weight r_i(x)_e = Π_b [bit_b(e) ? S(z_ib) : 1 −
 * S(z_ib)] on expert e (a product of soft binary choices, one-hot once every S(z_ib) ∈ {0, 1}); the gate is
 *
 *   α_t(x) = Σ_i softmax(W x + b)_i · r_i(x),   f^t(x) = Σ_e α_t(x)_e f_e(x),   ŷ_t = head_t(f^t(x)).
 *
 * When E is not a power of two, codes ≥ E name no expert, and the weight a selector puts on them reaches no expert.
 * `unreachable: penalty` (the default, the authors' code) keeps r_i as it is and adds Σ_x Σ_t Σ_i 1 / Σ_{e<E} r_i(x)_e
 * to the loss (summed over the batch, unweighted, as there), which keeps each selector's weight on real experts; α_t
 * then sums to at most 1. `unreachable: renormalise` divides each r_i by Σ_{e<E} r_i(x)_e instead, so α_t always lies
 * on the simplex and no term is added. (The sum is floored at 1e-12 against a division by zero in both.)
 * Option `entropy_reg` adds the paper's regulariser λ_H · mean_x Σ_t Σ_i H(r_i^t(x)), which drives the selectors to
 * binary (the authors' code sums over the batch: their λ is λ_H / batch size). penalty() recomputes the selectors on
 * the input of the latest training forward pass (the current batch in the training loop, where penalty() follows
 * forward() on the same tape) and is 0 once that batch is gone.
 * Initialisation as in the reference code: Z, c ~ U(±γ/100) (selectors start near uniform), W, b ~ U(±0.05).
 */
export const dselectK: ArchitectureDefinition = {
  name: 'dselect-k',
  description: 'MMoE with DSelect-k gates: per task, a differentiable sparse selection of k of the shared experts',
  paper:
    'Hazimeh et al., "DSelect-k: Differentiable Selection in the Mixture of Experts with Applications to Multi-Task ' +
    'Learning", NeurIPS 2021',
  optionsSchema: {
    experts: {
      type: 'integer',
      minimum: 2,
      default: 4,
      description: 'Number of shared experts; each expert is a copy of the `trunk` layers with its own weights.',
    },
    k: {
      type: 'integer',
      minimum: 1,
      default: 2,
      description: 'Number of selectors per task gate: each task uses at most k experts.',
    },
    gamma: {
      type: 'number',
      exclusiveMinimum: 0,
      default: 1,
      description: 'Width γ of the smooth-step function (its non-constant range is [−γ/2, γ/2]).',
    },
    entropy_reg: {
      type: 'number',
      minimum: 0,
      default: 0,
      description: 'Weight of the selector entropy regulariser that pushes selections to binary (0 = off).',
    },
    unreachable: {
      enum: ['penalty', 'renormalise'],
      default: 'penalty',
      description:
        "When `experts` is not a power of two: add the authors' penalty Σ 1/(selector weight on real experts) to " +
        'the loss (penalty), or renormalise each selector over the real experts (renormalise).',
    },
  },
  hasSharedRepresentation: false,
  checkConfig(config) {
    const { experts, k } = config;
    if (typeof experts !== 'number' || typeof k !== 'number' || k <= experts) return [];
    // Each selector picks one expert: past `experts` selectors, a gate can pick no expert it could not already.
    return [
      {
        path: ['k'],
        message:
          `k (${k}) is more than experts (${experts}): each of the k selectors picks one expert, so a gate ` +
          `can use at most ${experts}. Set k to at most ${experts}, or raise experts.`,
      },
    ];
  },
  optionIgnored(config, option) {
    const experts = config['experts'];
    if (option !== 'unreachable' || typeof experts !== 'number' || experts !== 2 ** Math.ceil(Math.log2(experts))) {
      return undefined;
    }
    // With E = 2^m every code is an expert: Σ_e r_i(x)_e = Π_b (S(z_ib) + 1 − S(z_ib)) = 1, so both handlings
    // coincide (build adds no penalty and renormalises nothing).
    const bits = Math.log2(experts);
    return (
      `experts (${experts}) is a power of two, so each of the ${experts} codes of a selector's ${bits} ` +
      `bit${bits === 1 ? '' : 's'} names an expert: every selector's weights sum to 1 over the experts, and no ` +
      `weight falls on an unreachable code to penalise or renormalise. Remove "unreachable", or set experts to a ` +
      'number that is not a power of two (e.g. 3 or 5).'
    );
  },
  lastSharedLayer: (config) => lastKernelLayerOfTrunk(config, 'of every expert'),
  build(config, { inputSize, heads, rng }) {
    const count = integerOption(config, 'model.experts', 4, { minimum: 2 });
    const k = integerOption(config, 'model.k', 2, { minimum: 1 });
    const gamma = numberOption(config, 'model.gamma', 1);
    const entropyReg = numberOption(config, 'model.entropy_reg', 0);
    const unreachable = enumOption(config, 'model.unreachable', ['penalty', 'renormalise'], 'penalty');
    if (!(gamma > 0)) throw new UsageError(`dselect-k: model.gamma must be > 0 (got ${gamma})`);
    const bits = Math.ceil(Math.log2(count));
    // codes[b][e] = bit b of e (most significant first): a [m, E] 0/1 matrix.
    const codes = new Float32Array(bits * count);
    for (let b = 0; b < bits; b++) for (let e = 0; e < count; e++) codes[b * count + e] = (e >> (bits - 1 - b)) & 1;
    const someUnreachable = count !== 2 ** bits;
    const renormalise = someUnreachable && unreachable === 'renormalise';
    const reachPenalty = someUnreachable && unreachable === 'penalty';

    const clock = new StepClock(rng.fork('dropout').seed31());
    const experts = buildExperts('experts/', count, inputSize, config.trunk, rng.fork('experts'), clock);
    const expertOutput = experts[0]?.outputSize ?? inputSize;
    const uniform = (r: Rng, size: number, limit: number): Float32Array =>
      Float32Array.from({ length: size }, () => (r.next() * 2 - 1) * limit);
    const gateRng = rng.fork('gates');
    const gates = heads.map((spec) => {
      const r = gateRng.fork(spec.name);
      const prefix = `tasks/${spec.name}/gate`;
      return {
        zKernel: makeVariable(`${prefix}/z/kernel`, uniform(r, inputSize * k * bits, gamma / 100), [
          inputSize,
          k * bits,
        ]),
        zBias: makeVariable(`${prefix}/z/bias`, uniform(r, k * bits, gamma / 100), [k * bits]),
        wKernel: makeVariable(`${prefix}/w/kernel`, uniform(r, inputSize * k, 0.05), [inputSize, k]),
        wBias: makeVariable(`${prefix}/w/bias`, uniform(r, k, 0.05), [k]),
      };
    });
    const gateVariables = (t: number): tf.Variable[] => {
      const g = gates[t]!;
      return [g.zKernel, g.zBias, g.wKernel, g.wBias];
    };
    const towers = buildHeads(heads, expertOutput, config.head, rng.fork('heads'), clock);
    const expertVars = stackVariables(experts);
    const codeTensor = tf.tensor(codes, [1, 1, bits, count]);

    // S(clip(s, −γ/2, γ/2)) equals the piecewise definition (the cubic is 0 and 1 at the ends, with zero slope), and
    // the clip's gradient is zero outside the range, as S's is; comparisons and tf.where would have no gradient.
    const smoothStep = (s: tf.Tensor): tf.Tensor => {
      const c = tf.clipByValue(s, -gamma / 2, gamma / 2);
      return tf.add(tf.add(tf.mul(-2 / gamma ** 3, tf.mul(tf.mul(c, c), c)), tf.mul(3 / (2 * gamma), c)), 0.5);
    };

    /** Task t's selectors r [batch, k, E] and gate α [batch, E]. */
    const gate = (x: tf.Tensor2D, t: number): { selectors: tf.Tensor3D; alpha: tf.Tensor2D } => {
      const g = gates[t]!;
      const batch = x.shape[0];
      const z = tf.reshape(tf.add(tf.matMul(x, g.zKernel), g.zBias), [batch, k, bits, 1]);
      const s = smoothStep(z);
      // [batch, k, m, E]: S(z_ib) where bit b of e is 1, 1 − S(z_ib) where it is 0; product over b.
      const choice = tf.add(tf.mul(codeTensor, s), tf.mul(tf.sub(1, codeTensor), tf.sub(1, s)));
      let selectors = tf.prod(choice, 2) as tf.Tensor3D;
      if (renormalise) selectors = tf.div(selectors, tf.maximum(tf.sum(selectors, 2, true), 1e-12)) as tf.Tensor3D;
      const weights = tf.softmax(tf.add(tf.matMul(x, g.wKernel), g.wBias)); // [batch, k]
      const alpha = tf.sum(tf.mul(tf.expandDims(weights, 2), selectors), 1) as tf.Tensor2D;
      return { selectors, alpha };
    };

    /** The input of the latest training forward pass (not owned: the trainer disposes its batches). */
    let lastTrainingInput: tf.Tensor2D | undefined;
    const model: InspectableModel = {
      architecture: 'dselect-k',
      sharedVariables: expertVars.trainable,
      lastSharedLayer: lastKernelLayerVariables(experts),
      taskVariables: Object.fromEntries(
        towers.map((tower, t) => [tower.spec.name, [...gateVariables(t), ...tower.trainable]]),
      ),
      stateVariables: [...expertVars.state, ...towers.flatMap((tower) => tower.state)],
      setStep: (step) => {
        clock.step = step;
      },
      // Task t's output from the experts' recorded outputs: its gate and tower, as `forward` makes it (and the input
      // the penalty reads, as a training forward pass sets it).
      recordTasks: (x, training) => {
        if (training) lastTrainingInput = x;
        return TaskTape.record(
          experts.map((expert) => expert.layers),
          x,
          training,
          (outputs, task, tr) => {
            const t = towers.findIndex((tower) => tower.spec.name === task);
            if (t < 0) throw new Error(`internal: no tower for task "${task}"`);
            return towers[t]!.apply(mixExperts(outputs as tf.Tensor2D[], gate(x, t).alpha), tr);
          },
        );
      },
      forward(x, training) {
        if (training) lastTrainingInput = x;
        const outputs = tf.tidy(() => {
          const outs = experts.map((expert) => expert.apply(x, training));
          return towers.map((tower, t) => tower.apply(mixExperts(outs, gate(x, t).alpha), training));
        });
        return { outputs: Object.fromEntries(towers.map((tower, t) => [tower.spec.name, outputs[t]!])) };
      },
      ...(entropyReg > 0 || reachPenalty
        ? {
            penalty: (): tf.Scalar =>
              tf.tidy(() => {
                const x = lastTrainingInput;
                if (x === undefined || x.isDisposed) return tf.scalar(0);
                const terms = towers.map((_, t) => {
                  const r = gate(x, t).selectors; // recomputed on x
                  const parts: tf.Tensor[] = [];
                  // λ_H · mean over the batch of Σ_i H(r_i(x)), H(r) = −Σ_e r_e log r_e.
                  if (entropyReg > 0)
                    parts.push(tf.mul(entropyReg, tf.mean(tf.sum(tf.neg(tf.mul(r, tf.log(tf.add(r, 1e-6)))), [1, 2]))));
                  // Σ_x Σ_i 1 / Σ_{e<E} r_i(x)_e.
                  if (reachPenalty) parts.push(tf.sum(tf.reciprocal(tf.maximum(tf.sum(r, 2), 1e-12))));
                  return tf.addN(parts);
                });
                return tf.addN(terms) as tf.Scalar;
              }),
          }
        : {}),
      inspect(x) {
        return tf.tidy(() => {
          const record: Record<string, tf.Tensor> = {};
          heads.forEach((spec, t) => {
            const { selectors, alpha } = gate(x, t);
            record[`gate/${spec.name}`] = alpha;
            record[`selectors/${spec.name}`] = selectors;
          });
          return record;
        });
      },
      dispose() {
        for (const expert of experts) expert.dispose();
        for (let t = 0; t < gates.length; t++) for (const v of gateVariables(t)) v.dispose();
        for (const tower of towers) tower.dispose();
        codeTensor.dispose();
      },
    };
    return model;
  },
};
