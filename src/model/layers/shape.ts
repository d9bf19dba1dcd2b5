/**
 * Per-example shapes, without the batch axis: [width] for a flat feature vector, [height, width, channels] for an
 * image (row-major, channels last).
 */

export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A width (a flat shape) or a shape, as a shape. */
export function asShape(shape: number | readonly number[]): number[] {
  return typeof shape === 'number' ? [shape] : [...shape];
}
