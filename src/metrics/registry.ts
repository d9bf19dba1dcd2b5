/**
 * The one place metric names are resolved, so configs, evaluation and `mtl compare` agree on what a name means.
 */
import { UsageError } from '../errors.js';
import { suggest } from '../util/suggest.js';
import { classificationMetrics } from './classification.js';
import { regressionMetrics } from './regression.js';
import type { MetricDefinition, PredictionLayout, TaskPredictions } from './types.js';

export const metricRegistry: ReadonlyMap<string, MetricDefinition> = new Map(
  [...classificationMetrics, ...regressionMetrics].map((m) => [m.name, m]),
);

export function getMetric(name: string): MetricDefinition {
  const metric = metricRegistry.get(name);
  if (metric) return metric;
  const known = [...metricRegistry.keys()];
  const guess = suggest(name, known);
  const hint = guess === undefined ? '' : ` Did you mean '${guess}'?`;
  throw new UsageError(`Unknown metric '${name}'.${hint} Known metrics: ${known.join(', ')}.`);
}

/**
 * Every metric name that can be computed on predictions of this layout, in registry order. Which of them a task
 * reports by default, and which apply to a task kind, is the kind's (tasks/registry.ts).
 */
export function metricsFor(type: PredictionLayout): string[] {
  return [...metricRegistry.values()].filter((m) => m.appliesTo.includes(type)).map((m) => m.name);
}

/**
 * A shape mismatch here means the evaluation code read the wrong tensor, not that the user erred, so it is a plain
 * Error (reported with a stack) rather than a UsageError.
 */
function checkShape(data: TaskPredictions): void {
  const { type, rows, outputSize, predictions, targets } = data;
  const targetWidth = type === 'multiclass' ? 1 : outputSize;
  if (predictions.length !== rows * outputSize || targets.length !== rows * targetWidth) {
    throw new Error(
      `${type} predictions have ${predictions.length} values and targets ${targets.length}; ` +
        `expected ${rows * outputSize} and ${rows * targetWidth} for ${rows} rows of width ${outputSize}`,
    );
  }
  if (type === 'binary' && outputSize !== 1) throw new Error(`binary predictions must have width 1, got ${outputSize}`);
  if (type === 'multiclass') {
    for (let i = 0; i < rows; i++) {
      const c = targets[i]!; // targets.length === rows, checked above
      if (!Number.isInteger(c) || c < 0 || c >= outputSize) {
        throw new Error(`multiclass target ${c} at row ${i} is not a class index in [0, ${outputSize})`);
      }
    }
  }
}

/**
 * Computes the named metrics, keyed by name. Unknown names and metrics that do not fit the task type are user
 * errors (they come from a config), reported before anything is computed.
 */
export function computeMetrics(names: string[], data: TaskPredictions): Record<string, number> {
  const metrics = names.map(getMetric);
  for (const m of metrics) {
    if (!m.appliesTo.includes(data.type)) {
      throw new UsageError(
        `Metric '${m.name}' does not apply to ${data.type} tasks. ` +
          `Metrics for ${data.type}: ${metricsFor(data.type).join(', ')}.`,
      );
    }
  }
  checkShape(data);
  const out: Record<string, number> = {};
  for (const m of metrics) out[m.name] = m.compute(data);
  return out;
}
