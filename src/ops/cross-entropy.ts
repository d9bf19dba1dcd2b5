import { tf } from '../tf.js';
import { sigmoidCrossEntropyOnHost, softmaxCrossEntropyOnHost } from './cross-entropy-host.js';

/**
 * Softmax and sigmoid cross-entropy, each one kernel forward and one backward, on the backends that run in this
 * process's memory (wasm and cpu).
 *
 * Why: TF.js builds `tf.losses.softmaxCrossEntropy` from ops — log-sum-exp (max, subtract, exp, sum, log, add),
 * subtract, multiply, negate, sum, then the mean reduction (cast, divide) — and its gradient from as many again:
 * about 30 kernel calls per task and step, ~10 % of a W1 step and a quarter of the quickstart's (64-row batches,
 * where each call's bookkeeping costs more than its arithmetic). Here each loss is one pass over the outputs.
 *
 * What they compute (rows r, columns j of the [N, C] outputs z and targets t; the mean reduction of `tf.losses`):
 *
 *   softmax:  L = (1/N) Σ_r Σ_j t_rj · (lse_r − z_rj),  lse_r = m_r + log Σ_k exp(z_rk − m_r),  m_r = max_k z_rk
 *             ∂L/∂z_rj = (T_r · p_rj − t_rj) / N,        p_rj = exp(z_rj − lse_r),  T_r = Σ_k t_rk (1 for one-hot)
 *   sigmoid:  L = (1/(N·C)) Σ max(z, 0) − z·t + log(1 + exp(−|z|))
 *             ∂L/∂z = (σ(z) − t) / (N·C)
 *
 * and ∂L/∂t = (lse_r − z_rj) / N, resp. −z / (N·C), for completeness (targets are constants in training). The
 * forward kernel also returns p (resp. σ(z)), saved for the backward kernel, so the exps are taken once. Arithmetic
 * is float64 rounded to float32 at the end, so values differ from TF.js's float32 op chain in the last bits
 * (test/fused-losses.test.ts holds them to it); the same inputs always give the same values. Other backends
 * (tensorflow, webgl, webgpu) keep `tf.losses`.
 */
export const SOFTMAX_CROSS_ENTROPY_KERNEL = 'MtlSoftmaxCrossEntropy';
export const SIGMOID_CROSS_ENTROPY_KERNEL = 'MtlSigmoidCrossEntropy';
const SOFTMAX_CROSS_ENTROPY_GRAD_KERNEL = 'MtlSoftmaxCrossEntropyGrad';
const SIGMOID_CROSS_ENTROPY_GRAD_KERNEL = 'MtlSigmoidCrossEntropyGrad';

/** Backends whose data lives in this process, readable without a copy to the host that would cost more. */
const HOST_BACKENDS = new Set(['wasm', 'cpu']);

/** The parts of the wasm and cpu backends these kernels use. */
interface HostBackend {
  readSync(dataId: tf.TensorInfo['dataId']): unknown;
  /** cpu (wasm has none) */
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  /** wasm: a new tensor holding `values` */
  makeOutput?(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: Float32Array): tf.TensorInfo;
  /** wasm: a view of the tensor's data on the heap (no copy). */
  typedArrayFromHeap?(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function output(backend: HostBackend, shape: number[], values: Float32Array): tf.TensorInfo {
  // cpu first: it also has a makeOutput, with other parameters (values, shape, dtype).
  if (backend.makeTensorInfo) return backend.makeTensorInfo(shape, 'float32', values);
  if (backend.makeOutput) return backend.makeOutput(shape, 'float32', undefined, values);
  throw new Error('fused loss kernels: this backend cannot make tensors from host values');
}

function read(backend: HostBackend, info: tf.TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`fused loss kernels take float32 tensors, got ${info.dtype}`);
  return (
    backend.typedArrayFromHeap ? backend.typedArrayFromHeap(info) : backend.readSync(info.dataId)
  ) as Float32Array;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown };

function matrixShape(info: tf.TensorInfo): [number, number] {
  if (info.shape.length !== 2)
    throw new Error(`fused loss kernels take [rows, columns] outputs, got shape [${info.shape.join(', ')}]`);
  return [info.shape[0]!, info.shape[1]!];
}

/** A forward kernel's inputs: logits z and targets t, both [rows, width]. */
function forwardInputs({ inputs, backend: b }: KernelArgs): {
  backend: HostBackend;
  rows: number;
  width: number;
  z: Float32Array;
  t: Float32Array;
} {
  const backend = b as HostBackend;
  const logits = inputs['logits'] as tf.TensorInfo;
  const [rows, width] = matrixShape(logits);
  return { backend, rows, width, z: read(backend, logits), t: read(backend, inputs['labels'] as tf.TensorInfo) };
}

/** A backward kernel's inputs: the saved probabilities p, the targets t, and the loss's incoming gradient dy. */
function backwardInputs({ inputs, backend: b }: KernelArgs): {
  backend: HostBackend;
  rows: number;
  width: number;
  p: Float32Array;
  t: Float32Array;
  dy: number;
} {
  const backend = b as HostBackend;
  const probabilities = inputs['probabilities'] as tf.TensorInfo;
  const [rows, width] = matrixShape(probabilities);
  const dy = read(backend, inputs['dy'] as tf.TensorInfo)[0]!;
  return {
    backend,
    rows,
    width,
    p: read(backend, probabilities),
    t: read(backend, inputs['labels'] as tf.TensorInfo),
    dy,
  };
}

function softmaxCrossEntropyForward(args: KernelArgs): tf.TensorInfo[] {
  const { backend, rows, width, z, t } = forwardInputs(args);
  const { loss, predictions } = softmaxCrossEntropyOnHost(z, t, rows, width);
  // Views of the wasm heap are not used past this point: creating the outputs may grow (detach) it.
  return [output(backend, [], Float32Array.of(loss)), output(backend, [rows, width], predictions)];
}

function softmaxCrossEntropyBackward(args: KernelArgs): tf.TensorInfo {
  const { backend, rows, width, p, t, dy } = backwardInputs(args);
  const scale = dy / rows;
  const gradient = new Float32Array(rows * width);
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    let targetSum = 0;
    for (let j = 0; j < width; j++) targetSum += t[base + j]!;
    for (let j = 0; j < width; j++) gradient[base + j] = (targetSum * p[base + j]! - t[base + j]!) * scale;
  }
  return output(backend, [rows, width], gradient);
}

function sigmoidCrossEntropyForward(args: KernelArgs): tf.TensorInfo[] {
  const { backend, rows, width, z, t } = forwardInputs(args);
  const { loss, predictions } = sigmoidCrossEntropyOnHost(z, t);
  return [output(backend, [], Float32Array.of(loss)), output(backend, [rows, width], predictions)];
}

function sigmoidCrossEntropyBackward(args: KernelArgs): tf.TensorInfo {
  const { backend, rows, width, p, t, dy } = backwardInputs(args);
  const n = rows * width;
  const scale = dy / n;
  const gradient = new Float32Array(n);
  for (let i = 0; i < n; i++) gradient[i] = (p[i]! - t[i]!) * scale;
  return output(backend, [rows, width], gradient);
}

/**
 * The gradient of a fused loss: its backward kernel for the logits (from the probabilities the forward kernel saved),
 * `targetsGradient` for the targets. `dy` holds one gradient per output; the probabilities output is never used
 * downstream, so only the loss's counts.
 */
function registerLossGradient(
  kernelName: string,
  gradientKernel: string,
  targetsGradient: (logits: tf.Tensor2D, dLoss: tf.Scalar) => tf.Tensor,
): void {
  tf.registerGradient({
    kernelName,
    inputsToSave: ['logits', 'labels'],
    outputsToSave: [false, true],
    gradFunc: (dy, saved) => {
      const [logits, labels, probabilities] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const dLoss = (Array.isArray(dy) ? dy[0] : dy) as tf.Scalar;
      return {
        logits: () => tf.engine().runKernel(gradientKernel, { probabilities, labels, dy: dLoss }, {}),
        labels: () => targetsGradient(logits, dLoss),
      };
    },
  });
}

registerLossGradient(SOFTMAX_CROSS_ENTROPY_KERNEL, SOFTMAX_CROSS_ENTROPY_GRAD_KERNEL, (logits, dLoss) =>
  tf.mul(tf.neg(tf.logSoftmax(logits)), tf.div(dLoss, logits.shape[0])),
);
registerLossGradient(SIGMOID_CROSS_ENTROPY_KERNEL, SIGMOID_CROSS_ENTROPY_GRAD_KERNEL, (logits, dLoss) =>
  tf.mul(tf.neg(logits), tf.div(dLoss, logits.size)),
);

const KERNELS: [string, tf.KernelFunc][] = [
  [SOFTMAX_CROSS_ENTROPY_KERNEL, softmaxCrossEntropyForward as unknown as tf.KernelFunc],
  [SOFTMAX_CROSS_ENTROPY_GRAD_KERNEL, softmaxCrossEntropyBackward as unknown as tf.KernelFunc],
  [SIGMOID_CROSS_ENTROPY_KERNEL, sigmoidCrossEntropyForward as unknown as tf.KernelFunc],
  [SIGMOID_CROSS_ENTROPY_GRAD_KERNEL, sigmoidCrossEntropyBackward as unknown as tf.KernelFunc],
];

/** Whether the active backend runs the fused kernels (registered on first use for wasm and cpu). */
export function fusedLossesAvailable(backendName = tf.getBackend()): boolean {
  if (!HOST_BACKENDS.has(backendName)) return false;
  for (const [kernelName, kernelFunc] of KERNELS) {
    if (tf.getKernel(kernelName, backendName) === undefined) tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
  return true;
}

/** Mean softmax cross-entropy of [N, C] logits against [N, C] targets (one-hot or rows of probabilities). */
export function softmaxCrossEntropy(labels: tf.Tensor2D, logits: tf.Tensor2D): tf.Scalar {
  if (!fusedLossesAvailable()) return tf.losses.softmaxCrossEntropy(labels, logits);
  const [loss, probabilities] = tf
    .engine()
    .runKernel(SOFTMAX_CROSS_ENTROPY_KERNEL, { logits, labels }, {}) as tf.Tensor[];
  probabilities?.dispose(); // the gradient keeps its own saved copy
  return loss as tf.Scalar;
}

/** Mean sigmoid cross-entropy over all elements of [N, C] logits against 0/1 (or probability) targets. */
export function sigmoidCrossEntropy(labels: tf.Tensor2D, logits: tf.Tensor2D): tf.Scalar {
  if (!fusedLossesAvailable()) return tf.losses.sigmoidCrossEntropy(labels, logits);
  const [loss, probabilities] = tf
    .engine()
    .runKernel(SIGMOID_CROSS_ENTROPY_KERNEL, { logits, labels }, {}) as tf.Tensor[];
  probabilities?.dispose();
  return loss as tf.Scalar;
}
