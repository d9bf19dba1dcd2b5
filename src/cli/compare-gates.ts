/**
 * The gate flags of `mtl compare` (--fail-on-regression, --tolerance, --confidence, --fail-if): parsed before any
 * run is read, so a malformed flag is exit 2 at once; the gate section printed after the comparison; exit 3 when a
 * check failed.
 */
import { parseConfidence, parseThreshold, parseTolerance, type GateCheck } from '../analysis/gate.js';
import type { GateOptions, GateReport } from '../api/compare-gate.js';
import { ExitCode, UsageError } from '../errors.js';
import { formatNumber, log, out } from './output.js';

export interface GateFlags {
  failOnRegression?: boolean;
  tolerance?: string[];
  /** Every --confidence given (repeatable in the parser so that a second one is refused, not silently kept). */
  confidence?: string[];
  failIf?: string[];
}

/** The gate options the flags ask for; undefined when they ask for none. */
export function parseGateFlags(flags: GateFlags): GateOptions | undefined {
  const failIf = (flags.failIf ?? []).map(parseThreshold);
  const tolerances: Record<string, number> = {};
  for (const text of flags.tolerance ?? []) {
    const [key, value] = parseTolerance(text);
    if (key in tolerances) throw new UsageError(`--tolerance: ${key} is given twice.`, ['give each metric once']);
    tolerances[key] = value;
  }
  const levels = flags.confidence ?? [];
  if (levels.length > 1)
    throw new UsageError(
      `--confidence is given ${levels.length === 2 ? 'twice' : `${levels.length} times`} (${levels.join(', ')}).`,
      ['give one level, e.g. --confidence 0.95'],
    );
  const confidence = levels[0] === undefined ? 0.95 : parseConfidence(levels[0]);
  if (!flags.failOnRegression) {
    const stray = [flags.tolerance?.length ? '--tolerance' : '', levels.length > 0 ? '--confidence' : ''];
    const named = stray.filter(Boolean);
    if (named.length > 0)
      throw new UsageError(
        `${named.join(' and ')} only ${named.length === 1 ? 'applies' : 'apply'} with --fail-on-regression.`,
        ['add --fail-on-regression, or leave them out'],
      );
    if (failIf.length === 0) return undefined;
  }
  return { failOnRegression: flags.failOnRegression === true, tolerances, confidence, failIf };
}

/** Checks that gates can run on these references at all (before anything is read). */
export function checkGateReferences(references: readonly string[], options: GateOptions): void {
  if (options.failOnRegression && references.length < 2)
    throw new UsageError('--fail-on-regression needs BASE and NEW: mtl compare BASE NEW --fail-on-regression.', [
      'give the base run (or seed group) first, then the one to check',
    ]);
}

/** The gate section (stdout): each failed check, then the verdict; the exit code. */
export function printGate(report: GateReport): number {
  const failed = report.checks.filter((c) => !c.passed);
  out();
  const verdict = report.passed ? 'passed' : 'FAILED';
  out(`gate: ${verdict} (${report.checks.length - failed.length} of ${report.checks.length} checks passed)`);
  for (const check of failed) out(`  ${describeCheck(check)}`);
  if (report.method && report.checks.some((c) => c.kind === 'regression' && c.significance.tested))
    out(`  significance: ${report.method}; level ${report.confidence}`);
  const untested = new Set(
    report.checks.flatMap((c) => (c.kind === 'regression' && !c.significance.tested ? [c.significance.reason] : [])),
  );
  untested.delete('no value to compare');
  for (const reason of untested) out(`  significance not tested (${reason}): the plain difference decided`);
  return gateExitCode(report);
}

/** The exit code of a gate; a failed one also says so on stderr (with --json too: what a CI log keeps). */
export function gateExitCode(report: GateReport): number {
  if (report.passed) return ExitCode.ok;
  const failed = report.checks.filter((c) => !c.passed).length;
  log(
    `mtl: gate failed: ${failed} check${failed === 1 ? '' : 's'}${failed === 0 ? ' (nothing to check)' : ''} (exit 3)`,
  );
  return ExitCode.gateFailed;
}

function describeCheck(check: GateCheck): string {
  if (check.kind === 'threshold') return `fail-if ${check.expression}: ${check.run}: ${check.reason}`;
  const head = `regression ${check.metric} ${check.higherIsBetter ? '↑' : '↓'} in ${check.new}`;
  if (check.difference === null) return `${head}: ${check.reason}`;
  const { significance } = check;
  const ci = significance.tested
    ? `${round(significance.interval.confidence * 100)}% CI [${formatNumber(significance.interval.low)}, ` +
      `${formatNumber(significance.interval.high)}] over seeds ${significance.seeds.join(',')}`
    : 'CI not tested';
  const values = `base ${formatNumber(check.baseValue ?? undefined)}, new ${formatNumber(check.newValue ?? undefined)}`;
  const difference = `${check.difference >= 0 ? '+' : ''}${formatNumber(check.difference)}`;
  return `${head}: ${values}, difference ${difference}, ${ci}, tolerance ${check.tolerance}`;
}

function round(value: number): number {
  return Number(value.toPrecision(6));
}
