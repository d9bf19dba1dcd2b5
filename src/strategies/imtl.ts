/**
 * IMTL — L. Liu, Y. Li, Z. Kuang, J.-H. Xue, Y. Chen, W. Yang, Q. Liao, W. Zhang, "Towards Impartial Multi-task
 * Learning", ICLR 2021: the paper's hybrid (its Algorithm 1, and LibMTL's weighting/IMTL.py), both halves in one run.
 *
 * Loss half (IMTL-L): each task has a learned log-scale s_i (variable `strategy/imtl/scale_<task>`, starting at `init`,
 * default 0 as in LibMTL) and the scaled loss  L̃_i = e^{s_i}·L_i − s_i.
 * Gradient half (IMTL-G): on the gradients of the scaled losses, g̃_i = ∇(e^{s_i}·L_i) = e^{s_i}·g_i, the closed-form
 * weights α with Σ α_i = 1 and equal projections of g = Σ α_i g̃_i onto every unit g̃_i (src/strategies/gradient/
 * imtl-g.ts; the direction does not depend on the scales, the step length does).
 * One step updates
 *   the shared part (parameters, or the representation and then the trunk):  Σ_i α_i e^{s_i} g_i,
 *   task i's own parameters:                                                   e^{s_i} ∇L_i,
 *   s_i:                                                                       ∂L̃_i/∂s_i = e^{s_i}·L_i − 1,
 * as LibMTL does (each scaled loss backward for the task parameters and the scales, the shared gradient replaced by
 * the α-combination). The scales are trained by the training optimizer with the model (LibMTL: the same optimizer).
 *
 * Gradient target (`grad_target: auto`): representation, as IMTL-G (the paper computes the gradient half on the shared
 * feature z, §3.2); params is the same definition on θ_sh. (LibMTL's representation form sums z's gradient over the
 * batch before solving for α; here it is the flattened batch×feature gradient, as for every representation method.)
 * Weights logged: α_i·e^{s_i}, the weight of each task's raw gradient in the shared update.
 */
import { numberOption } from '../util/options.js';
import { gradientStrategy } from './gradient-strategy.js';
import { imtlG } from './gradient/imtl-g.js';
import { scaledByLossWeighting } from './scaled-combiner.js';
import type { GradientStrategy, StrategyDefinition } from './types.js';
import { imtlLossScales } from './weighting/imtl-l.js';

const gradientHalf = gradientStrategy(imtlG);

/** The options of the gradient half: all but `init`. */
function gradientOptions(options: Record<string, unknown>): Record<string, unknown> {
  const { init: _init, ...rest } = options;
  return rest;
}

export const imtl: StrategyDefinition<GradientStrategy> = {
  name: 'imtl',
  family: 'gradient-manipulation',
  paper: 'L. Liu et al., "Towards Impartial Multi-task Learning", ICLR 2021 (IMTL: IMTL-L and IMTL-G in one run)',
  cost: gradientHalf.cost,
  optionsSchema: {
    ...gradientHalf.optionsSchema,
    init: { type: 'number', default: 0, description: 'Initial log-scale s_i of every task (scale e^{s_i}).' },
  },
  needs: (options, model) => gradientHalf.needs(gradientOptions(options), model),
  checkOptions: (options, context) => gradientHalf.checkOptions?.(gradientOptions(options), context) ?? [],
  notes: (options, model, training) => gradientHalf.notes?.(gradientOptions(options), model, training) ?? [],
  create(options, context) {
    const init = numberOption(options, 'strategy.init', 0);
    const base = gradientHalf.create(gradientOptions(options), context);
    const scales = imtlLossScales(context.tasks, init, 'imtl', 'strategy/imtl/scale_');
    return scaledByLossWeighting(base, scales, 'imtl', context.tasks.length);
  },
};
