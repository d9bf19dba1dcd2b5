import { tf } from '../tf.js';
import { smallerGram, symmetricEigenPacked } from '../numerics/index.js';

/**
 * The nuclear (trace) norm ‖A‖_* = Σ_i σ_i(A) with a gradient, for the trace-norm coupling of soft parameter sharing.
 *
 * TF.js has no SVD, no eigen-decomposition and therefore no gradient for either, so the norm is a custom op:
 *
 *   forward:   G = AᵀA (or AAᵀ, whichever is smaller: k × k with k = min(m, n)) in float64 on the CPU;
 *              G = V Λ Vᵀ by the cyclic Jacobi solver of numerics/eigen.ts;
 *              σ_i = √max(λ_i, 0) and ‖A‖_* = tr(√(AᵀA)) = Σ_i σ_i.
 *   backward:  ∂‖A‖_* / ∂A = U_r V_rᵀ, the polar factor of A over its non-zero singular values, computed without U as
 *              A · (V_r Σ_r⁻¹ V_rᵀ) (when G = AᵀA) or (U_r Σ_r⁻¹ U_rᵀ) · A (when G = AAᵀ). For full-rank A this is the
 *              gradient; for rank-deficient A it is the minimum-norm subgradient (singular values below
 *              1e-6·σ_max count as zero and get no 1/σ blow-up).
 *
 * Squaring A into G halves the relative precision of the smallest singular values (≈ 1e-8·σ_max in float64), far
 * below the float32 precision of the weights themselves. The price is one device→CPU read of A per call.
 */

/** Singular values of an m×n row-major matrix, largest first (from the eigenvalues of its smaller Gram matrix). */
export function singularValues(values: ArrayLike<number>, m: number, n: number): number[] {
  const { sigma } = decompose(values, m, n);
  return [...sigma].sort((x, y) => y - x);
}

interface Decomposition {
  /** True when the Gram matrix is AᵀA (n ≤ m), false when it is AAᵀ. */
  right: boolean;
  k: number;
  sigma: Float64Array;
  vectors: Float64Array;
}

function decompose(values: ArrayLike<number>, m: number, n: number): Decomposition {
  const { gram, k, ofColumns } = smallerGram(values, m, n);
  const { values: lambda, vectors } = symmetricEigenPacked(gram, k);
  const sigma = lambda.map((l) => Math.sqrt(Math.max(l, 0)));
  return { right: ofColumns, k, sigma, vectors };
}

/** ‖A‖_* and its (sub)gradient U_r V_rᵀ for an m×n row-major matrix, in float64. */
export function nuclearNormWithGradient(
  values: ArrayLike<number>,
  m: number,
  n: number,
): { value: number; gradient: Float64Array } {
  const { right, k, sigma, vectors } = decompose(values, m, n);
  const sigmaMax = sigma.reduce((x, y) => Math.max(x, y), 0);
  const tolerance = 1e-6 * sigmaMax;
  let value = 0;
  // P = Σ_{σ_i > tol} w_i w_iᵀ / σ_i (k × k), with w_i the eigenvectors of the Gram matrix.
  const p = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    const s = sigma[i]!;
    if (s <= tolerance || s === 0) continue;
    value += s;
    for (let r = 0; r < k; r++) {
      const wr = vectors[r * k + i]! / s;
      if (wr === 0) continue;
      for (let c = 0; c < k; c++) p[r * k + c] = p[r * k + c]! + wr * vectors[c * k + i]!;
    }
  }
  const gradient = new Float64Array(m * n);
  if (right) {
    // A (m×n) · P (n×n)
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let sum = 0;
        for (let j = 0; j < n; j++) sum += values[r * n + j]! * p[j * n + c]!;
        gradient[r * n + c] = sum;
      }
    }
  } else {
    // P (m×m) · A (m×n)
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let sum = 0;
        for (let j = 0; j < m; j++) sum += p[r * m + j]! * values[j * n + c]!;
        gradient[r * n + c] = sum;
      }
    }
  }
  return { value, gradient };
}

/** ‖A‖_* as a differentiable TF.js op (see the file comment for the forward and backward passes). */
export const nuclearNorm: (a: tf.Tensor2D) => tf.Scalar = tf.customGrad((...args: unknown[]) => {
  const a = args[0] as tf.Tensor2D;
  const [m, n] = a.shape;
  const { value, gradient } = nuclearNormWithGradient(a.dataSync(), m, n);
  const gradient32 = Float32Array.from(gradient);
  return {
    value: tf.scalar(value),
    gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.tensor2d(gradient32, [m, n])),
  };
}) as (a: tf.Tensor2D) => tf.Scalar;
