/**
 * The matrix-product kernels a run's numbers came from, for the commands that replay it (resume, eval, features,
 * analyze, compare's evaluation): fused multiply-add rounds each product step once instead of twice, so a run trained
 * on the FMA kernels and continued or evaluated on the plain ones (or the other way round) would silently get
 * different numbers. The run's recorded path is pinned instead; where this runtime cannot give it, initBackend
 * refuses with a usage error (exit 2) that says why and how.
 */
import type { FmaChoice } from '../config/types.js';
import type { BackendReport } from './select.js';

export interface PinnedKernels {
  fma: FmaChoice;
  /** Why `fma` is pinned, for initBackend's error when the runtime cannot give it. */
  pinnedBy: string;
}

/**
 * `on` for a run whose meta.json records the FMA path, else `off`: the plain path, the not-applicable one (the run
 * was not on wasm; an override to wasm gets the plain kernels, as before issue #20) and runs without the record.
 */
export function runKernels(runId: string, report: BackendReport | undefined): PinnedKernels {
  if (report?.fma.path === 'fma') {
    return {
      fma: 'on',
      pinnedBy: `Run ${runId} was trained on the fused multiply-add kernels (meta.json backend.fma.path "fma")`,
    };
  }
  return { fma: 'off', pinnedBy: `Run ${runId} was trained on the plain kernels` };
}
