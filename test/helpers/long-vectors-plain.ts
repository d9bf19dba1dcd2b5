/** Σ_i w_i v_i the plain way, as numerics/vectors.ts `linearCombination` writes it: float64 from 0, then float32. */
export function plainCombination(vectors: readonly Float32Array[], weights: readonly number[]): Float32Array {
  const n = vectors[0]?.length ?? 0;
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    let sum = 0;
    vectors.forEach((v, i) => {
      sum += weights[i]! * v[k]!;
    });
    out[k] = sum;
  }
  return out;
}
