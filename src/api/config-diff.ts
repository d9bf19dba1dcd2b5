/** One field whose value differs between two resolved configs; `undefined` where a config lacks the field. */
export interface ConfigChange {
  /** Dotted path, list entries by index: `strategy.name`, `tasks.0.weight`, `model.trunk.1.units`. */
  path: string;
  baseline?: unknown;
  value?: unknown;
}

/**
 * The leaves at which two JSON values differ, in the order of the baseline's keys (then keys only the other has).
 * Objects and lists are walked (lists by index), anything else is compared as a whole; only differences are listed.
 */
export function configDifferences(baseline: unknown, other: unknown, prefix = ''): ConfigChange[] {
  if (isRecord(baseline) && isRecord(other)) {
    const keys = [...new Set([...Object.keys(baseline), ...Object.keys(other)])];
    return keys.flatMap((key) => configDifferences(baseline[key], other[key], join(prefix, key)));
  }
  if (Array.isArray(baseline) && Array.isArray(other)) {
    const length = Math.max(baseline.length, other.length);
    return Array.from({ length }, (_, i) => configDifferences(baseline[i], other[i], join(prefix, String(i)))).flat();
  }
  if (sameValue(baseline, other)) return [];
  return [
    {
      path: prefix || '(config)',
      ...(baseline === undefined ? {} : { baseline }),
      ...(other === undefined ? {} : { value: other }),
    },
  ];
}

/** `strategy.name: equal → pcgrad`; a missing side reads `(absent)`. */
export function formatChange(change: ConfigChange): string {
  return `${change.path}: ${showValue(change.baseline)} → ${showValue(change.value)}`;
}

function showValue(value: unknown): string {
  if (value === undefined) return '(absent)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function join(prefix: string, key: string): string {
  return prefix ? `${prefix}.${key}` : key;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
