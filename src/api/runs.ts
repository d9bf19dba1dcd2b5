import path from 'node:path';
import { crashReason, type ShownStatus } from '../runs/liveness.js';
import { readMeta } from '../runs/meta.js';
import { listRunIds, resolveRunsDir, subRunsOf } from '../runs/store.js';
import { readSummaryIfAny } from '../runs/summary.js';
import { describeRun, type RunDescription } from './run-description.js';

/** A run as `mtl runs` lists it: identity, status, and what tells it apart (architecture, strategy, data, seed). */
export interface RunListing extends RunDescription {
  id: string;
  name: string;
  /** The stored status, or `crashed` for a run that says `running` but whose process is gone (runs/liveness.ts). */
  status: ShownStatus;
  /** Why a run shows as `crashed`. */
  statusReason?: string;
  startedAt: string;
  backend: string;
  epochs: number;
  /**
   * The runs trained inside this one (`baselines/a`, `baselines/towers`, `pairs/a+b`); `mtl runs` lists them under
   * their run, not as runs of their own. Empty for a run trained without baselines.
   */
  subRuns: string[];
  /** A few headline test metrics (`mean/*`) when the run finished. */
  metrics: Record<string, number>;
  dir: string;
}

/** Every run in the store, oldest first, with its status and headline metrics. */
export function listRuns(runsDir?: string): RunListing[] {
  const store = resolveRunsDir(runsDir);
  return listRunIds(store).map((id) => {
    const dir = path.join(store, id);
    const meta = readMeta(dir);
    const summary = readSummaryIfAny(dir);
    const metrics = Object.fromEntries(Object.entries(summary?.test ?? {}).filter(([k]) => k.startsWith('mean/')));
    const crashed = crashReason(meta);
    return {
      ...describeRun(dir, meta),
      id,
      name: meta.name,
      status: crashed === undefined ? meta.status : 'crashed',
      ...(crashed === undefined ? {} : { statusReason: `${crashed}; resume it with: mtl train --resume ${id}` }),
      startedAt: meta.startedAt,
      backend: meta.backend?.name ?? '?',
      epochs: meta.epochsCompleted,
      subRuns: subRunsOf(dir),
      metrics,
      dir,
    };
  });
}
