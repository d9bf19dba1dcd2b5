/**
 * The speed-ups measured by `npm run bench` (bench/README.md) change no numbers:
 *  - the wasm data-movement overrides (Slice, SplitV, Unpack, GatherV2) return exactly what the stock kernels return;
 *  - the fused Adam kernel and the optimizer's once-per-update scalars give bit-identical weights and moments to the
 *    op chain the optimizer used before (kept below as `referenceApply`), on wasm and on cpu;
 *  - a whole training run with and without those kernels ends with identical metrics.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../src/tf.js';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { initBackend } from '../src/backend/select.js';
import {
  ADAM_KERNEL_MAX_SIZE,
  setSimdKernelsEnabled,
  ADAM_UPDATE_KERNEL,
  installFastWasmKernels,
  isFastWasmKernelInstalled,
  uninstallFastWasmKernels,
} from '../src/backend/wasm/index.js';
import { parseConfigText } from '../src/config/load.js';
import type { TrainingConfig } from '../src/config/types.js';
import { createOptimizer } from '../src/train/optimizers.js';
import { tempDir } from './helpers.js';

const DATA_KERNELS = ['Slice', 'SplitV', 'Unpack', 'GatherV2', 'Sum', 'Identity'];
const NEW_KERNELS = [...DATA_KERNELS, ADAM_UPDATE_KERNEL];

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' }); // installs every fast kernel
});
afterAll(() => {
  installFastWasmKernels();
});

interface Snapshot {
  shape: number[];
  dtype: string;
  data: number[];
}

function snapshot(ts: tf.Tensor[]): Snapshot[] {
  return ts.map((t) => ({ shape: t.shape, dtype: t.dtype, data: Array.from(t.dataSync() as ArrayLike<number>) }));
}

/** The values of what `f` makes; its tensors are disposed. */
function valuesOf(f: () => tf.Tensor[]): Snapshot[] {
  let out: Snapshot[] = [];
  tf.tidy(() => {
    out = snapshot(f());
  });
  return out;
}

/** Runs `f` with the stock versions of `kernels` and again with the fast ones. */
function stockAndFast<T>(kernels: string[], f: () => T): { stock: T; fast: T } {
  uninstallFastWasmKernels(kernels);
  const stock = f();
  installFastWasmKernels();
  const fast = f();
  return { stock, fast };
}

describe('wasm data-movement overrides', () => {
  const cases: Array<[string, () => tf.Tensor[]]> = [
    [
      'slice of rows, of a block, of a column',
      () => {
        const x = tf.reshape(tf.range(0, 420 * 12), [420, 12]);
        return [tf.slice(x, [64, 0], [64, -1]), tf.slice(x, [3, 2], [5, 7]), tf.slice(x, [0, 11], [420, 1])];
      },
    ],
    [
      'rank 3–5 slices',
      () => {
        const a = tf.randomNormal([3, 4, 5, 6], 0, 1, 'float32', 9);
        const b = tf.randomNormal([2, 3, 4, 5, 6], 0, 1, 'float32', 11);
        return [
          tf.slice(a, [1, 0, 2, 1], [2, 4, 3, 5]),
          tf.slice(b, [1, 1, 0, 2, 1], [1, 2, 4, 3, 5]),
          tf.slice(a, [0, 1, 0, 0], [3, 2, 5, 6]),
        ];
      },
    ],
    [
      'unstack on every axis (MMoE backward)',
      () => {
        const x = tf.randomNormal([64, 8, 20], 0, 1, 'float32', 5);
        return [...tf.unstack(x, 0), ...tf.unstack(x, 1), ...tf.unstack(x, 2)];
      },
    ],
    [
      'split (concat backward)',
      () => {
        const x = tf.randomNormal([7, 9], 0, 1, 'float32', 3);
        return [...tf.split(x, [2, 3, 4], 1), ...tf.split(x, [3, 4], 0), ...tf.split(tf.reshape(x, [63]), 3)];
      },
    ],
    [
      'int32 and bool',
      () => {
        const i = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
        const b = tf.tensor2d([true, false, true, true, false, false], [3, 2], 'bool');
        return [
          tf.slice(i, [1, 0], [2, 2]),
          ...tf.unstack(i, 1),
          tf.slice(b, [0, 1], [3, 1]),
          ...tf.split(b, [1, 2], 0),
          tf.gather(i, [2, 0]),
          tf.gather(b, [2, 1, 1], 0),
        ];
      },
    ],
    [
      'gather rows (the per-epoch shuffle), columns, inner slices, empty',
      () => {
        const x = tf.randomNormal([600, 40], 0, 1, 'float32', 2);
        const perm = tf.tensor1d(
          Int32Array.from({ length: 600 }, (_, k) => (k * 7919) % 600),
          'int32',
        );
        const y = tf.randomNormal([3, 5, 7], 0, 1, 'float32', 4);
        return [
          tf.gather(x, perm),
          tf.gather(x, [3, 3, 0], 1),
          tf.gather(y, [4, 0, 2, 2], 1),
          tf.gather(
            y,
            [
              [1, 2],
              [0, 6],
            ],
            2,
          ),
          tf.gather(x, tf.tensor1d([], 'int32')),
        ];
      },
    ],
    [
      'sums over leading axes (bias gradients), other sums, signed zeros',
      () => {
        const x = tf.randomNormal([4200, 10], 0, 1, 'float32', 6);
        const y = tf.randomNormal([2, 256, 12], 0, 1, 'float32', 8);
        const z = tf.tensor2d([-0, -0, 1, -0, -0, -1], [2, 3]);
        return [
          tf.sum(x, 0),
          tf.sum(y, [0, 1]),
          tf.sum(y, [1, 0], true),
          tf.sum(y, 0),
          tf.sum(y, 1),
          tf.sum(y, -1),
          tf.sum(x),
          tf.sum(z, 0),
          // Bias-gradient shapes on the SIMD path: four columns at a time, then 0–3 single columns; magnitudes that
          // differ by orders, so another order of additions would round differently.
          tf.sum(
            tf.mul(
              tf.randomNormal([256, 256], 0, 1, 'float32', 9),
              tf.pow(10, tf.randomUniform([256, 256], -3, 3, 'float32', 10).round()),
            ),
            0,
          ),
          tf.sum(tf.randomNormal([37, 129], 0, 1, 'float32', 11), 0),
          tf.sum(tf.randomNormal([5, 3], 0, 1, 'float32', 12), 0),
        ];
      },
    ],
    [
      'clones (shared buffers): disposing the original or the clone leaves the other intact',
      () => {
        const a = tf.randomNormal([30, 7], 0, 1, 'float32', 12);
        const b = tf.clone(a);
        const c = tf.clone(tf.tensor1d([1, 2, 3], 'int32'));
        const d = tf.clone(tf.tensor1d([true, false], 'bool'));
        a.dispose();
        const e = tf.clone(b);
        b.dispose();
        return [e, c, d, tf.add(e, 1)];
      },
    ],
    [
      'scalars and empty slices',
      () => [
        tf.slice(tf.tensor1d([3]), [0], [1]),
        tf.slice(tf.zeros([4, 0]), [1, 0], [2, 0]),
        tf.slice(tf.zeros([4, 3]), [1, 0], [0, 3]),
      ],
    ],
  ];
  for (const [name, f] of cases) {
    it(`${name}: same values as the stock kernels, nothing left behind`, () => {
      const { stock, fast } = stockAndFast(DATA_KERNELS, () => valuesOf(f));
      expect(fast).toEqual(stock);
      const tensors = tf.memory().numTensors;
      const dataIds = tf.backend().numDataIds();
      tf.tidy(() => void f().map((t) => t.dataSync()));
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.backend().numDataIds()).toBe(dataIds);
    });
  }

  it('gather with batch dims matches the cpu backend (the stock wasm kernel gets it wrong)', async () => {
    installFastWasmKernels();
    const make = (): tf.Tensor =>
      tf.gather(
        tf.reshape(tf.range(0, 105), [3, 5, 7]),
        [
          [1, 0],
          [2, 2],
          [0, 1],
        ],
        1,
        1,
      );
    const wasm = valuesOf(() => [make()]);
    await tf.setBackend('cpu');
    const cpu = valuesOf(() => [make()]);
    await tf.setBackend('wasm');
    expect(wasm).toEqual(cpu);
  });

  for (const simd of [true, false])
    it(`gathers right when the output's allocation grows the heap (${simd ? 'wasm row copies' : 'JS copies'})`, () => {
      installFastWasmKernels();
      setSimdKernelsEnabled(simd);
      const heap = (): number => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
      const before = heap();
      const rows = 4;
      const picks = (before / 4 / rows) * 2 + 1; // an output twice the current heap: the allocation must grow it
      const x = tf.tensor2d(
        Float32Array.from({ length: rows * rows }, (_, i) => i),
        [rows, rows],
      );
      const index = tf.tensor1d(
        Int32Array.from({ length: picks }, (_, i) => (i * 7) % rows),
        'int32',
      );
      const y = tf.gather(x, index);
      expect(heap()).toBeGreaterThan(before);
      const got = y.dataSync();
      for (const i of [0, 1, 2, picks - 1]) {
        const row = (i * 7) % rows;
        expect(Array.from(got.subarray(i * rows, (i + 1) * rows))).toEqual([0, 1, 2, 3].map((c) => row * rows + c));
      }
      tf.dispose([x, index, y]);
      setSimdKernelsEnabled(true);
    });

  it('a column sum over no rows is 0 (the stock kernel returns what the heap held there)', () => {
    // Fill the heap with non-zero values first, so stale memory would show.
    tf.tidy(() => tf.fill([4096], 7).dataSync());
    const sums = tf.tidy(() => Array.from(tf.sum(tf.zeros([0, 5]), 0).dataSync()));
    expect(sums).toEqual([0, 0, 0, 0, 0]);
  });

  it('keeps the stock error for an index out of range', () => {
    installFastWasmKernels();
    expect(() => tf.gather(tf.tensor1d([1, 2, 3]), [3])).toThrow(/not in \[0, 2\]/);
  });
});

/** The optimizer's update before the fused kernel and the shared scalars (train/optimizers.ts at d0cab57). */
function referenceOptimizer(config: TrainingConfig, variables: tf.Variable[]) {
  const slots = new Map(
    variables.map((v) => [
      v.name,
      tf.tidy(() => ({ m: tf.variable(tf.zerosLike(v), false), v: tf.variable(tf.zerosLike(v), false) })),
    ]),
  );
  let step = 0;
  const { beta1, beta2, epsilon, momentum, weight_decay: decay } = config;
  const coupledDecay = config.optimizer === 'adamw' ? 0 : decay;
  return {
    apply(gradients: Record<string, tf.Tensor>, lr: number) {
      step++;
      const bias1 = 1 - beta1 ** step;
      const bias2 = 1 - beta2 ** step;
      tf.tidy(() => {
        for (const variable of variables) {
          const rawGradient = gradients[variable.name] as tf.Tensor;
          const decays = !variable.name.startsWith('strategy/');
          const gradient =
            coupledDecay > 0 && decays ? tf.add(rawGradient, tf.mul(variable, coupledDecay)) : rawGradient;
          const s = slots.get(variable.name)!;
          if (config.optimizer === 'sgd') {
            variable.assign(tf.sub(variable, tf.mul(gradient, lr)));
          } else if (config.optimizer === 'momentum') {
            const m = tf.add(tf.mul(s.m, momentum), gradient);
            s.m.assign(m);
            variable.assign(tf.sub(variable, tf.mul(m, lr)));
          } else {
            const m = tf.add(tf.mul(s.m, beta1), tf.mul(gradient, 1 - beta1));
            const v = tf.add(tf.mul(s.v, beta2), tf.mul(tf.square(gradient), 1 - beta2));
            s.m.assign(m);
            s.v.assign(v);
            let update = tf.div(tf.mul(m, lr / bias1), tf.add(tf.sqrt(tf.div(v, bias2)), epsilon));
            if (config.optimizer === 'adamw' && decay > 0 && decays)
              update = tf.add(update, tf.mul(variable, lr * decay));
            variable.assign(tf.sub(variable, update));
          }
        }
      });
    },
    slots: () =>
      [...slots.values()].flatMap((s) =>
        config.optimizer === 'sgd' ? [] : config.optimizer === 'momentum' ? [s.m] : [s.m, s.v],
      ),
    dispose: () => [...slots.values()].forEach((s) => tf.dispose([s.m, s.v])),
  };
}

describe('optimizer: fused Adam kernel and shared scalars', () => {
  // Small (kernel) and large (op chain) variables, and a strategy variable (never decayed).
  const shapes: Array<[string, number[]]> = [
    ['shared/0/kernel', [100, 64]],
    ['shared/0/bias', [64]],
    ['shared/1/kernel', [ADAM_KERNEL_MAX_SIZE + 1]],
    ['tasks/a/output/kernel', [64, 1]],
    ['strategy/log_var', [2]],
  ];
  const settings: Array<[TrainingConfig['optimizer'], number]> = [
    ['adam', 0],
    ['adam', 0.01],
    ['adamw', 0.01],
    ['sgd', 0.01],
    ['momentum', 0.001],
  ];

  function run(optimizer: TrainingConfig['optimizer'], decay: number, reference: boolean, tag: string): number[][] {
    const config = {
      optimizer,
      lr: 3e-3,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
      weight_decay: decay,
      momentum: 0.9,
    } as TrainingConfig;
    // Variable names are unique per run; a strategy variable keeps its `strategy/` prefix (it is never decayed).
    const unique = (name: string): string =>
      name.startsWith('strategy/') ? `strategy/${tag}/${name.slice(9)}` : `${tag}/${name}`;
    const vars = shapes.map(([name, shape], i) =>
      tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, 0.1, 'float32', i + 1), true, unique(name))),
    );
    const opt = reference ? referenceOptimizer(config, vars) : createOptimizer(config, vars);
    for (let step = 0; step < 12; step++) {
      const grads = tf.tidy(() =>
        Object.fromEntries(
          vars.map((v, i) => [v.name, tf.randomNormal(v.shape, 0, 0.05, 'float32', 1000 * step + i + 7)]),
        ),
      );
      opt.apply(grads, 3e-3 * (1 + step / 10));
      tf.dispose(Object.values(grads));
    }
    const out = [...vars, ...opt.slots()].map((v) => Array.from(v.dataSync()));
    opt.dispose();
    tf.dispose(vars);
    return out;
  }

  let runs = 0;
  for (const [optimizer, decay] of settings) {
    it(
      `${optimizer} (decay ${decay}): bit-identical to the previous op chain, with and without the kernel, on wasm ` +
        `and cpu`,
      async () => {
        installFastWasmKernels();
        expect(isFastWasmKernelInstalled(ADAM_UPDATE_KERNEL)).toBe(true);
        const before = tf.memory().numTensors;
        const reference = run(optimizer, decay, true, `r${runs++}`);
        const fused = run(optimizer, decay, false, `f${runs++}`);
        // The kernel's JS loop (where WebAssembly SIMD is unavailable) and its SIMD pass give the same numbers.
        setSimdKernelsEnabled(false);
        let jsLoop: number[][];
        try {
          jsLoop = run(optimizer, decay, false, `j${runs++}`);
        } finally {
          setSimdKernelsEnabled(true);
        }
        expect(jsLoop).toEqual(reference);
        uninstallFastWasmKernels([ADAM_UPDATE_KERNEL]);
        expect(tf.getKernel(ADAM_UPDATE_KERNEL, 'wasm')).toBeUndefined();
        const chain = run(optimizer, decay, false, `c${runs++}`);
        installFastWasmKernels();
        expect(fused).toEqual(reference);
        expect(chain).toEqual(reference);
        expect(tf.memory().numTensors).toBe(before);
        await tf.setBackend('cpu');
        try {
          expect(run(optimizer, decay, false, `p${runs++}`)).toEqual(run(optimizer, decay, true, `q${runs++}`));
        } finally {
          await tf.setBackend('wasm');
        }
      },
    );
  }
});

describe('a training run with and without the new kernels', () => {
  it('MMoE on synthetic data: identical epochs and final metrics', async () => {
    const dir = tempDir();
    const yaml = `name: fast-paths
seed: 3
backend: wasm
data:
  dataset: synthetic-correlated
  options: { tasks: 2, correlation: 0.5, features: 12, samples: 400 }
tasks:
  - { name: y1, type: regression }
  - { name: y2, type: regression }
model:
  architecture: mmoe
  experts: 3
  trunk: [{ type: dense, units: 8, activation: relu }, { type: dropout, rate: 0.1 }]
  head: [{ type: dense, units: 4, activation: relu }]
training: { epochs: 3, batch_size: 32, lr: 0.01, optimizer: adamw, weight_decay: 0.001 }
`;
    const train = async () => {
      const summary = await trainExperiment(parseConfigText(yaml), { runsDir: path.join(dir, 'runs') });
      const epochs = readFileSync(path.join(summary.dir, 'epochs.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const { seconds: _s, samplesPerSecond: _r, ...rest } = JSON.parse(l) as Record<string, unknown>;
          return rest;
        });
      return { test: summary.test, val: summary.val, epochs };
    };
    uninstallFastWasmKernels(NEW_KERNELS);
    const stock = await train();
    installFastWasmKernels();
    const fast = await train();
    expect(fast).toEqual(stock);
  });
});
