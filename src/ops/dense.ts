import { tf } from '../tf.js';
import { RELU_GRAD_KERNEL } from '../backend/wasm/index.js';

/**
 * relu(x·W + b) and x·W + b as one op each with a registered gradient, for dense layers.
 *
 * Why: under a gradient tape TF.js splits `tf.fused.matMul` with a relu into matMul, add and relu (tfjs-core
 * `shouldFuse`), so every training step paid two more kernels and passes over each layer's output, the broadcasting
 * bias add among them ([256, 256] + [256]: 0.15–0.4 ms on wasm). This op's forward pass is the backend's own
 * `_FusedMatMul` kernel (on wasm: the product with the bias and relu applied in one pass, backend/simd/), and its
 * gradient is what TF.js computes for the split ops, in the same order:
 *
 *   dz = dy ⊙ step(y)      (y > 0 exactly where x·W + b > 0; relu'(0) = 0, as tf.relu's gradient has it; one
 *                           `MtlReluGrad` kernel where the backend has it, bit-identical to `Step` then `Multiply`)
 *   dx = dz·Wᵀ,  dW = xᵀ·dz,  db = Σ_batch dz
 *
 * so losses, gradients and trained weights are bit-identical to the split ops (test/fused-dense.test.ts). The
 * gradient is registered per input, so TF.js only computes the ones it needs (never dx for a batch of inputs).
 *
 * The kernel is registered on first use for the active backend, delegating to that backend's `_FusedMatMul`; a backend
 * without one (none of TF.js's) gets the split ops (test/ops.test.ts).
 */
export const DENSE_RELU_KERNEL = 'MtlDenseRelu';
/**
 * x·W + b, the same way: TF.js keeps `tf.fused.matMul` with a linear activation fused under the tape, but as a
 * batched product with reshapes to and from rank 3 both ways (eight Reshape kernels per layer and step), and a bias
 * gradient summed over a rank-3 tensor. Task heads are such layers. Gradient: dz = dy, then as above.
 */
export const DENSE_LINEAR_KERNEL = 'MtlDenseLinear';

/**
 * The gradients of a dense op for the output gradient `dy`, each computed only when called: the kernels the ops
 * tf.matMul and tf.sum run (and `MtlReluGrad`, or tf.step and tf.mul's), called directly (the same computation
 * without an op scope, and its bookkeeping and garbage, for each; several per layer and step). The registered
 * gradient below and the steps' own tape (model/tape.ts) both run this, so the two give bit-identical gradients. `y`
 * is the op's output (relu only).
 */
export function denseGradients(
  dy: tf.Tensor2D,
  x: tf.Tensor2D,
  kernel: tf.Tensor2D,
  y: tf.Tensor2D | undefined,
): { x(): tf.Tensor2D; kernel(): tf.Tensor2D; bias(): tf.Tensor1D } {
  const run = <T extends tf.Tensor>(name: string, inputs: tf.NamedTensorMap, attrs: object = {}): T =>
    tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap);
  const dz: tf.Tensor2D = y ? reluGradient(dy, y, run) : dy;
  return {
    x: () => run('BatchMatMul', { a: dz, b: kernel }, { transposeA: false, transposeB: true }),
    kernel: () => run('BatchMatMul', { a: x, b: dz }, { transposeA: true, transposeB: false }),
    bias: () => run('Sum', { x: dz }, { axis: 0, keepDims: false }),
  };
}

/** dy ⊙ step(y): one kernel where the backend has `MtlReluGrad` (backend/wasm/relu-grad.ts), else TF.js's two. */
function reluGradient(
  dy: tf.Tensor2D,
  y: tf.Tensor2D,
  run: <T extends tf.Tensor>(name: string, inputs: tf.NamedTensorMap, attrs?: object) => T,
): tf.Tensor2D {
  if (tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend()) !== undefined) return run(RELU_GRAD_KERNEL, { dy, y });
  return run('Multiply', { a: dy, b: run<tf.Tensor2D>('Step', { x: y }, { alpha: 0 }) });
}

function registerDenseGradient(kernelName: string, relu: boolean): void {
  tf.registerGradient({
    kernelName,
    inputsToSave: ['x', 'kernel'],
    outputsToSave: [relu],
    gradFunc: (dy, saved) => {
      const [x, kernel, y] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D | undefined];
      return denseGradients(dy as tf.Tensor2D, x, kernel, relu ? y : undefined);
    },
  });
}

registerDenseGradient(DENSE_RELU_KERNEL, true);
registerDenseGradient(DENSE_LINEAR_KERNEL, false);

const ACTIVATIONS: Record<string, 'relu' | 'linear'> = { [DENSE_RELU_KERNEL]: 'relu', [DENSE_LINEAR_KERNEL]: 'linear' };

function registeredFor(kernelName: string, backendName: string): boolean {
  if (tf.getKernel(kernelName, backendName) !== undefined) return true;
  const fused = tf.getKernel('_FusedMatMul', backendName) as tf.KernelConfig | undefined;
  if (fused === undefined) return false;
  const activation = ACTIVATIONS[kernelName] as 'relu' | 'linear';
  tf.registerKernel({
    kernelName,
    backendName,
    // Looked up per call, so an override installed later (backend/wasm/matmul.ts) is the one that runs.
    kernelFunc: ({ inputs, backend }) =>
      tf.getKernel('_FusedMatMul', backendName).kernelFunc({
        inputs: { a: inputs['x']!, b: inputs['kernel']!, bias: inputs['bias']! },
        backend,
        attrs: { transposeA: false, transposeB: false, activation },
      }),
  });
  return true;
}

/**
 * Whether the active backend runs the dense op of this activation as one kernel (every TF.js backend with a
 * `_FusedMatMul` does): only then is its gradient {@link denseGradients}, which the steps' own tape relies on.
 */
export function denseKernelAvailable(activation: 'relu' | 'linear'): boolean {
  return registeredFor(activation === 'relu' ? DENSE_RELU_KERNEL : DENSE_LINEAR_KERNEL, tf.getBackend());
}

export function denseRelu(x: tf.Tensor2D, kernel: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  if (!registeredFor(DENSE_RELU_KERNEL, tf.getBackend()))
    return tf.tidy(() => tf.relu(tf.add(tf.matMul(x, kernel as tf.Tensor2D), bias)) as tf.Tensor2D);
  return tf.engine().runKernel(DENSE_RELU_KERNEL, { x, kernel, bias }, {});
}

export function denseLinear(x: tf.Tensor2D, kernel: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  // Not tf.fused.matMul, which runs the `_FusedMatMul` this backend lacks; the same values (test/fused-dense.test.ts).
  if (!registeredFor(DENSE_LINEAR_KERNEL, tf.getBackend()))
    return tf.tidy(() => tf.add(tf.matMul(x, kernel as tf.Tensor2D), bias));
  return tf.engine().runKernel(DENSE_LINEAR_KERNEL, { x, kernel, bias }, {});
}
