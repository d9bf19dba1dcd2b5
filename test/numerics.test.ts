import { describe, expect, it } from 'vitest';
import {
  axpy,
  bilinear,
  columnSums,
  cosineMatrix,
  dot,
  gram,
  linearCombination,
  matVec,
  maxDiagonal,
  projectOntoSimplex,
  pseudoSolve,
  smallerGram,
  solveLinear,
  symmetricEigen,
  symmetricEigenPacked,
  type Matrix,
} from '../src/numerics/index.js';
import { createRng } from '../src/util/rng.js';

const f32 = (...rows: number[][]): Float32Array[] => rows.map((r) => Float32Array.from(r));

function expectClose(actual: ArrayLike<number>, expected: readonly number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, digits));
}

// Two conflicting 2-D gradients, g1ᵀg2 = −1, ‖g1‖² = 1, ‖g2‖² = 2.
const G1 = [1, 0];
const G2 = [-1, 1];

/** The eigenpairs sorted by eigenvalue, each eigenvector with its first non-zero component positive. */
function sortedPairs(values: readonly number[], vectors: Matrix): { value: number; vector: number[] }[] {
  return values
    .map((value, k) => {
      const vector = vectors.map((row) => row[k]!);
      const sign = Math.sign(vector.find((x) => Math.abs(x) > 1e-12) ?? 1);
      return { value, vector: vector.map((x) => x * sign) };
    })
    .sort((a, b) => a.value - b.value);
}

describe('vectors, Gram matrices, simplex, eigen, solvers', () => {
  it('gram and dot accumulate exactly on small integers', () => {
    expect(dot(Float32Array.from([1, 2, 3]), Float32Array.from([4, 5, 6]))).toBe(32);
    expect(gram(f32(G1, G2))).toEqual([
      [1, -1],
      [-1, 2],
    ]);
  });

  it(
    'linearCombination: Σ w_i g_i in float64 then float32, bit for bit as repeated axpy into a float64 ' +
      'accumulator',
    () => {
      const rng = createRng(9);
      const bits = (x: Float32Array): number[] => Array.from(new Uint32Array(x.buffer));
      const p = 1000;
      for (const weights of [[0.3], [0.7, -1.3], [0, 2.5], [1e-3, 0, -4, 1 / 3], [0, 0, 0]]) {
        const grads = weights.map(() => Float32Array.from({ length: p }, () => rng.normal()));
        grads[0]![0] = -0; // a negative zero: 0 + w·(−0) is +0, as the accumulator gives it
        const accumulator = new Float64Array(p);
        grads.forEach((g, i) => {
          if (weights[i] !== 0) axpy(weights[i]!, g, accumulator);
        });
        expect(bits(linearCombination(grads, weights)), `weights ${weights.join(', ')}`).toEqual(
          bits(Float32Array.from(accumulator)),
        );
      }
      expect(Array.from(linearCombination(f32([1, 2], [3, 4]), [2, -1]))).toEqual([-1, 0]);
    },
  );

  it('projects onto the simplex', () => {
    expectClose(projectOntoSimplex([0.6, 0.6]), [0.5, 0.5]);
    expectClose(projectOntoSimplex([2, 0]), [1, 0]);
    expectClose(projectOntoSimplex([0.2, 0.3, 0.5]), [0.2, 0.3, 0.5]);
    // θ = (0.5 + 0.4 − 1)/2 = −0.05 → (0.55, 0.45, 0): the third entry −0.5 − θ < 0 is clipped.
    expectClose(projectOntoSimplex([0.5, 0.4, -0.5]), [0.55, 0.45, 0]);
  });

  it('Jacobi eigen-decomposition reconstructs a random symmetric matrix', () => {
    const rng = createRng(3);
    const n = 6;
    const a: Matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i]![j] = a[j]![i] = rng.normal();
    const { values, vectors } = symmetricEigen(a);
    for (let k = 0; k < n; k++) {
      const v = vectors.map((row) => row[k]!);
      expectClose(
        matVec(a, v),
        v.map((x) => x * values[k]!),
        9,
      );
      for (let l = 0; l < n; l++) {
        expect(vectors.reduce((s, row) => s + row[k]! * row[l]!, 0)).toBeCloseTo(k === l ? 1 : 0, 12);
      }
    }
  });

  it('solves linear systems and rank-deficient PSD systems', () => {
    expectClose(
      solveLinear(
        [
          [2, 1],
          [1, 3],
        ],
        [3, 5],
      ) ?? [],
      [0.8, 1.4],
      12,
    );
    expect(
      solveLinear(
        [
          [1, 2],
          [2, 4],
        ],
        [1, 2],
      ),
    ).toBeNull();
    // [[1,2],[2,4]] = 5 v vᵀ with v = (1,2)/√5; b = (1,2) = √5 v → x = b·v/5 · v = (1,2)/5.
    expectClose(
      pseudoSolve(
        [
          [1, 2],
          [2, 4],
        ],
        [1, 2],
      ),
      [0.2, 0.4],
      12,
    );
  });
});

describe('hand-computed cases', () => {
  it('eigen-decomposes [[2, 1], [1, 2]] into 1 along (1, −1)/√2 and 3 along (1, 1)/√2', () => {
    const { values, vectors } = symmetricEigen([
      [2, 1],
      [1, 2],
    ]);
    const pairs = sortedPairs(values, vectors);
    expectClose([pairs[0]!.value, pairs[1]!.value], [1, 3], 14);
    expectClose(pairs[0]!.vector, [Math.SQRT1_2, -Math.SQRT1_2], 14);
    expectClose(pairs[1]!.vector, [Math.SQRT1_2, Math.SQRT1_2], 14);
  });

  it(
    'eigen-decomposes the 3×3 second-difference matrix: 2 − √2, 2, 2 + √2 along (1, √2, 1)/2, (1, 0, −1)/√2, (1, ' +
      '−√2, 1)/2',
    () => {
      const m = [
        [2, -1, 0],
        [-1, 2, -1],
        [0, -1, 2],
      ];
      const { values, vectors } = symmetricEigen(m);
      const pairs = sortedPairs(values, vectors);
      expectClose(
        pairs.map((p) => p.value),
        [2 - Math.SQRT2, 2, 2 + Math.SQRT2],
        13,
      );
      expectClose(pairs[0]!.vector, [0.5, Math.SQRT1_2, 0.5], 13);
      expectClose(pairs[1]!.vector, [Math.SQRT1_2, 0, -Math.SQRT1_2], 13);
      expectClose(pairs[2]!.vector, [0.5, -Math.SQRT1_2, 0.5], 13);
      // The packed (row-major Float64Array) form is the same solver: the same numbers, bit for bit.
      const packed = symmetricEigenPacked(Float64Array.from(m.flat()), 3);
      expect(Array.from(packed.values)).toEqual(values);
      expect(Array.from(packed.vectors)).toEqual(vectors.flat());
    },
  );

  it('leaves a diagonal matrix as it is: its diagonal, the unit vectors', () => {
    const { values, vectors } = symmetricEigen([
      [5, 0, 0],
      [0, -1, 0],
      [0, 0, 0],
    ]);
    expect(values).toEqual([5, -1, 0]);
    expect(vectors).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
  });

  it('gives the smaller Gram matrix of a matrix: AᵀA for a tall one, AAᵀ for a wide one', () => {
    // A = [[1, 2], [3, 4], [5, 6]]: AᵀA = [[1+9+25, 2+12+30], [·, 4+16+36]] = [[35, 44], [44, 56]].
    const tall = smallerGram([1, 2, 3, 4, 5, 6], 3, 2);
    expect(tall).toMatchObject({ k: 2, ofColumns: true });
    expect(Array.from(tall.gram)).toEqual([35, 44, 44, 56]);
    // B = Aᵀ = [[1, 3, 5], [2, 4, 6]] (2×3): BBᵀ = AᵀA again.
    const wide = smallerGram([1, 3, 5, 2, 4, 6], 2, 3);
    expect(wide).toMatchObject({ k: 2, ofColumns: false });
    expect(Array.from(wide.gram)).toEqual([35, 44, 44, 56]);
  });

  it('gives gradient cosines from the Gram matrix, 0 for a vanishing gradient', () => {
    const cosines = cosineMatrix(f32(G1, G2, [0, 0]));
    expectClose(cosines.flat(), [1, -Math.SQRT1_2, 0, -Math.SQRT1_2, 1, 0, 0, 0, 0], 14);
  });

  it('projects known points onto the simplex', () => {
    // [3, 1]: θ = 3 − 1 = 2 (only the largest entry stays positive) → [1, 0].
    expectClose(projectOntoSimplex([3, 1]), [1, 0], 14);
    // [0, 0, 0]: θ = (0 − 1)/3 → every entry 1/3.
    expectClose(projectOntoSimplex([0, 0, 0]), [1 / 3, 1 / 3, 1 / 3], 14);
    // [1, 2, 3]: θ = 3 − 1 = 2; with two entries θ' = (5 − 1)/2 = 2 leaves the 2 at 0 → [0, 0, 1].
    expectClose(projectOntoSimplex([1, 2, 3]), [0, 0, 1], 14);
  });

  it('solves a 3×3 system and a rank-deficient diagonal one', () => {
    // 2x + y − z = 8, −3x − y + 2z = −11, −2x + y + 2z = −3 → (2, 3, −1).
    expectClose(
      solveLinear(
        [
          [2, 1, -1],
          [-3, -1, 2],
          [-2, 1, 2],
        ],
        [8, -11, -3],
      ) ?? [],
      [2, 3, -1],
      12,
    );
    // diag(2, 0) x = (4, 5): the least-squares, minimum-norm answer is (2, 0).
    expectClose(
      pseudoSolve(
        [
          [2, 0],
          [0, 0],
        ],
        [4, 5],
      ),
      [2, 0],
      14,
    );
  });

  it('small matrix helpers: M x, xᵀ M y, column sums, largest diagonal entry', () => {
    const m = [
      [1, 2],
      [3, 4],
    ];
    expect(matVec(m, [1, -1])).toEqual([-1, -1]);
    expect(bilinear(m, [1, 2], [3, 4])).toBe(1 * 1 * 3 + 1 * 2 * 4 + 2 * 3 * 3 + 2 * 4 * 4);
    expect(columnSums(m)).toEqual([4, 6]);
    expect(maxDiagonal(m)).toBe(4);
  });
});
