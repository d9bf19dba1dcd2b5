/**
 * TensorFlow.js, loaded with `require`. An ESM `import` of the package made Node scan its CommonJS bundles (and the
 * bundles they re-export: core, Layers, the converter, tf.data, the backends) for export names first, which took
 * ~0.2 s of every `mtl` start. Every module of mtl reaches TensorFlow.js through this one.
 */
import tf = require('@tensorflow/tfjs');

export { tf };
