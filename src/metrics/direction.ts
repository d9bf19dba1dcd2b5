import { getMetric } from './registry.js';

/**
 * Whether higher is better for a metric key `<task>/<metric>` or `mean/<metric>` (`left/accuracy` → true,
 * `mean/loss` → false). Losses are always lower-is-better; other names come from the metric registry.
 */
export function higherIsBetter(key: string): boolean {
  const metric = metricName(key);
  if (metric === 'loss') return false;
  return getMetric(metric).higherIsBetter;
}

/** The metric part of a key: `left/accuracy` → `accuracy`. */
export function metricName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** The task part of a key: `left/accuracy` → `left`, `mean/loss` → `mean`. */
export function taskName(key: string): string {
  return key.slice(0, key.lastIndexOf('/'));
}
