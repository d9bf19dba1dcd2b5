import type { tf } from '../../tf.js';
import type { Rng } from '../../util/rng.js';
import type { StepClock } from '../step-clock.js';
import { planShapes, type LayerStackOptions } from './plan.js';
import { layerDefinition } from './registry.js';
import { formatShape, shapeSize } from './shape.js';
import type { Layer, LayerConfigBase } from './types.js';

/**
 * A sequence of layers built from config, e.g. a shared trunk or one task's head. Its input is flat
 * ([batch, inputSize]) and so is its output ([batch, outputSize]); inside, layers may pass images. Shape errors are
 * `UsageError`s naming the layer (`model.trunk[2] (conv2d): …`), raised before any variable exists. Each layer is
 * built by its type's definition, in order (layers draw their initial weights from `rng` in that order).
 */
export class LayerStack {
  readonly layers: Layer[] = [];
  readonly outputSize: number;
  readonly outputShape: number[];
  constructor(
    name: string,
    readonly inputSize: number,
    configs: readonly LayerConfigBase[],
    rng: Rng,
    clock: StepClock,
    options: LayerStackOptions = {},
  ) {
    const first = options.firstIndex ?? 0;
    const planned = planShapes(inputSize, configs, options);
    let shape: number[] = [inputSize];
    configs.forEach((config, index) => {
      const layer = layerDefinition(config).build(config, {
        name: `${name}/${first + index}`,
        inputShape: shape,
        rng,
        clock,
      });
      const plannedShape = planned[index]!;
      if (formatShape(layer.outputShape) !== formatShape(plannedShape)) {
        throw new Error(
          `internal: layer ${first + index} (${config.type}) built ${formatShape(layer.outputShape)}, planned ` +
            `${formatShape(plannedShape)}`,
        );
      }
      this.layers.push(layer);
      shape = layer.outputShape;
    });
    this.outputShape = shape;
    this.outputSize = shapeSize(shape);
  }
  get trainable(): tf.Variable[] {
    return this.layers.flatMap((layer) => layer.trainable);
  }
  get state(): tf.Variable[] {
    return this.layers.flatMap((layer) => layer.state);
  }
  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return this.layers.reduce<tf.Tensor>((h, layer) => layer.apply(h, training), x) as tf.Tensor2D;
  }
  dispose(): void {
    for (const v of [...this.trainable, ...this.state]) v.dispose();
  }
}
