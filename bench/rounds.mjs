/**
 * `node bench/run.mjs --rounds N`: W1–W3 measured N times, round after round, and reduced to one row each; then the
 * scaling tables (TASKS, WIDTH, BATCH, CONV, PATHS) N times, reduced to one cell each (issue #20: on a shared VM a slow
 * minute would otherwise land in one row or cell and flip a ratio target or bend a fitted line).
 */

import { pairedRatio } from './paired.mjs';

/**
 * One row per (workload, backend, variant) from rows measured in several rounds: the round with the median ms/step
 * (the lower middle one for an even count), carrying every round's ms/step in `rounds_ms`, in the place of the
 * group's first row. Rows of other workloads, rows without a round and failed rows pass through.
 * @param {Array<Record<string, any>>} rows
 * @param {readonly string[]} stepWorkloads
 */
export function medianOfRounds(rows, stepWorkloads) {
  /** @type {Map<string, Array<Record<string, any>>>} */
  const groups = new Map();
  /** @type {Array<Record<string, any> | string>} */
  const out = [];
  for (const r of rows) {
    if (r.round === undefined || r.error || !stepWorkloads.includes(r.workload)) {
      out.push(r);
      continue;
    }
    const key = `${r.workload}/${r.backend?.name ?? 'torch'}/${r.variant ?? ''}`;
    if (!groups.has(key)) {
      groups.set(key, []);
      out.push(key);
    }
    groups.get(key)?.push(r);
  }
  return out.map((entry) => {
    if (typeof entry !== 'string') return entry;
    const group = groups.get(entry) ?? [];
    const sorted = [...group].sort((a, b) => a.ms_per_step_median - b.ms_per_step_median);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    return { ...median, rounds_ms: group.map((r) => r.ms_per_step_median) };
  });
}

/** @typedef {Record<string, any>} Result */
/** @typedef {{ ratio: number, quartiles: [number, number] | null, cycles: number }} PairedSummary */
/** @typedef {Result | null | undefined} MaybeResult */

/**
 * A result that measured (not failed, not skipped).
 * @param {MaybeResult} r
 * @returns {r is Result}
 */
const measured = (r) => Boolean(r && !r.error && !r.skipped);

/**
 * One cell's result from its rounds (ours or PyTorch's; null where that side did not run): the round with the median
 * `ms_per_step_median` among those that measured (the lower middle one for an even count), with every round's value
 * in `rounds_ms` (null for a round that failed). A single round is returned as it is; a cell no round measured gives
 * its first result (the failure or skip, to print) or null.
 * @param {Array<Record<string, any> | null | undefined>} results
 */
export function medianResult(results) {
  if (results.length === 1) return results[0] ?? null;
  const good = results.filter(measured);
  if (good.length === 0) return results.find((r) => r) ?? null;
  const sorted = [...good].sort((a, b) => a.ms_per_step_median - b.ms_per_step_median);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  return { ...median, rounds_ms: results.map((r) => (measured(r) ? r.ms_per_step_median : null)) };
}

/**
 * A GEMM peak from its rounds: the fastest (a peak is what the kernel can reach), with every round's GFLOP/s in
 * `rounds_gflops`.
 * @param {Array<Record<string, any> | null | undefined>} results
 */
export function bestResult(results) {
  if (results.length === 1) return results[0] ?? null;
  const good = results.filter(measured);
  if (good.length === 0) return results.find((r) => r) ?? null;
  const best = good.reduce((a, b) => (b.gflops > a.gflops ? b : a));
  return { ...best, rounds_gflops: results.map((r) => (measured(r) ? r.gflops : null)) };
}

/**
 * A result's window ms/step in the order they were timed (ours keep them in `window_ms_per_step`, PyTorch's in
 * `windows`); none for a result that did not measure.
 * @param {MaybeResult} result
 * @returns {Array<number | null>}
 */
export function windowsOf(result) {
  if (!measured(result)) return [];
  return Array.isArray(result?.windows) ? result.windows : (result?.window_ms_per_step ?? []);
}

/**
 * The paired ratio numerator / denominator over rounds (bench/paired.mjs), each round's windows matched by cycle; null
 * where no round timed both sides as gated children (taking turns), since windows timed one child after the other
 * pair nothing.
 * @param {Array<[MaybeResult, MaybeResult]>} rounds
 * @returns {PairedSummary | null}
 */
export function pairedOverRounds(rounds) {
  /** @type {Array<number | null>} */
  const top = [];
  /** @type {Array<number | null>} */
  const bottom = [];
  for (const [a, b] of rounds) {
    if (!a?.gated || !b?.gated) continue;
    const x = windowsOf(a);
    const y = windowsOf(b);
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      top.push(x[i] ?? null);
      bottom.push(y[i] ?? null);
    }
  }
  const p = pairedRatio(top, bottom);
  return p.ratio === null ? null : { ratio: p.ratio, quartiles: p.quartiles, cycles: p.cycles };
}

/** The scaling tables whose rows are measured cells, each with `ours` and (but for PATHS) `torch`. */
const SCALING_TABLES = ['tasks', 'widths', 'batches', 'paths'];

/**
 * The scaling figures of several rounds (each as `runScaling` measures one: the same tables, rows in the same order)
 * merged into one: every cell, ours and PyTorch's apart, is its median round ({@link medianResult}), the GEMM peaks
 * their best. Fits and rates are the caller's to compute from the merged cells.
 * @param {Array<Record<string, any>>} rounds
 */
export function mergeScalingRounds(rounds) {
  const [first] = rounds;
  if (!first) throw new Error('mergeScalingRounds: no rounds');
  /** @type {Record<string, any>} */
  const merged = { ...first };
  /** @param {Result[]} cells */
  const sides = (cells) => {
    /** @type {Result} */
    const out = { ...cells[0], ours: medianResult(cells.map((c) => c.ours)) };
    if ('torch' in (cells[0] ?? {})) {
      out.torch = medianResult(cells.map((c) => c.torch));
      out.paired = pairedOverRounds(cells.map((c) => [c.ours, c.torch]));
    }
    return out;
  };
  for (const table of SCALING_TABLES) {
    /** @type {Result[] | undefined} */
    const rows = first[table];
    if (!rows) continue;
    merged[table] = rows.map((_, i) => sides(rounds.map((r) => r[table][i])));
  }
  if (first.conv) merged.conv = sides(rounds.map((r) => r.conv));
  if (first.paths) {
    // PATHS pairs its own rows: one forward against T forwards of the same workload.
    /** @type {Record<string, PairedSummary | null>} */
    const pathsPaired = {};
    /** @param {Result} round @param {string} workload @param {string} retained */
    const path = (round, workload, retained) =>
      round.paths.find((/** @type {Result} */ r) => r.workload === workload && r.retained === retained)?.ours;
    for (const workload of new Set(first.paths.map((/** @type {Result} */ r) => r.workload)))
      pathsPaired[workload] = pairedOverRounds(rounds.map((r) => [path(r, workload, 'on'), path(r, workload, 'off')]));
    merged.paths_paired = pathsPaired;
  }
  if (first.gemm_peak) {
    const peaks = rounds.map((r) => r.gemm_peak);
    merged.gemm_peak = {
      ...first.gemm_peak,
      ours: bestResult(peaks.map((p) => p.ours)),
      torch: bestResult(peaks.map((p) => p.torch)),
    };
  }
  return merged;
}

/**
 * The widest spread of a merged cell's rounds, slowest over fastest, and where (for the line under the tables), or
 * undefined with no cell measured more than once.
 * @param {Record<string, any>} scaling
 */
export function widestSpread(scaling) {
  /** @type {{ spread: number, label: string, rounds_ms: Array<number | null> } | undefined} */
  let widest;
  /**
   * @param {string} label
   * @param {MaybeResult} result
   */
  const consider = (label, result) => {
    /** @type {number[]} */
    const values = (result?.rounds_ms ?? []).filter((/** @type {unknown} */ v) => typeof v === 'number' && v > 0);
    if (values.length < 2) return;
    const spread = Math.max(...values) / Math.min(...values);
    if (!widest || spread > widest.spread) widest = { spread, label, rounds_ms: result?.rounds_ms };
  };
  /**
   * @param {string} table
   * @param {Result} row
   */
  const label = (table, row) =>
    /** @type {Record<string, string>} */ ({
      tasks: `TASKS ${row.strategy} T=${row.tasks}`,
      widths: `WIDTH ${row.width}`,
      batches: `BATCH ${row.batch}`,
      paths: `PATHS ${row.workload} retained ${row.retained}`,
    })[table];
  for (const table of SCALING_TABLES)
    for (const row of scaling[table] ?? []) {
      consider(`${label(table, row)} (ours)`, row.ours);
      consider(`${label(table, row)} (PyTorch)`, row.torch);
    }
  if (scaling.conv) {
    consider('CONV (ours)', scaling.conv.ours);
    consider('CONV (PyTorch)', scaling.conv.torch);
  }
  return widest;
}
