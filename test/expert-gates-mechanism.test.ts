/**
 * MMoE, CGC, PLE and DSelect-k with every variable set to known numbers: gate weights and task outputs against a
 * plain-JS evaluation of each paper's formulas, written here independently of the implementation (experts are one
 * dense relu layer; heads the linear output layer).
 *
 * - MMoE (Ma et al. 2018, eq. 5–6): f^t(x) = Σ_e g^t(x)_e f_e(x), g^t(x) = softmax(W_t x), no bias (`gate_bias: true`
 *   adds one, as LibMTL's nn.Linear gates have).
 * - CGC (Tang et al. 2020, eq. 2–4): task t's gate softmax(W_t x) mixes the shared experts and its own,
 *   [E_s(x), E_t(x)].
 * - PLE (eq. 5–6): level l+1's task input is task t's gate mix of [E_s^l(s^l), E_t^l(u_t^l)]; the shared input is the
 *   shared gate's mix of all experts [E_s^l(s^l), E_1^l(u_1^l), …, E_T^l(u_T^l)]; each gate reads its own input.
 * - DSelect-k (Hazimeh et al. 2021, eq. 4–6, per-example gate): α(x) = Σ_i softmax(W x + b)_i r_i(x), r_i(x)_e =
 *   Π_b [bit_b(e) ? S(z_ib) : 1 − S(z_ib)], z_i = Z_i x + c_i, smooth step S; entropy regulariser
 *   λ_H mean_x Σ_t Σ_i H(r_i).
 *   With a number of experts E that is not a power of two, the authors' code keeps r_i as it is (codes ≥ E carry weight
 *   that no expert gets) and adds Σ_x Σ_t Σ_i 1 / Σ_{e<E} r_i(x)_e to the loss; `unreachable: renormalise` instead
 *   divides r_i by that sum.
 */
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import type { LayerConfig } from '../src/config/types.js';
import type { InspectableModel } from '../src/model/experts.js';
import { getArchitecture } from '../src/model/registry.js';
import { createRng } from '../src/util/rng.js';
import {
  assignKnownValues,
  denseRows,
  expectRowsClose,
  type KnownValues,
  mapRows,
  mixRows,
  relu,
  type Rows,
  rowsOf,
  softmaxRows,
  valuesOf,
} from './helpers/fixed-weights.js';
import { twoHeads } from './helpers/layers.js';

const TRUNK: LayerConfig[] = [{ type: 'dense', units: 2, activation: 'relu', bias: true }];
const TASKS = ['a', 'b'];
const X: Rows = [
  [0.5, -1],
  [1.5, 0.25],
  [-0.75, 2],
];

function buildModel(architecture: string, options: Record<string, unknown>): InspectableModel {
  return getArchitecture(architecture).build(
    { architecture, trunk: TRUNK, head: [], ...options },
    { inputSize: 2, heads: twoHeads, rng: createRng(1).fork('model') },
  ) as InspectableModel;
}

/** act(x K + b) of the dense layer whose variables are `${prefix}/kernel` and `${prefix}/bias`. */
function dense(known: KnownValues, prefix: string, x: Rows, activation: (v: number) => number = (v) => v): Rows {
  return mapRows(denseRows(x, valuesOf(known, `${prefix}/kernel`), valuesOf(known, `${prefix}/bias`)), activation);
}

/** An expert (one dense relu layer, trunk index 0) named `${prefix}`. */
const expert = (known: KnownValues, prefix: string, x: Rows): Rows => dense(known, `${prefix}/0`, x, relu);
/** softmax(x W) (the papers' gate), or softmax(x W + b) with `gate_bias: true`. */
function softmaxGate(known: KnownValues, prefix: string, x: Rows): Rows {
  const kernel = valuesOf(known, `${prefix}/kernel`);
  const bias = known.get(`${prefix}/bias`) ?? new Array<number>(kernel.length / x[0]!.length).fill(0);
  return softmaxRows(denseRows(x, kernel, bias));
}
const head = (known: KnownValues, task: string, x: Rows): Rows => dense(known, `tasks/${task}/output`, x);

/** Builds, sets the known values, and checks inspect()'s gates and forward()'s outputs against `expected`. */
function checkModel(
  architecture: string,
  options: Record<string, unknown>,
  expected: (known: KnownValues) => { gates: Record<string, Rows>; outputs: Record<string, Rows> },
): void {
  const model = buildModel(architecture, options);
  const x = tf.tensor2d(X);
  try {
    const known = assignKnownValues(model);
    const want = expected(known);
    const record = model.inspect(x);
    expect(Object.keys(record).sort()).toEqual(expect.arrayContaining(Object.keys(want.gates).sort()));
    for (const [name, rows] of Object.entries(want.gates)) expectRowsClose(rowsOf(record[name]!), rows);
    const { outputs } = model.forward(x, false);
    for (const task of TASKS) expectRowsClose(rowsOf(outputs[task]!), want.outputs[task]!);
    tf.dispose([...Object.values(record), ...Object.values(outputs)]);
  } finally {
    x.dispose();
    model.dispose();
  }
}

/** The papers' gates have no bias; `gate_bias: true` adds one. */
function expectGateBias(known: KnownValues, gate: string, present: boolean): void {
  expect(known.has(`${gate}/kernel`)).toBe(true);
  expect(known.has(`${gate}/bias`), `${gate}/bias`).toBe(present);
}

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);

describe('expert architectures with fixed weights', () => {
  it.each([false, true])('mmoe (gate_bias %s): per-task softmax gates mix the shared experts', (gateBias) => {
    checkModel('mmoe', { experts: 3, gate_bias: gateBias }, (known) => {
      expectGateBias(known, 'tasks/a/gate', gateBias);
      const experts = [0, 1, 2].map((e) => expert(known, `experts/${e}`, X));
      const gates = Object.fromEntries(TASKS.map((t) => [`gate/${t}`, softmaxGate(known, `tasks/${t}/gate`, X)]));
      const outputs = Object.fromEntries(TASKS.map((t) => [t, head(known, t, mixRows(experts, gates[`gate/${t}`]!))]));
      return { gates, outputs };
    });
  });

  it.each([false, true])('cgc (gate_bias %s): task t mixes the shared experts and its own experts only', (gateBias) => {
    checkModel('cgc', { shared_experts: 2, task_experts: 1, gate_bias: gateBias }, (known) => {
      expectGateBias(known, 'levels/0/gates/b', gateBias);
      const shared = [0, 1].map((e) => expert(known, `levels/0/shared-experts/${e}`, X));
      const gates: Record<string, Rows> = {};
      const outputs: Record<string, Rows> = {};
      for (const t of TASKS) {
        const own = expert(known, `levels/0/task-experts/${t}/0`, X);
        const g = softmaxGate(known, `levels/0/gates/${t}`, X);
        gates[`gate/${t}/0`] = g;
        outputs[t] = head(known, t, mixRows([...shared, own], g));
      }
      return { gates, outputs };
    });
  });

  it.each([false, true])(
    'ple (gate_bias %s): two levels; the shared gate mixes every expert into the next level',
    (gateBias) => {
      checkModel('ple', { levels: 2, shared_experts: 1, task_experts: 1, gate_bias: gateBias }, (known) => {
        expectGateBias(known, 'levels/0/gates/shared', gateBias);
        const gates: Record<string, Rows> = {};
        // Level 0: s^0 = u_a^0 = u_b^0 = x.
        const shared0 = expert(known, 'levels/0/shared-experts/0', X);
        const own0 = Object.fromEntries(TASKS.map((t) => [t, expert(known, `levels/0/task-experts/${t}/0`, X)]));
        const u1: Record<string, Rows> = {};
        for (const t of TASKS) {
          gates[`gate/${t}/0`] = softmaxGate(known, `levels/0/gates/${t}`, X);
          u1[t] = mixRows([shared0, own0[t]!], gates[`gate/${t}/0`]!);
        }
        gates['gate/shared/0'] = softmaxGate(known, 'levels/0/gates/shared', X);
        const s1 = mixRows([shared0, own0['a']!, own0['b']!], gates['gate/shared/0']);
        // Level 1 (the last): shared experts read s^1, task t's experts and gate read u_t^1.
        const shared1 = expert(known, 'levels/1/shared-experts/0', s1);
        const outputs: Record<string, Rows> = {};
        for (const t of TASKS) {
          const own = expert(known, `levels/1/task-experts/${t}/0`, u1[t]!);
          gates[`gate/${t}/1`] = softmaxGate(known, `levels/1/gates/${t}`, u1[t]!);
          outputs[t] = head(known, t, mixRows([shared1, own], gates[`gate/${t}/1`]!));
        }
        return { gates, outputs };
      });
    },
  );

  /** DSelect-k's gate of task t on X: selectors r [batch][k][E] and α [batch][E] (E = 2^m, or renormalised). */
  function dselectGate(
    known: KnownValues,
    task: string,
    experts: number,
    k: number,
    gamma: number,
    renormalise = false,
  ) {
    const m = Math.ceil(Math.log2(experts));
    const smoothStep = (s: number): number =>
      s <= -gamma / 2 ? 0 : s >= gamma / 2 ? 1 : (-2 / gamma ** 3) * s ** 3 + (3 / (2 * gamma)) * s + 0.5;
    const z = dense(known, `tasks/${task}/gate/z`, X); // [batch, k·m], selector i's logits at i·m .. i·m + m − 1
    const weights = softmaxRows(dense(known, `tasks/${task}/gate/w`, X));
    const selectors = z.map((row) =>
      Array.from({ length: k }, (_, i) => {
        const r = Array.from({ length: experts }, (_, e) => {
          let product = 1;
          for (let b = 0; b < m; b++) {
            const bit = (e >> (m - 1 - b)) & 1; // most significant bit first
            const s = smoothStep(row[i * m + b]!);
            product *= bit === 1 ? s : 1 - s;
          }
          return product;
        });
        const total = r.reduce((a, v) => a + v, 0);
        return renormalise ? r.map((v) => v / Math.max(total, 1e-12)) : r;
      }),
    );
    const alpha = selectors.map((rs, n) =>
      Array.from({ length: experts }, (_, e) => rs.reduce((sum, r, i) => sum + weights[n]![i]! * r[e]!, 0)),
    );
    return { selectors, alpha };
  }

  it.each([
    [4, 'penalty'],
    [3, 'penalty'],
    [3, 'renormalise'],
  ])('dselect-k with %i experts (unreachable: %s): gates, outputs and the penalty', (experts, unreachable) => {
    const k = 2;
    const gamma = 1;
    const entropyReg = 0.1;
    const renormalise = unreachable === 'renormalise';
    const options = { experts, k, gamma, entropy_reg: entropyReg, unreachable };
    checkModel('dselect-k', options, (known) => {
      const outs = Array.from({ length: experts }, (_, e) => expert(known, `experts/${e}`, X));
      const gates: Record<string, Rows> = {};
      const outputs: Record<string, Rows> = {};
      for (const t of TASKS) {
        const { selectors, alpha } = dselectGate(known, t, experts, k, gamma, renormalise);
        gates[`gate/${t}`] = alpha;
        gates[`selectors/${t}`] = selectors.map((rs) => rs.flat());
        outputs[t] = head(known, t, mixRows(outs, alpha));
      }
      return { gates, outputs };
    });
    // The penalty after a training forward pass: λ_H · mean_x Σ_t Σ_i H(r_i(x)), H(r) = −Σ_e r_e log(r_e + 1e-6), plus,
    // with the authors' handling of 3 experts (2 bits, code 3 unreachable), Σ_x Σ_t Σ_i 1 / Σ_e r_i(x)_e.
    const model = buildModel('dselect-k', options);
    const x = tf.tensor2d(X);
    try {
      const known = assignKnownValues(model);
      const { outputs } = model.forward(x, true);
      const penalty = model.penalty!();
      const entropy = (r: number[]): number => -r.reduce((s, v) => s + v * Math.log(v + 1e-6), 0);
      const selectors = TASKS.map((t) => dselectGate(known, t, experts, k, gamma, renormalise).selectors);
      let entropySum = 0;
      let reach = 0;
      for (const perTask of selectors) {
        for (const rs of perTask) {
          for (const r of rs) {
            entropySum += entropy(r);
            reach += 1 / r.reduce((a, v) => a + v, 0);
          }
        }
      }
      const expected = (entropyReg * entropySum) / X.length + (experts === 3 && !renormalise ? reach : 0);
      expect(penalty.dataSync()[0]).toBeCloseTo(expected, 4);
      if (experts === 3 && !renormalise) {
        // The selectors' weight on real experts is below 1 somewhere (else the check above would not test the term).
        expect(Math.min(...selectors.flat(2).map((r) => r.reduce((a, v) => a + v, 0)))).toBeLessThan(0.999);
      }
      tf.dispose([penalty, ...Object.values(outputs)]);
    } finally {
      x.dispose();
      model.dispose();
    }
  });
});
