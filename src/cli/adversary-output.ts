import type { EpochRecord } from '../runs/records.js';
import type { RunSummary } from '../runs/summary.js';
import { formatNumber } from './output.js';

type AdversaryRecords = NonNullable<EpochRecord['adversaries']>;

/**
 * Adversaries (issue #18) as the CLI prints them, marked as such beside the main tasks: each one's accuracy and the
 * chance rate it should fall to, e.g. `adversary sex accuracy 0.682 (chance 0.640)`. Empty without adversaries.
 */
export function adversaryText(records: AdversaryRecords | undefined, split = ''): string {
  if (!records) return '';
  return Object.entries(records)
    .map(
      ([name, r]) =>
        `adversary ${name}${split ? ` (${split})` : ''} accuracy ${formatNumber(r.accuracy)} ` +
        `(chance ${formatNumber(r.chance)})`,
    )
    .join('  ');
}

/** The summary's adversary and target-domain lines (stderr), after the main tasks' test metrics. */
export function adversarySummaryLines(summary: Pick<RunSummary, 'adversaries' | 'targetDomain'>): string[] {
  const lines: string[] = [];
  const test = adversaryText(summary.adversaries?.test, 'test');
  if (test) lines.push(test);
  const domain = summary.targetDomain;
  if (domain) {
    const keys = Object.keys(domain.test).filter((k) => !k.endsWith('/loss'));
    const metrics = keys.map((k) => `test ${k}=${formatNumber(domain.test[k])}`).join('  ');
    lines.push(`target domain "${domain.domain}": ${metrics}`);
  }
  return lines;
}

/**
 * `mtl eval`'s table rows for adversaries, after the main tasks' metrics: `<name>/accuracy (adversary)`, its value,
 * and in the "better" column the chance rate it should fall to (lower is not better for the model, nor higher).
 */
export function adversaryRows(records: AdversaryRecords | undefined): string[][] {
  return Object.entries(records ?? {}).flatMap(([name, r]) => [
    [`${name}/loss (adversary)`, formatNumber(r.loss), '-'],
    [`${name}/accuracy (adversary)`, formatNumber(r.accuracy), `chance ${formatNumber(r.chance)}`],
  ]);
}
