import { Registry } from '../../util/registry.js';
import { batchNormLayer } from './batch-norm.js';
import { conv2dLayer } from './conv2d.js';
import { denseLayer } from './dense.js';
import { dropoutLayer } from './dropout.js';
import { flattenLayer } from './flatten.js';
import { layerNormLayer } from './layer-norm.js';
import { avgPoolLayer, maxPoolLayer } from './pool.js';
import { reshapeLayer } from './reshape.js';
import type { LayerConfigBase, LayerDefinition } from './types.js';

/**
 * The built-in layer types, in the order the schema lists them. Adding one = one file in this folder exporting a
 * `LayerDefinition` + one entry here (its config type joins `LayerConfig` from this list); then `npm run schema`.
 */
const builtinLayers = [
  denseLayer,
  dropoutLayer,
  batchNormLayer,
  layerNormLayer,
  reshapeLayer,
  conv2dLayer,
  maxPoolLayer,
  avgPoolLayer,
  flattenLayer,
] as const;

type ConfigOf<D> = D extends LayerDefinition<infer C> ? C : never;

/**
 * One layer of a trunk or head, of a built-in type. Layers carry shapes: the model input is a flat feature vector;
 * `reshape` turns it into an image [height, width, channels] (row-major, channels last), which `conv2d`, `max-pool`
 * and `avg-pool` need, and `flatten` makes flat again, which `dense` needs. A stack must end flat. `dropout`,
 * `batch-norm` and `layer-norm` take either. (A layer type registered by code outside the package has its own config
 * type; the functions on layer lists take any `LayerConfigBase`.)
 */
export type LayerConfig = ConfigOf<(typeof builtinLayers)[number]>;

/** Every layer type a config can name. */
export const layerRegistry = new Registry<LayerDefinition>('layer type', builtinLayers);

/** Makes a layer type known to configs, the schema, validation and the stack builder. */
export function registerLayer<C extends LayerConfigBase>(definition: LayerDefinition<C>): LayerDefinition<C> {
  layerRegistry.register(definition);
  return definition;
}

/** The definition of a layer config's type (a UsageError naming the known types for an unknown one). */
export function layerDefinition(config: LayerConfigBase): LayerDefinition {
  return layerRegistry.lookup(config.type);
}
