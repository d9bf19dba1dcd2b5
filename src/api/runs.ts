import path from 'node:path';
import { existsSync } from 'node:fs';
import { listRunIds, readJson, resolveRunsDir, type RunStatus } from '../runs/store.js';
import type { RunMeta } from '../runs/meta.js';
import type { RunSummary } from './train.js';

export interface RunListing {
  id: string;
  name: string;
  status: RunStatus;
  startedAt: string;
  backend: string;
  epochs: number;
  /** A few headline test metrics (`mean/*`) when the run finished. */
  metrics: Record<string, number>;
  dir: string;
}

/** Every run in the store, oldest first, with its status and headline metrics. */
export function listRuns(runsDir?: string): RunListing[] {
  const store = resolveRunsDir(runsDir);
  return listRunIds(store).map((id) => {
    const dir = path.join(store, id);
    const meta = readJson<RunMeta>(path.join(dir, 'meta.json'));
    const summaryFile = path.join(dir, 'summary.json');
    const summary = existsSync(summaryFile) ? readJson<RunSummary>(summaryFile) : undefined;
    const metrics = Object.fromEntries(Object.entries(summary?.test ?? {}).filter(([k]) => k.startsWith('mean/')));
    return {
      id,
      name: meta.name,
      status: meta.status,
      startedAt: meta.startedAt,
      backend: meta.backend?.name ?? '?',
      epochs: meta.epochsCompleted,
      metrics,
      dir,
    };
  });
}
