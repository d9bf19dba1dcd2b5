/**
 * The pure parts of the scaling figures of `npm run bench` (issue #20, point 3): the straight-line fit of ms/step
 * against the number of tasks, the FLOP count of a dense trunk's training step, the GEMM rate, the judging of a
 * target, and which Node flags an FMA child needs. No TF.js, no I/O: test/bench-scaling.test.ts checks each against
 * hand-computed values.
 */

/**
 * ms/step = a + b·B per engine over the measured batch sizes B (least squares): a, what a step costs whatever its size,
 * and b, what each row adds; null for an engine with fewer than two batch sizes measured (a failed or skipped run has
 * no `ms_per_step_median`).
 * @param {readonly { batch: number, ours?: { ms_per_step_median?: number, error?: string } | null,
 *   torch?: { ms_per_step_median?: number, error?: string } | null }[]} rows
 * @returns {{ ours: { a: number, b: number, r2: number } | null, torch: { a: number, b: number, r2: number } | null }}
 */
export function batchFit(rows) {
  /** @param {'ours' | 'torch'} side */
  const fitOf = (side) => {
    const points = rows.flatMap((r) => {
      const ms = r[side]?.ms_per_step_median;
      return typeof ms === 'number' && Number.isFinite(ms) ? [{ batch: r.batch, ms }] : [];
    });
    if (new Set(points.map((p) => p.batch)).size < 2) return null;
    const { a, b, r2 } = linearFit(
      points.map((p) => p.batch),
      points.map((p) => p.ms),
    );
    /** @param {number} x @param {number} digits */
    const round = (x, digits) => Number(x.toFixed(digits));
    return { a: round(a, 3), b: round(b, 5), r2: round(r2, 4) };
  };
  return { ours: fitOf('ours'), torch: fitOf('torch') };
}

/**
 * Least-squares line y = a + b·x through the points, with its coefficient of determination R² (1 − SSres / SStot;
 * 1 when every y is the same and the line passes through them all).
 * @param {readonly number[]} xs
 * @param {readonly number[]} ys
 * @returns {{ a: number, b: number, r2: number }}
 */
export function linearFit(xs, ys) {
  if (xs.length !== ys.length) throw new Error(`linearFit: ${xs.length} x values but ${ys.length} y values`);
  if (xs.length < 2) throw new Error('linearFit: needs at least two points');
  const n = xs.length;
  const meanX = xs.reduce((s, x) => s + x, 0) / n;
  const meanY = ys.reduce((s, y) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] ?? 0) - meanX;
    sxx += dx * dx;
    sxy += dx * ((ys[i] ?? 0) - meanY);
  }
  if (sxx === 0) throw new Error('linearFit: every x is the same');
  const b = sxy / sxx;
  const a = meanY - b * meanX;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    const y = ys[i] ?? 0;
    const x = xs[i] ?? 0;
    ssRes += (y - (a + b * x)) ** 2;
    ssTot += (y - meanY) ** 2;
  }
  return { a, b, r2: ssTot === 0 ? 1 : 1 - ssRes / ssTot };
}

/**
 * FLOPs of one training step of a stack of dense layers, counting the matrix products only (2 FLOPs per
 * multiply-add; bias, activations, losses and the optimizer are left out). A layer of `in` → `out` units on a batch
 * of B rows costs
 *   forward              2·B·in·out   (x·W)
 *   backward, weights    2·B·in·out   (xᵀ·dy)
 *   backward, its input  2·B·in·out   (dy·Wᵀ), except for the first layer: the model input needs no gradient, and
 *                                     neither TF.js's tape nor autograd computes it.
 * @param {number} batch
 * @param {readonly (readonly [number, number])[]} layers  [in, out] of each dense layer, input side first
 * @returns {{ forward: number, backward: number, total: number }}
 */
export function denseStepFlops(batch, layers) {
  let forward = 0;
  let backward = 0;
  layers.forEach(([inputs, outputs], index) => {
    const product = 2 * batch * inputs * outputs;
    forward += product;
    backward += index === 0 ? product : 2 * product;
  });
  return { forward, backward, total: forward + backward };
}

/**
 * The dense layers of the width-scaling model: a trunk 784→w→w (ReLU) and `heads` 10-way softmax heads on it (each
 * head one dense w→10 layer).
 * @param {number} width
 * @param {number} [heads]
 * @returns {[number, number][]}
 */
export function widthModelLayers(width, heads = 2) {
  return [
    [784, width],
    [width, width],
    ...Array.from({ length: heads }, () => /** @type {[number, number]} */ ([width, 10])),
  ];
}

/** GFLOP/s of `flops` done in `ms` milliseconds. @param {number} flops @param {number} ms */
export function gflopsPerSecond(flops, ms) {
  return flops / (ms * 1e6);
}

/** FLOPs of one n×n by n×n single-precision matrix product (sgemm). @param {number} n */
export function squareGemmFlops(n) {
  return 2 * n ** 3;
}

/**
 * A target of the form value ≤ limit. `met` is true or false, or null when the value could not be measured (a
 * workload skipped or failed): such a target prints as "not measured", never as met.
 * @param {string} target
 * @param {number | null | undefined} value
 * @param {number} limit
 * @param {Record<string, unknown>} [extra]
 */
export function judgeTarget(target, value, limit, extra = {}) {
  const measured = typeof value === 'number' && Number.isFinite(value);
  return { target, value: measured ? value : null, limit, met: measured ? value <= limit : null, ...extra };
}

/**
 * A ratio target numerator / denominator ≤ limit, keeping both numbers (ms/step) for the report.
 * @param {string} target
 * @param {number | null | undefined} numerator
 * @param {number | null | undefined} denominator
 * @param {number} limit
 * @param {Record<string, unknown>} [extra]
 */
export function judgeRatio(target, numerator, denominator, limit, extra = {}) {
  /** @param {number | null | undefined} x @returns {number | null} */
  const positive = (x) => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : null);
  const top = positive(numerator);
  const bottom = positive(denominator);
  return judgeTarget(target, top !== null && bottom !== null ? top / bottom : null, limit, {
    numerator: top,
    denominator: bottom,
    ...extra,
  });
}

/**
 * @typedef {{ target: string, value?: number | number[] | null, limit?: number, met?: boolean | null,
 *   numerator?: number | null, denominator?: number | null, detail?: string }} Target
 */

/**
 * A value with three decimals, or as many more as it takes not to print a value that differs from its limit as the
 * limit itself (1.60032 against 1.6 would read "1.600 (limit 1.6)", and MISSED beside it).
 * @param {number} value
 * @param {number | undefined} limit
 */
function nextToLimit(value, limit) {
  let digits = 3;
  while (limit !== undefined && value !== limit && Number(value.toFixed(digits)) === limit && digits < 12) digits++;
  return value.toFixed(digits);
}

/**
 * One line of the targets list: MET or MISSED (a judged target, with or without a numeric limit), "n/a" (a limit but
 * not measured) or "info" (a figure reported without a limit).
 * @param {Target} t
 */
export function targetLine(t) {
  const status = t.met === true ? 'MET   ' : t.met === false ? 'MISSED' : t.limit === undefined ? 'info  ' : 'n/a   ';
  const value =
    t.value === null || t.value === undefined
      ? t.limit === undefined
        ? ''
        : 'not measured'
      : Array.isArray(t.value)
        ? t.value.join(' ')
        : nextToLimit(t.value, t.limit);
  const limit = t.limit === undefined ? '' : ` (limit ${t.limit})`;
  const both =
    typeof t.numerator === 'number' && typeof t.denominator === 'number'
      ? ` (${t.numerator.toFixed(2)} vs ${t.denominator.toFixed(2)} ms/step)`
      : '';
  const detail = t.detail ? `${value === '' ? '' : ' — '}${t.detail}` : '';
  return `${status} ${t.target}: ${value}${value === '' ? '' : limit}${both}${detail}`;
}

/**
 * The smallest WebAssembly module that uses relaxed SIMD: one function (v128, v128, v128) → v128 returning
 * f32x4.relaxed_madd of its arguments (opcode 0xfd 0x105). `WebAssembly.validate` on it says whether the runtime
 * has relaxed SIMD enabled.
 */
export const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // magic, version 1
  0x01,
  0x08,
  0x01,
  0x60,
  0x03,
  0x7b,
  0x7b,
  0x7b,
  0x01,
  0x7b, // type: (v128 v128 v128) → v128
  0x03,
  0x02,
  0x01,
  0x00, // function 0 of type 0
  0x0a,
  0x0d,
  0x01,
  0x0b,
  0x00,
  0x20,
  0x00,
  0x20,
  0x01,
  0x20,
  0x02,
  0xfd,
  0x85,
  0x02,
  0x0b, // body
]);

/** Whether this runtime validates a relaxed-SIMD module. */
export function relaxedSimdAvailable() {
  // The project's type libraries leave WebAssembly out; Node has it.
  const wasm = Reflect.get(globalThis, 'WebAssembly');
  try {
    return Boolean(wasm.validate(RELAXED_SIMD_PROBE));
  } catch {
    return false;
  }
}

/**
 * The Node flags a TF.js child needs for the FMA kernels: Node 20 ships relaxed SIMD behind
 * `--experimental-wasm-relaxed-simd`; from Node 22 (V8 11.4+) it is on by default and the flag is not needed.
 * @param {string} nodeVersion  e.g. "20.20.2" (process.versions.node, without the "v")
 * @param {'on' | 'off' | 'auto'} fma
 */
export function fmaNodeFlags(nodeVersion, fma) {
  const major = Number.parseInt(nodeVersion.replace(/^v/, '').split('.')[0] ?? '', 10);
  if (fma === 'off' || !Number.isInteger(major)) return [];
  return major <= 21 ? ['--experimental-wasm-relaxed-simd'] : [];
}
