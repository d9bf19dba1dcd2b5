import { availableParallelism } from 'node:os';
import path from 'node:path';
import { planSweep } from '../api/sweep.js';
import { refuseHalvingShard } from '../api/sweep-halving.js';
import { ExitCode, UsageError } from '../errors.js';
import { emitJobs, emitShards, NPX_MTL, parseEmitForm } from '../sweep/emit.js';
import { entryPointFromHere } from '../util/paths.js';
import { log, out } from './output.js';
import type { SweepFlags } from './sweep.js';

/**
 * `mtl sweep SWEEP.yaml --emit FORM [--shards N]`: prints the job specification (sweep/emit.ts) on stdout; the plan
 * is read and checked first, so a bad sweep file fails here, not on the cluster. Nothing is trained or written.
 */
export async function emitCommand(
  file: string,
  form: string,
  flags: SweepFlags,
  /** `--jobs N`, checked: each job runs its shard with N worker processes (else the cores of its machine). */
  jobs?: number,
): Promise<number> {
  const emitForm = parseEmitForm(form);
  const clash = flags.shard !== undefined ? '--shard' : flags.dryRun ? '--dry-run' : flags.json ? '--json' : undefined;
  if (clash !== undefined) {
    throw new UsageError(`mtl sweep --emit: ${clash} does not go with --emit.`, [
      '--emit prints a job specification in which each job runs its own --shard i/n; it trains nothing',
    ]);
  }
  const plan = await planSweep(file);
  // A halving sweep's rungs need every trial of the rung in one process: one job (which uses --jobs on its machine).
  if (plan.halving && flags.shards !== undefined && flags.shards.trim() !== '1') refuseHalvingShard(plan);
  const shards = plan.halving ? 1 : emitShards(emitForm, flags.shards, plan.trials.length, availableParallelism());
  const runsDir = flags.runsDir ?? process.env['MTL_RUNS_DIR'] ?? 'runs';
  const passThrough = [
    ...(jobs === undefined ? [] : ['--jobs', String(jobs)]),
    ...(flags.backend ? ['--backend', flags.backend] : []),
    ...(flags.failFast ? ['--fail-fast'] : []),
    ...(flags.retryFailed ? ['--retry-failed'] : []),
  ];
  out(
    emitJobs({
      form: emitForm,
      sweepPath: file,
      runsDir,
      sweepId: plan.id,
      trials: plan.trials.length,
      shards,
      passThrough,
      emittedBy: ['mtl sweep', file, '--emit', emitForm, '--shards', String(shards), ...passThrough].join(' '),
      mtl: jobsCallMtl(),
    }).trimEnd(),
  );
  if (shards > plan.trials.length) {
    log(
      `note: ${shards} shards for ${plan.trials.length} trials: shards ${plan.trials.length + 1}–${shards} have none`,
    );
  }
  return ExitCode.ok;
}

/**
 * How the emitted jobs call mtl by default: node on this mtl's entry point when it lies inside this folder (the jobs
 * run in the same folder of the same checkout), so that node gets a scheduler's SIGTERM itself; else npx.
 */
function jobsCallMtl(): string {
  const entry = entryPointFromHere();
  return entry.startsWith('../') || path.isAbsolute(entry) || /[^\w./-]/.test(entry) ? NPX_MTL : `node ${entry}`;
}
