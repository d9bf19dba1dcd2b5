/**
 * synthetic-correlated: the controllable-task-relatedness regression benchmark of Ma et al. 2018 (MMoE, KDD, §4.1),
 * T regression tasks whose weight vectors have a chosen cosine similarity ρ.
 *
 *   1. Draw orthonormal u_0, u_1, …, u_T ∈ ℝ^d (Gram–Schmidt on standard normal vectors).
 *   2. Task weight vectors, scale c:
 *        T = 2 (the paper's construction):  w_1 = c·u_1,   w_2 = c·(ρ u_1 + √(1−ρ²) u_2)            → cos(w_1, w_2) = ρ
 *        T ≥ 3 (generalised, ρ ≥ 0):         w_t = c·(√ρ u_0 + √(1−ρ) u_t)                         → cos(w_s, w_t) = ρ
 *      (w_t = c(ρ u_0 + √(1−ρ²) u_t) would give pairwise cosine ρ², hence the square roots.)
 *   3. x ~ N(0, I_d); α_i, β_i ~ N(0, 1), i = 1..m, m = 10, shared by all tasks; ε ~ N(0, 0.01) (variance 0.01).
 *   4. y_t = w_tᵀx + Σ_{i=1}^{m} sin(α_i w_tᵀx + β_i) + ε.
 *
 * The sine terms make the tasks non-linear, so ρ (the Pearson correlation of the linear parts) is an upper bound on
 * how related the tasks are. Columns x0..x{d−1} (features) and y1..yT (targets; tasks y1..yT, regression). Every
 * draw comes from createRng(seed): the same (options, seed) gives the same table.
 */
import { UsageError } from '../../errors.js';
import { createRng, type Rng } from '../../util/rng.js';
import type { BuiltinDataset, Column } from '../types.js';
import { categoricalColumn, numericColumn, resolveOptions } from './shared.js';

export const syntheticCorrelatedOptionsSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    tasks: {
      type: 'integer',
      minimum: 1,
      maximum: 32,
      default: 2,
      description: 'Number of regression tasks T (columns y1..yT).',
    },
    correlation: {
      type: 'number',
      minimum: -1,
      maximum: 1,
      default: 0.5,
      description: 'Cosine similarity ρ of the task weight vectors (must be >= 0 for 3 or more tasks).',
    },
    scale: { type: 'number', minimum: 0, default: 1, description: 'Norm c of every task weight vector.' },
    features: {
      type: 'integer',
      minimum: 2,
      maximum: 4096,
      default: 16,
      description: 'Input dimension d (columns x0..x{d-1}); the paper uses 100.',
    },
    samples: {
      type: 'integer',
      minimum: 10,
      maximum: 1000000,
      default: 2000,
      description: 'Number of rows (train + val + test).',
    },
    target_domain_shift: {
      type: 'number',
      minimum: 0,
      default: 0,
      description:
        "Above 0: a column `domain` (source / target) is added, and the target rows' features are shifted by this " +
        'distance along a fixed random direction orthogonal to every task weight vector (a nuisance covariate ' +
        'shift: y is unchanged), for domain-adversarial runs (data.domains). 0 = one domain, no column.',
    },
    target_domain_fraction: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.5,
      description: 'With target_domain_shift: the share of rows drawn into the target domain.',
    },
  },
};

export interface SyntheticCorrelatedOptions {
  tasks: number;
  correlation: number;
  scale: number;
  features: number;
  samples: number;
  /** Covariate shift of the target domain (0: no domains); its rows' share. Absent = 0. */
  target_domain_shift?: number;
  target_domain_fraction?: number;
}

/** Number of sine terms m of Ma et al. */
export const SINE_TERMS = 10;
/** Variance of the additive noise ε. */
export const NOISE_VARIANCE = 0.01;

/** k orthonormal vectors in ℝ^d (k ≤ d) by Gram–Schmidt on standard normal draws. */
function orthonormal(rng: Rng, k: number, d: number): Float64Array[] {
  const basis: Float64Array[] = [];
  while (basis.length < k) {
    const v = Float64Array.from({ length: d }, () => rng.normal());
    for (const u of basis) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += v[i]! * u[i]!;
      for (let i = 0; i < d; i++) v[i] = v[i]! - dot * u[i]!;
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    if (norm < 1e-8) continue; // (practically never) a draw in the span of the others: draw again
    basis.push(v.map((x) => x / norm));
  }
  return basis;
}

/**
 * A unit vector orthogonal to every task weight vector (a random draw with its components along them removed): a
 * shift along it changes no y_t = f_t(w_tᵀx), so the target domain is a pure nuisance covariate shift.
 */
function nuisanceDirection(rng: Rng, weights: readonly Float64Array[], d: number): Float64Array {
  const basis = orthonormalised(weights);
  for (;;) {
    const v = Float64Array.from({ length: d }, () => rng.normal());
    for (const u of basis) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += v[i]! * u[i]!;
      for (let i = 0; i < d; i++) v[i] = v[i]! - dot * u[i]!;
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    if (norm > 1e-8) return v.map((x) => x / norm);
  }
}

/** An orthonormal basis of the span of `vectors` (Gram–Schmidt; dependent vectors are skipped). */
function orthonormalised(vectors: readonly Float64Array[]): Float64Array[] {
  const basis: Float64Array[] = [];
  for (const w of vectors) {
    const v = Float64Array.from(w);
    for (const u of basis) {
      let dot = 0;
      for (let i = 0; i < v.length; i++) dot += v[i]! * u[i]!;
      for (let i = 0; i < v.length; i++) v[i] = v[i]! - dot * u[i]!;
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    if (norm > 1e-8) basis.push(v.map((x) => x / norm));
  }
  return basis;
}

/** The task weight vectors w_1..w_T of step 2. */
export function taskWeights(options: SyntheticCorrelatedOptions, rng: Rng): Float64Array[] {
  const { tasks: T, correlation: rho, scale: c, features: d } = options;
  if (T >= 3 && rho < 0)
    throw new UsageError(`synthetic-correlated: correlation must be >= 0 with ${T} tasks (got ${rho})`);
  const needed = T === 2 ? 2 : T + 1;
  if (needed > d) throw new UsageError(`synthetic-correlated: ${T} tasks need features >= ${needed} (got ${d})`);
  if (T === 1) return [orthonormal(rng, 1, d)[0]!.map((x) => c * x)];
  if (T === 2) {
    const [u1, u2] = orthonormal(rng, 2, d) as [Float64Array, Float64Array];
    const s = Math.sqrt(1 - rho * rho);
    return [u1.map((x) => c * x), u1.map((x, i) => c * (rho * x + s * u2[i]!))];
  }
  const [u0, ...rest] = orthonormal(rng, T + 1, d) as [Float64Array, ...Float64Array[]];
  const a = Math.sqrt(rho);
  const b = Math.sqrt(1 - rho);
  return rest.map((u) => u0.map((x, i) => c * (a * x + b * u[i]!)));
}

/** Generates the table of the file comment. */
export function buildSyntheticCorrelated(
  options: SyntheticCorrelatedOptions,
  seed: number,
): { table: { rowCount: number; columns: Column[] }; weights: Float64Array[] } {
  const root = createRng(seed).fork('synthetic-correlated');
  const weights = taskWeights(options, root.fork('weights'));
  const sineRng = root.fork('sines');
  const alphas = Array.from({ length: SINE_TERMS }, () => sineRng.normal());
  const betas = Array.from({ length: SINE_TERMS }, () => sineRng.normal());
  const dataRng = root.fork('rows');
  const noiseRng = root.fork('noise');
  const { samples: n, features: d, tasks: T } = options;
  const xs = Array.from({ length: d }, () => new Float64Array(n));
  const ys = Array.from({ length: T }, () => new Float64Array(n));
  const noiseStd = Math.sqrt(NOISE_VARIANCE);
  const x = new Float64Array(d);
  // Domains draw from their own stream, so a table without them is the one from before the option.
  const shift = options.target_domain_shift ?? 0;
  const domainRng = root.fork('domains');
  const direction = shift > 0 ? nuisanceDirection(domainRng, weights, d) : new Float64Array(d);
  const inTarget = Array.from(
    { length: shift > 0 ? n : 0 },
    () => domainRng.next() < (options.target_domain_fraction ?? 0.5),
  );
  for (let r = 0; r < n; r++) {
    const offset = inTarget[r] === true ? shift : 0;
    for (let j = 0; j < d; j++) {
      x[j] = dataRng.normal() + offset * direction[j]!;
      (xs[j] as Float64Array)[r] = x[j]!;
    }
    weights.forEach((w, t) => {
      let linear = 0;
      for (let j = 0; j < d; j++) linear += w[j]! * x[j]!;
      let y = linear;
      for (let i = 0; i < SINE_TERMS; i++) y += Math.sin(alphas[i]! * linear + betas[i]!);
      (ys[t] as Float64Array)[r] = y + noiseStd * noiseRng.normal();
    });
  }
  const columns: Column[] = [
    ...xs.map((values, j) => numericColumn(`x${j}`, values)),
    ...ys.map((values, t) => numericColumn(`y${t + 1}`, values)),
    ...(shift > 0
      ? [
          categoricalColumn(
            'domain',
            inTarget.map((t) => (t ? 'target' : 'source')),
          ),
        ]
      : []),
  ];
  return { table: { rowCount: n, columns }, weights };
}

const defaults = syntheticCorrelatedOptionsSchema['properties'] as Record<string, { default: number }>;
const defaultTasks = defaults['tasks']?.default ?? 2;
const defaultFeatures = defaults['features']?.default ?? 16;

export const syntheticCorrelated: BuiltinDataset = {
  name: 'synthetic-correlated',
  description:
    'Generated regression tasks with controlled relatedness (Ma et al. 2018, MMoE §4.1): y_t = w_tᵀx + Σ sin(α_i ' +
    'w_tᵀx + β_i) + ε ' +
    'with task weight vectors of cosine similarity `correlation`; columns x0..x{d-1}, y1..yT.',
  licence: 'generated (no licence needed)',
  citation:
    'Ma, J., Zhao, Z., Yi, X., Chen, J., Hong, L. & Chi, E. H. (2018). Modeling Task Relationships in Multi-task ' +
    'Learning with Multi-gate Mixture-of-Experts. KDD 2018, §4.1 (synthetic data). ' +
    'https://doi.org/10.1145/3219819.3220007',
  // Listed for the default options (features 16, tasks 2); other options change the columns accordingly.
  features: Array.from({ length: defaultFeatures }, (_, j) => `x${j}`),
  tasks: Array.from({ length: defaultTasks }, (_, t) => ({
    name: `y${t + 1}`,
    type: 'regression' as const,
    targets: [`y${t + 1}`],
  })),
  optionsSchema: syntheticCorrelatedOptionsSchema,
  targetColumns(options) {
    const { tasks } = resolveOptions('synthetic-correlated', syntheticCorrelatedOptionsSchema, options);
    return Array.from({ length: Number(tasks) }, (_, t) => `y${t + 1}`);
  },
  async load(options, seed) {
    const resolved = resolveOptions(
      'synthetic-correlated',
      syntheticCorrelatedOptionsSchema,
      options,
    ) as unknown as SyntheticCorrelatedOptions;
    const { table } = buildSyntheticCorrelated(resolved, seed);
    return { source: 'built-in dataset synthetic-correlated', ...table };
  },
};
