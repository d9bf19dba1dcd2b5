import type { LabelCounts } from '../data/labels.js';
import type { ColumnReport, DataReport } from '../data/report.js';

/** At most this many column names per line; the rest are counted. */
const NAMES_PER_LINE = 8;

/**
 * The data report as lines of text: the source and split sizes, then the columns grouped by use, each with how it
 * was read (numbers or text). Shown by `mtl train` on stderr before the first epoch and by `mtl validate`.
 */
export function dataReportLines(report: DataReport): string[] {
  const { train, val, test } = report.splits;
  const dropped = report.rows - report.usable;
  const lines = [
    `data ${report.source}: ${report.rows} rows${dropped > 0 ? `, ${report.usable} usable` : ''}; ` +
      `train ${train} · val ${val} · test ${test}; model input width ${report.inputSize}`,
  ];
  const groups: [string, ColumnReport['use'], (c: ColumnReport) => string][] = [
    ['numeric features', 'numeric feature', (c) => (c.type === 'text' ? `${c.name} (text)` : c.name)],
    ['categorical features', 'categorical feature', describeCategorical],
    ['targets', 'target', (c) => `${c.name} (${c.type}, task ${c.task})`],
    ['split column', 'split', (c) => c.name],
    ['unused', 'unused', (c) => `${c.name} (${c.type}${c.source ? `, in ${c.source}` : ''})`],
  ];
  if (report.labels) lines.push(`  ${labelCountsLine(report.labels)}`);
  for (const [label, use, describe] of groups) {
    const columns = report.columns.filter((c) => c.use === use);
    if (columns.length === 0) continue;
    const sources = [...new Set(columns.map((c) => c.source))];
    // Several sources (tasks with their own data): each source's columns after its name, not one source's alone.
    const listed =
      use === 'unused' && sources.length > 1
        ? sources
            .map((source) => {
              const own = columns.filter((c) => c.source === source);
              return `${source ?? '?'}: ${namesList(own, (c) => `${c.name} (${c.type})`)}`;
            })
            .join('; ')
        : namesList(columns, describe);
    lines.push(`  ${label} (${columns.length}): ${listed}`);
  }
  return lines;
}

/** The first {@link NAMES_PER_LINE} columns described, the rest counted. */
function namesList(columns: readonly ColumnReport[], describe: (c: ColumnReport) => string): string {
  const names = columns.slice(0, NAMES_PER_LINE).map(describe);
  const more = columns.length > NAMES_PER_LINE ? `, … (${columns.length} in all)` : '';
  return `${names.join(', ')}${more}`;
}

function describeCategorical(column: ColumnReport): string {
  const read = column.declared ? 'numbers, listed in data.categorical' : column.type;
  return `${column.name} (${read}, ${column.categories} ${column.categories === 1 ? 'category' : 'categories'})`;
}

/** `labels (train · val · test): y1 120·30·30, y2 40·30·30`: the rows with each task's label per split. */
export function labelCountsLine(counts: LabelCounts): string {
  const tasks = Object.entries(counts).map(([task, c]) => `${task} ${c.train}·${c.val}·${c.test}`);
  return `labels (train · val · test): ${tasks.join(', ')}`;
}
