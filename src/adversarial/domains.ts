/**
 * Domain-adversarial transfer: DANN (Ganin, Ustinova, Ajakan, Germain, Larochelle, Laviolette, Marchand & Lempitsky,
 * "Domain-Adversarial Training of Neural Networks", JMLR 17, 2016; seed 004 §9.2 as a remedy for negative
 * transfer). Rows carry a domain (`data.domains.column`); the source domain(s) are labelled, the target domain is
 * not (`target_labels: none`: its training rows lose the main tasks' labels through the missing-labels machinery,
 * data/labels.ts) or sparsely (`keep`: it keeps the labels it has). A domain discriminator — the adversarial task
 * `domain`, a multiclass head on the domain column behind the reversal layer (adversary-heads.ts) — learns every
 * row's domain; the trunk receives −λ_p × its gradient, λ_p on the DANN schedule by default:
 *
 *   min_{θ_f, θ_y} max_{θ_d}  Σ_source L_y(θ_f, θ_y) − λ_p Σ_all L_d(θ_f, θ_d)     (eq. 9–10 of the paper)
 *
 * Validation and test rows of the target domain keep their labels: the main tasks' metrics are reported on them
 * (the summary's `targetDomain`), besides the metrics over all rows.
 */
import { UsageError } from '../errors.js';
import type { ConfigProblem } from '../config/errors.js';
import type { DomainsConfig, ResolvedConfig, TaskConfig } from '../config/types.js';
import { cellText, columnOf, DataFieldError, isMissing, sortLabels } from '../data/columns.js';
import type { LabelMask } from '../data/labels.js';
import type { EncodedRows, Preprocessing } from '../data/preprocess.js';
import type { DataTable } from '../data/types.js';
import { mainTasks } from './adversarial-tasks.js';

/** The domain discriminator's name: its task, its head and its entry in `adversaries`. */
export const DOMAIN_TASK = 'domain';

export function sourceDomains(domains: DomainsConfig): string[] {
  return typeof domains.source === 'string' ? [domains.source] : domains.source;
}

/**
 * Adds the domain discriminator to the config's tasks (last, so the written tasks keep their indices) and returns
 * what is wrong with `data.domains`. Runs once, on the config as loaded (the stored resolved config has it).
 */
export function addDomainDiscriminator(config: ResolvedConfig): ConfigProblem[] {
  const domains = config.data.domains;
  const problems: ConfigProblem[] = [];
  config.tasks.forEach((task, index) => {
    if (task.data?.domains) {
      problems.push({
        path: ['tasks', index, 'data', 'domains'],
        message: 'domains are marked in the top-level data only (the domain discriminator sees every row); move it',
      });
    }
  });
  if (!domains) return problems;
  const clash = config.tasks.findIndex((task) => task.name === DOMAIN_TASK);
  if (clash >= 0) {
    problems.push({
      path: ['tasks', clash, 'name'],
      message: `"${DOMAIN_TASK}" is the name of the domain discriminator that data.domains adds; rename this task`,
    });
  }
  if (config.tasks.some((task) => task.data !== undefined)) {
    problems.push({
      path: ['data', 'domains'],
      message:
        'domains mark the rows of one data set; tasks with their own data (multi-input) are not supported with ' +
        'data.domains: remove tasks[].data, or data.domains',
    });
  }
  if (sourceDomains(domains).includes(domains.target)) {
    problems.push({
      path: ['data', 'domains', 'target'],
      message: `"${domains.target}" is also a source domain; the target must be a domain of its own`,
    });
  }
  if (domains.target_labels === 'none' && config.data.missing_targets === 'drop') {
    problems.push({
      path: ['data', 'domains', 'target_labels'],
      message:
        'none masks the target domain\'s labels, and data.missing_targets is "drop" (the target rows would be ' +
        'dropped); set data.missing_targets: mask',
    });
  }
  if (config.tasks.some((task) => targetColumnsAsWritten(task).includes(domains.column))) {
    problems.push({
      path: ['data', 'domains', 'column'],
      message: `column "${domains.column}" is a task's target; the domain column must be a column of its own`,
    });
  }
  if (clash < 0) config.tasks.push(domainTask(domains));
  return problems;
}

/** A task's target columns before semantics fills them in (`target`, `targets`, or the task's name). */
function targetColumnsAsWritten(task: TaskConfig): string[] {
  const written = task as { target?: string; targets?: string[]; name: string };
  return written.targets ?? [written.target ?? written.name];
}

function domainTask(domains: DomainsConfig): TaskConfig {
  return {
    name: DOMAIN_TASK,
    type: 'multiclass',
    targets: [domains.column],
    loss: 'cross-entropy',
    metrics: ['accuracy'],
    weight: 1,
    adversarial: { lambda: domains.lambda },
  };
}

/**
 * The domain column's values must be the source and target domains: an unknown source or target (a typo) or a row
 * of another domain is an error that lists the values seen.
 */
export function checkDomainValues(table: DataTable, domains: DomainsConfig): void {
  const column = columnOf(table, domains.column, { data: ['domains', 'column'] });
  const seen = new Set<string>();
  for (let row = 0; row < table.rowCount; row++) if (!isMissing(column, row)) seen.add(cellText(column, row));
  const values = sortLabels(seen).map((v) => `"${v}"`);
  const where = `${table.source}: data.domains`;
  // Each value at its field as the config writes it (a source of a list by its index), to be located there.
  const sources: { path: (string | number)[]; value: string }[] =
    typeof domains.source === 'string'
      ? [{ path: ['source'], value: domains.source }]
      : domains.source.map((value, i) => ({ path: ['source', i], value }));
  for (const { path, value } of [...sources, { path: ['target'], value: domains.target }]) {
    if (seen.has(value)) continue;
    throw new DataFieldError(
      { data: ['domains', ...path] },
      `"${value}" is not a value of column "${domains.column}" in ${table.source}`,
      [`values seen: ${values.join(', ')}`],
      `${where}.${path[0]}: "${value}" is not a value of column "${domains.column}"`,
    );
  }
  const named = new Set([...sourceDomains(domains), domains.target]);
  const other = [...seen].filter((value) => !named.has(value));
  if (other.length > 0) {
    throw new UsageError(
      `${where}: column "${domains.column}" has rows of domain${other.length > 1 ? 's' : ''} ` +
        `${other.map((v) => `"${v}"`).join(', ')}, neither source nor target`,
      [`values seen: ${values.join(', ')}; list them in data.domains.source, or leave those rows out of the data`],
    );
  }
}

/**
 * `target_labels: none`: the target domain's training rows lose every main task's label (the domain
 * discriminator keeps them all). Validation and test rows keep theirs, for the target-domain metrics.
 */
export function maskTargetDomain(
  table: DataTable,
  config: ResolvedConfig,
  mask: LabelMask,
  trainRows: Int32Array,
): LabelMask {
  const domains = config.data.domains;
  if (domains?.target_labels !== 'none') return mask;
  const column = columnOf(table, domains.column, { data: ['domains', 'column'] });
  const out: LabelMask = { ...mask };
  for (const task of mainTasks(config.tasks)) {
    const labelled = mask[task.name];
    if (!labelled) continue;
    const kept = new Uint8Array(labelled);
    for (const row of trainRows) if (cellText(column, row) === domains.target) kept[row] = 0;
    out[task.name] = kept;
  }
  return out;
}

/** The rows of `encoded` in the target domain (by the domain discriminator's encoded class), or undefined. */
export function targetDomainRows(
  encoded: EncodedRows,
  preprocessing: Preprocessing,
  domains: DomainsConfig,
): EncodedRows | undefined {
  const encoding = preprocessing.tasks.find((e) => e.name === DOMAIN_TASK);
  const classes = encoding && 'classes' in encoding && Array.isArray(encoding.classes) ? encoding.classes : [];
  const target = classes.indexOf(domains.target);
  const domainOf = encoded.targets[DOMAIN_TASK];
  if (target < 0 || !domainOf) return undefined;
  const rows = Array.from(domainOf).flatMap((value, row) => (value === target ? [row] : []));
  return pickRows(encoded, rows);
}

function pickRows(encoded: EncodedRows, rows: readonly number[]): EncodedRows {
  const width = encoded.rows === 0 ? 0 : encoded.x.length / encoded.rows;
  const pick = <A extends Float32Array | Uint8Array>(values: A, make: (n: number) => A): A => {
    const per = values.length / Math.max(1, encoded.rows);
    const out = make(rows.length * per);
    rows.forEach((row, k) => out.set(values.subarray(row * per, (row + 1) * per), k * per));
    return out;
  };
  const floats = (n: number): Float32Array => new Float32Array(n);
  const x = new Float32Array(rows.length * width);
  rows.forEach((row, k) => x.set(encoded.x.subarray(row * width, (row + 1) * width), k * width));
  const targets = Object.fromEntries(Object.entries(encoded.targets).map(([name, v]) => [name, pick(v, floats)]));
  const labelled = encoded.labelled
    ? Object.fromEntries(Object.entries(encoded.labelled).map(([name, v]) => [name, pick(v, (n) => new Uint8Array(n))]))
    : undefined;
  return { rows: rows.length, x, targets, ...(labelled ? { labelled } : {}) };
}
