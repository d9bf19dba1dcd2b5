import { UsageError } from '../../errors.js';
import { layerDefinition } from './registry.js';
import { formatShape } from './shape.js';
import type { LayerConfigBase, LayerDefinition, ShapeKind } from './types.js';

/**
 * The shape rules of a layer list, from each type's definition: its input rank (`input`), its output rank (`output`)
 * and its output-shape rule (`outputShape`). The model input is flat and a list must end flat.
 */

/** A problem with the shapes of a layer list, at `index` in it. */
export interface LayerProblem {
  index: number;
  message: string;
}

export interface LayerStackOptions {
  /** Where the layers come from in the config, for error messages (default `model.trunk`). */
  label?: string;
  /** Index of the first layer in that list (a stack built from a part of it); also used in variable names. */
  firstIndex?: number;
  /** What the stack's input is, for error messages (default `the model input`). */
  input?: string;
}

function rankProblem(type: string, needs: ShapeKind): string {
  return needs === 'flat'
    ? `a ${type} layer needs a flat input but gets an image; put { type: flatten } before it`
    : `a ${type} layer needs an image input but gets a flat vector; put { type: reshape, shape: [height, width, ` +
        `channels] } before it (the model input is a flat feature vector)`;
}

/**
 * The rank rules, which do not depend on the input width: each layer gets the rank its definition takes (`flat`,
 * `image` or `any`), and the list ends flat. After a layer whose input does not fit, the check goes on as if it had
 * fitted, so one misplaced layer is one problem. Used at config validation (with file positions) and again when a
 * stack is built.
 */
export function layerShapeProblems(configs: readonly LayerConfigBase[]): LayerProblem[] {
  const problems: LayerProblem[] = [];
  let kind: ShapeKind = 'flat';
  for (const [index, config] of configs.entries()) {
    const definition = layerDefinition(config);
    let input: ShapeKind = kind;
    if (definition.input !== 'any' && definition.input !== kind) {
      problems.push({ index, message: rankProblem(config.type, definition.input) });
      input = definition.input;
    }
    kind = definition.output === 'input' ? input : definition.output;
  }
  if (kind === 'image') {
    problems.push({
      index: configs.length - 1,
      message:
        'the layers end with an image; add { type: flatten } at the end (heads, gates and losses read flat vectors)',
    });
  }
  return problems;
}

/** Whether a layer list works on images anywhere (has a layer that makes or takes an image). */
export function hasImageLayers(configs: readonly LayerConfigBase[]): boolean {
  return configs.some((config) => {
    const definition = layerDefinition(config);
    return definition.input === 'image' || definition.output === 'image';
  });
}

/** Whether a layer turns an image into a flat vector (`flatten`). */
function flattensImages(definition: LayerDefinition): boolean {
  return definition.input !== 'flat' && definition.output === 'flat';
}

/**
 * The flat tail of a layer list: the layers after its last `flatten` (the last layer that turns an image into a flat
 * vector) when it works on images, else all of it (what can run on a flat vector of any width, e.g. the output of an
 * earlier PLE level). `start` is its first index.
 */
export function flatTail<C extends LayerConfigBase>(configs: readonly C[]): { start: number; layers: C[] } {
  if (!hasImageLayers(configs)) return { start: 0, layers: [...configs] };
  let last = -1;
  configs.forEach((config, index) => {
    if (flattensImages(layerDefinition(config))) last = index;
  });
  return { start: last + 1, layers: configs.slice(last + 1) };
}

/**
 * The per-example output shape of each layer of a list applied to a flat input of `inputSize` values, or a
 * `UsageError` naming the first layer that does not fit (`model.trunk[2] (conv2d): …`): the rules of
 * {@link layerShapeProblems}, then each definition's `outputShape` (a reshape whose size is not its input's, a `valid`
 * window larger than its input). Pure: a stack checks its whole plan before it creates any variable.
 */
export function planShapes(
  inputSize: number,
  configs: readonly LayerConfigBase[],
  options: LayerStackOptions = {},
): number[][] {
  const label = options.label ?? 'model.trunk';
  const first = options.firstIndex ?? 0;
  const where = (index: number): string => `${label}[${first + index}] (${configs[index]!.type})`;
  const problems = layerShapeProblems(configs);
  if (problems.length === 1) throw new UsageError(`${where(problems[0]!.index)}: ${problems[0]!.message}`);
  if (problems.length > 1)
    throw new UsageError(
      `${label} has ${problems.length} shape problems:`,
      problems.map((p) => `${where(p.index)}: ${p.message}`),
    );
  const shapes: number[][] = [];
  let shape: number[] = [inputSize];
  configs.forEach((config, index) => {
    const definition = layerDefinition(config);
    const inputName =
      index === 0 ? (options.input ?? 'the model input') : `the output of ${label}[${first + index - 1}]`;
    const outcome = definition.outputShape(config, shape, { inputName });
    if ('problem' in outcome) throw new UsageError(`${where(index)}: ${outcome.problem}`);
    const expectedRank = definition.output === 'input' ? shape.length : definition.output === 'flat' ? 1 : 3;
    if (outcome.shape.length !== expectedRank) {
      throw new Error(
        `layer type "${config.type}": outputShape gave ${formatShape(outcome.shape)}, but its definition declares ` +
          `output: ${definition.output}`,
      );
    }
    shape = outcome.shape;
    shapes.push(shape);
  });
  return shapes;
}
