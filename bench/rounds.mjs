/**
 * `node bench/run.mjs --rounds N`: W1–W3 measured N times, round after round, and reduced to one row each (issue #20:
 * on a shared VM a slow minute would otherwise land in one row and flip a ratio target).
 */

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
