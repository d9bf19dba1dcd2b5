/**
 * A fresh logistic probe on a frozen representation (for the adversarial tests, issue #18): how much a model's shared
 * representation still says about a binary attribute, measured apart from the adversary that was trained with it.
 * Features standardised on the training rows; full-batch gradient descent on the mean logistic loss, in float64 on
 * the host (deterministic); accuracy on held-out rows.
 */
export interface ProbeData {
  /** rows × width, row-major. */
  features: Float64Array | Float32Array;
  width: number;
  /** 0/1 per row. */
  labels: ArrayLike<number>;
}

export function logisticProbeAccuracy(train: ProbeData, test: ProbeData, steps = 400, rate = 0.5): number {
  const { width } = train;
  const rows = train.labels.length;
  const mean = new Float64Array(width);
  const scale = new Float64Array(width);
  for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) mean[j]! += train.features[r * width + j]! / rows;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < width; j++) scale[j]! += (train.features[r * width + j]! - mean[j]!) ** 2 / rows;
  }
  for (let j = 0; j < width; j++) scale[j] = Math.sqrt(scale[j]!) || 1;
  const at = (data: ProbeData, r: number, j: number): number => (data.features[r * width + j]! - mean[j]!) / scale[j]!;
  const w = new Float64Array(width);
  let b = 0;
  for (let step = 0; step < steps; step++) {
    const gw = new Float64Array(width);
    let gb = 0;
    for (let r = 0; r < rows; r++) {
      let z = b;
      for (let j = 0; j < width; j++) z += w[j]! * at(train, r, j);
      const error = 1 / (1 + Math.exp(-z)) - train.labels[r]!;
      for (let j = 0; j < width; j++) gw[j]! += (error * at(train, r, j)) / rows;
      gb += error / rows;
    }
    for (let j = 0; j < width; j++) w[j]! -= rate * gw[j]!;
    b -= rate * gb;
  }
  let correct = 0;
  const testRows = test.labels.length;
  for (let r = 0; r < testRows; r++) {
    let z = b;
    for (let j = 0; j < width; j++) z += w[j]! * at(test, r, j);
    if ((z > 0 ? 1 : 0) === test.labels[r]) correct++;
  }
  return correct / testRows;
}
