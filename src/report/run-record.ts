/** The Record section of a run's report: what ran, on what, from which weights (run-figures.ts draws the rest). */
import type { RunReportData } from './run-figures.js';
import type { ReportTable } from './types.js';

/** The run's best epoch, or undefined where no epoch was best (a run that diverged first stores -1). */
export function bestEpochOf(run: RunReportData): number | undefined {
  const best = run.summary?.bestEpoch ?? run.meta.bestEpoch;
  return best !== undefined && best > 0 ? best : undefined;
}

/** The record of the run: what ran, where its weights came from, how to run it again. */
export function recordTables(run: RunReportData): ReportTable[] {
  const meta = run.meta;
  const facts: [string, string][] = [
    ['run', run.id],
    ['status', `${run.status}${run.statusReason ? ` (${run.statusReason})` : ''}`],
    ['seed', String(meta.seed)],
    [
      'backend',
      meta.backend
        ? `${meta.backend.name} (${meta.backend.provider}${meta.backend.simdKernels ? ', SIMD kernels' : ''}` +
          `${meta.backend.fma.path === 'fma' ? ', fused multiply-add' : ''})`
        : '—',
    ],
    ['versions', `mtl ${meta.versions.mtl}, node ${meta.versions.node}, tfjs ${meta.versions.tfjs}`],
    ['command', meta.command.join(' ')],
    ['git', meta.git ? `${meta.git.commit}${meta.git.dirty ? ' (dirty)' : ''}` : '—'],
    [
      'epochs',
      `${meta.epochsCompleted}, ${bestEpochOf(run) === undefined ? 'no best epoch' : `best ${bestEpochOf(run)}`}`,
    ],
    ['started', meta.startedAt],
  ];
  if (meta.lineage)
    facts.push([
      'initial weights',
      `${meta.lineage.sourceId} (${meta.lineage.checkpoint} checkpoint, epoch ${meta.lineage.epoch}, sha256 ` +
        `${meta.lineage.weightsSha256.slice(0, 12)}…; loaded ${meta.lineage.loaded.join(', ') || '—'}, frozen ` +
        `${meta.lineage.frozen.join(', ') || '—'})`,
    ]);
  return [{ caption: 'Record', header: ['', ''], rows: facts.map(([k, v]) => [k, v]) }];
}
