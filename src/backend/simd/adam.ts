/**
 * The Adam/AdamW update (Kingma & Ba 2015, Alg. 1; AdamW: Loshchilov & Hutter 2019) of one float32 variable and its
 * two moments in one pass, in WebAssembly SIMD on the wasm backend's heap. Per element, in this order, every operation
 * a float32 operation rounded as the op chain in train/optimizers.ts rounds it (so the results are bit-identical):
 *
 *   g  = coupled ? g + w·d : g
 *   m' = m·β1 + g·(1 − β1)
 *   v' = v·β2 + (g·g)·(1 − β2)
 *   u  = (m'·s) / (√(v' / b2) + ε)          s = lr/(1 − β1^t), b2 = 1 − β2^t
 *   u  = decoupled ? u + w·(lr·decay) : u
 *   w' = w − u
 *
 * f32x4.sqrt and f32x4.div are correctly rounded IEEE operations, like the scalar ones the stock kernels use. The
 * op chain takes 13 kernels and 13 passes over the variable; this is one pass (784×256 weights: ~1.6 ms → ~0.2 ms).
 */
import type { FunctionBuilder, Local } from './assembler.js';
import type { ModuleBuilder } from './module-builder.js';

/**
 * One update's hyperparameters, as plain JS numbers (float64) exactly as the op chain in train/optimizers.ts passes
 * them to `tf.mul`/`tf.div`/`tf.add` (which turn each into a float32 scalar; so does the call into wasm).
 */
export interface AdamHyperparameters {
  beta1: number;
  beta2: number;
  /** lr / (1 − β1^t). */
  stepSize: number;
  /** 1 − β2^t. */
  bias2: number;
  epsilon: number;
  /** Classic L2: g ← g + w·coupledDecay (0 = none). */
  coupledDecay: number;
  /** AdamW's decoupled decay: update ← update + w·decoupledDecay, with decoupledDecay = lr·decay (0 = none). */
  decoupledDecay: number;
}

/** (w, g, m, v, outW, outM, outV, size, β1, 1−β1, β2, 1−β2, s, b2, ε, d, lr·decay): pointers in bytes. */
const ADAM_PARAMS = [
  'i32',
  'i32',
  'i32',
  'i32',
  'i32',
  'i32',
  'i32',
  'i32',
  'f32',
  'f32',
  'f32',
  'f32',
  'f32',
  'f32',
  'f32',
  'f32',
  'f32',
] as const;

export function adamFunctionName(coupled: boolean, decoupled: boolean): string {
  return `adam_${coupled ? 'l2' : 'plain'}_${decoupled ? 'decoupled' : 'none'}`;
}

function emitAdam(module: ModuleBuilder, coupled: boolean, decoupled: boolean): void {
  const f = module.function(adamFunctionName(coupled, decoupled), ADAM_PARAMS);
  const [
    w,
    g,
    m,
    v,
    outW,
    outM,
    outV,
    size,
    beta1,
    oneMinusBeta1,
    beta2,
    oneMinusBeta2,
    stepSize,
    bias2,
    epsilon,
    decay,
    decoupledDecay,
  ] = f.paramLocals(ADAM_PARAMS.length);
  const offset = f.local('i32');
  const end = f.local('i32');
  const vectorEnd = f.local('i32');
  const splat = (scalar: Local): Local => {
    const vector = f.local('v128');
    f.get(scalar).f32x4Splat().set(vector);
    return vector;
  };
  const vb1 = splat(beta1);
  const vc1 = splat(oneMinusBeta1);
  const vb2 = splat(beta2);
  const vc2 = splat(oneMinusBeta2);
  const vs = splat(stepSize);
  const vbias2 = splat(bias2);
  const veps = splat(epsilon);
  const vd = splat(decay);
  const vdd = splat(decoupledDecay);

  // One element group (4 lanes or 1), the same expression tree for both widths.
  const body = (vector: boolean): void => {
    const lanes = vector ? 'v128' : 'f32';
    const wv = f.local(lanes);
    const gv = f.local(lanes);
    const mv = f.local(lanes);
    const vv = f.local(lanes);
    const u = f.local(lanes);
    const load = (base: Local): FunctionBuilder =>
      vector ? f.get(base).get(offset).i32Add().v128Load() : f.get(base).get(offset).i32Add().f32Load();
    const store = (base: Local, value: Local): FunctionBuilder =>
      vector
        ? f.get(base).get(offset).i32Add().get(value).v128Store()
        : f.get(base).get(offset).i32Add().get(value).f32Store();
    const c = (vectorConst: Local, scalarParam: Local): FunctionBuilder => f.get(vector ? vectorConst : scalarParam);
    const add = (): FunctionBuilder => (vector ? f.f32x4Add() : f.f32Add());
    const sub = (): FunctionBuilder => (vector ? f.f32x4Sub() : f.f32Sub());
    const mul = (): FunctionBuilder => (vector ? f.f32x4Mul() : f.f32Mul());
    const div = (): FunctionBuilder => (vector ? f.f32x4Div() : f.f32Div());
    const sqrt = (): FunctionBuilder => (vector ? f.f32x4Sqrt() : f.f32Sqrt());

    load(w).set(wv);
    load(g).set(gv);
    if (coupled) {
      f.get(gv).get(wv);
      c(vd, decay);
      mul();
      add();
      f.set(gv);
    }
    load(m);
    c(vb1, beta1);
    mul();
    f.get(gv);
    c(vc1, oneMinusBeta1);
    mul();
    add();
    f.set(mv);
    load(v);
    c(vb2, beta2);
    mul();
    f.get(gv).get(gv);
    mul();
    c(vc2, oneMinusBeta2);
    mul();
    add();
    f.set(vv);
    store(outM, mv);
    store(outV, vv);
    f.get(mv);
    c(vs, stepSize);
    mul();
    f.get(vv);
    c(vbias2, bias2);
    div();
    sqrt();
    c(veps, epsilon);
    add();
    div();
    f.set(u);
    if (decoupled) {
      f.get(u).get(wv);
      c(vdd, decoupledDecay);
      mul();
      add();
      f.set(u);
    }
    f.get(wv).get(u);
    sub();
    f.set(wv);
    store(outW, wv);
  };

  f.get(size).i32Const(2).i32Shl().set(end);
  f.get(end).i32Const(-16).i32And().set(vectorEnd);
  f.i32Const(0).set(offset);
  f.block(() =>
    f.loop(() => {
      f.get(offset).get(vectorEnd).i32GeS().brIf(1);
      body(true);
      f.get(offset).i32Const(16).i32Add().set(offset);
      f.br(0);
    }),
  );
  f.block(() =>
    f.loop(() => {
      f.get(offset).get(end).i32GeS().brIf(1);
      body(false);
      f.get(offset).i32Const(4).i32Add().set(offset);
      f.br(0);
    }),
  );
}

export function emitAdamFunctions(module: ModuleBuilder): void {
  for (const coupled of [false, true]) for (const decoupled of [false, true]) emitAdam(module, coupled, decoupled);
}
