import { resolveRunsDir } from '../runs/store.js';
import { listSweepIds, type TrialStatus } from '../runs/sweeps.js';
import type { DamagedRunListing } from './runs.js';
import { sweepStatus } from './sweep-status.js';

/** A sweep as `mtl runs` lists it: its counts and best trial, as `mtl sweep status` reads them. */
export interface SweepListing {
  kind: 'sweep';
  id: string;
  name: string;
  sweepFile: string;
  total: number;
  counts: Record<TrialStatus, number>;
  monitor: { metric: string; higherIsBetter: boolean };
  best?: { id: string; value: number };
  /** The trials whose meta.json cannot be read (counted as `damaged`), as `mtl runs` lists a damaged run; or absent. */
  damagedTrials?: DamagedRunListing[];
}

/** Every sweep in the store, sorted by id. */
export function listSweeps(runsDir?: string): SweepListing[] {
  const dir = resolveRunsDir(runsDir);
  return listSweepIds(dir).map((id) => {
    const status = sweepStatus(id, dir);
    const { best } = status;
    const damagedTrials = damagedTrialsOf(status.trials);
    return {
      kind: 'sweep',
      id: status.id,
      name: status.name,
      sweepFile: status.sweepFile,
      total: status.total,
      counts: status.counts,
      monitor: status.monitor,
      ...(best?.value === undefined ? {} : { best: { id: best.id, value: best.value } }),
      ...(damagedTrials.length > 0 ? { damagedTrials } : {}),
    };
  });
}

/** The damaged trials of `mtl sweep status`'s view, as damaged runs (for the notes `mtl runs` writes of them). */
export function damagedTrialsOf(
  trials: readonly { id: string; status: TrialStatus; dir: string; statusReason?: string; hint?: string }[],
): DamagedRunListing[] {
  return trials.flatMap(({ id, status, dir, statusReason, hint }) =>
    status === 'damaged' ? [{ id, status, statusReason: statusReason ?? '', hint: hint ?? '', dir }] : [],
  );
}
