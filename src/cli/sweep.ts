import { availableParallelism } from 'node:os';
import path from 'node:path';
import {
  endedInterrupted,
  planSweep,
  runSweep,
  shardTrials,
  type PlannedTrial,
  type Shard,
  type TrialAction,
  type TrialOutcome,
} from '../api/sweep.js';
import { damagedTrialsOf } from '../api/sweep-listing.js';
import { sweepStatus } from '../api/sweep-status.js';
import type { BackendChoice } from '../config/types.js';
import { ExitCode, UsageError } from '../errors.js';
import { readSweepMeta, trialStatus } from '../runs/sweeps.js';
import { halvingDryRun, rungLines } from './sweep-halving.js';
import { refuseHalvingShard } from '../api/sweep-halving.js';
import { resolveRunsDir } from '../runs/store.js';
import { withInterrupts } from './interrupts.js';
import { emitCommand } from './sweep-emit.js';
import { formatNumber, log, out, printJson, table } from './output.js';
import { trainOutput } from './train-output.js';
import { describeTrial } from './sweep-rows.js';
import { damagedNotes } from './runs-command.js';

export interface SweepFlags {
  runsDir?: string;
  json?: boolean;
  dryRun?: boolean;
  failFast?: boolean;
  keepGoing?: boolean;
  retryFailed?: boolean;
  shard?: string;
  jobs?: string;
  /** `--emit FORM`: print a job specification instead of training (cli/sweep-emit.ts). */
  emit?: string;
  shards?: string;
  backend?: BackendChoice;
  quiet?: boolean;
}

/** `--shard i/n`: whole numbers with 1 ≤ i ≤ n. */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (
    !match ||
    !Number.isSafeInteger(index) ||
    !Number.isSafeInteger(count) ||
    count < 1 ||
    index < 1 ||
    index > count
  ) {
    throw new UsageError(`--shard "${text}": expected i/n with whole numbers 1 ≤ i ≤ n, e.g. --shard 2/4.`, [
      'shard i of n runs the trials whose index mod n is i − 1; n processes with 1/n … n/n cover the sweep',
    ]);
  }
  return { index, count };
}

/** `--jobs N`: a whole number N ≥ 1. */
export function parseJobs(text: string): number {
  const jobs = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(jobs) || jobs < 1) {
    throw new UsageError(`--jobs "${text}": expected a whole number of worker processes ≥ 1, e.g. --jobs 2.`, [
      `the default is the number of cores here (${availableParallelism()}); --jobs 1 trains in this process`,
    ]);
  }
  return jobs;
}

/** `mtl sweep SWEEP.yaml`, or `mtl sweep status SWEEP.yaml|ID`. */
export async function sweepCommand(first: string, second: string | undefined, flags: SweepFlags): Promise<number> {
  if (first === 'status') {
    if (second === undefined) throw new UsageError('mtl sweep status: missing the sweep file or sweep id.');
    return statusCommand(second, flags);
  }
  if (second !== undefined) {
    throw new UsageError(`mtl sweep: one sweep file at a time; got "${first}" and "${second}".`, [
      'mtl sweep SWEEP.yaml trains a sweep; mtl sweep status SWEEP.yaml|ID shows one',
    ]);
  }
  if (flags.failFast && flags.keepGoing) {
    throw new UsageError('mtl sweep: --fail-fast and --keep-going contradict each other; give one of them.');
  }
  // Checked here for --emit too, which passes it on to every job (each machine runs its shard with N workers).
  const jobsFlag = flags.jobs === undefined ? undefined : parseJobs(flags.jobs);
  if (flags.emit !== undefined) return emitCommand(first, flags.emit, flags, jobsFlag);
  if (flags.shards !== undefined) {
    throw new UsageError('mtl sweep: --shards goes with --emit (the number of jobs); to run one shard, --shard i/n.');
  }
  const shard = flags.shard === undefined ? undefined : parseShard(flags.shard);
  // Capped by the library at the trials left to train: one left, or --jobs 1, trains in this process.
  const jobs = jobsFlag ?? availableParallelism();
  const plan = await planSweep(first);
  if (plan.halving && shard && shard.count > 1) refuseHalvingShard(plan);
  const runsDir = resolveRunsDir(flags.runsDir);
  const selected = shardTrials(plan.trials, shard);
  if (flags.dryRun && plan.halving) return halvingDryRun(plan, plan.halving, runsDir, flags.json === true);
  if (flags.dryRun) {
    const rows = selected.map((trial) => ({
      ...describeTrial(trial),
      status: trialStatus(path.join(runsDir, trial.id)),
    }));
    if (flags.json) {
      printJson({
        id: plan.id,
        dir: path.join(runsDir, plan.id),
        total: plan.trials.length,
        trials: rows,
        duplicates: plan.duplicates,
      });
    } else {
      out(
        table(
          ['#', 'trial', 'seed', 'tasks', 'overrides', 'status'],
          rows.map((r) => [
            String(r.index + 1),
            r.id,
            String(r.seed),
            r.tasks?.join('+') ?? 'all',
            r.overrides.join(' '),
            r.status,
          ]),
        ),
      );
      log(
        `${selected.length} of ${plan.trials.length} trials${shard ? ` (shard ${shard.index}/${shard.count})` : ''}; ` +
          'nothing trained (--dry-run)',
      );
    }
    for (const duplicate of plan.duplicates)
      log(
        `note: ${duplicate.overrides.join(' ')} seed ${duplicate.seed} is ${duplicate.sameAs} ` +
          '(the same resolved config)',
      );
    return ExitCode.ok;
  }
  const { listeners } = trainOutput({ ...flags, quiet: true });
  return withInterrupts(async (signal, targets) => {
    // Said while no trial trains in this process: with --jobs N they train in worker processes (each says its own),
    // and in this process between two trials.
    targets.notice = (name) =>
      `Interrupted (${name}): stopping the sweep; a trial in training finishes its current batch and saves a ` +
      'checkpoint, one in its final evaluation finishes it (again to stop at once).';
    const result = await runSweep(plan, {
      ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
      ...(flags.backend ? { backend: flags.backend } : {}),
      ...(listeners ? { listeners } : {}),
      ...(shard ? { shard } : {}),
      jobs,
      failFast: flags.failFast === true,
      retryFailed: flags.retryFailed === true,
      signal,
      onRunCreated: (run) => {
        targets.run = run;
      },
      onTrialStart: (trial, action, worker) =>
        log(
          `${prefix(worker)}trial ${trial.index + 1}/${plan.trials.length} ${trial.id} (${label(trial)}): ` +
            (action === 'resumed' ? 'resuming' : action === 'extended' ? 'extending' : 'training'),
        ),
      onTrialEnd: (outcome) => logOutcome(outcome, plan.trials.length),
      onWorkerOutput: (worker, line) => log(`${prefix(worker)}${line}`),
    });
    const tally = tallyTrials(result.outcomes);
    if (flags.json) {
      printJson({
        id: result.id,
        dir: result.dir,
        jobs: result.jobs ?? 1,
        interrupted: result.interrupted,
        stoppedEarly: result.stoppedEarly,
        trials: result.outcomes.map((o) => ({
          ...describeTrial(o.trial),
          action: o.action,
          status: o.status,
          ...(o.error ? { error: o.error } : {}),
          ...(o.worker === undefined ? {} : { worker: o.worker }),
        })),
      });
    } else {
      out(result.id);
      const { actions, failed, crashed, damaged, interrupted } = tally;
      const extended = plan.halving ? `${actions.extended} extended, ` : '';
      log(
        `sweep ${result.id}: ${actions.trained} trained, ${actions.resumed} resumed, ${extended}` +
          `${actions.skipped} skipped, ${actions['left to another process']} left to another process; ` +
          `${failed} failed or diverged` +
          (crashed > 0 ? `; ${crashed} crashed (re-run the sweep to resume them)` : '') +
          (damaged > 0 ? `; ${damaged} damaged (${DAMAGED_TRIALS})` : '') +
          (interrupted > 0 ? `; ${interrupted} interrupted` : '') +
          ((result.jobs ?? 1) > 1 ? ` (${result.jobs} worker processes)` : ''),
      );
      if (plan.halving) for (const line of rungLines(readSweepMeta(result.dir).halving)) log(line);
      if (result.stoppedEarly) log('stopped at the first failed, diverged or damaged trial (--fail-fast)');
      if (result.interrupted) {
        log(
          'stopped by an interrupt (Ctrl-C or SIGTERM): run the sweep again to resume the interrupted trials ' +
            'from their checkpoints and train the rest',
        );
      }
    }
    if (result.interrupted) return ExitCode.interrupted;
    return tally.failed + tally.crashed + tally.damaged > 0 ? ExitCode.runFailed : ExitCode.ok;
  });
}

/** What the summary says of damaged trials (each one's own lines name its file and folder). */
const DAMAGED_TRIALS =
  "left untouched: restore the trial's meta.json from a backup, or delete the trial's folder and run the sweep " +
  'again to train it anew';

interface TrialTally {
  /** Trials by what this process did to them: each trial once per kind of work, or skipped or left when it did none. */
  actions: Record<TrialAction, number>;
  /** Trials whose last outcome here is failed or diverged (one skipped because it failed before included). */
  failed: number;
  /** Trials whose worker process died: not a result, and not failed (a re-run resumes them); the sweep exits 1. */
  crashed: number;
  /** Trials whose meta.json cannot be read: left as they are (the user's to restore or delete); the sweep exits 1. */
  damaged: number;
  /** Trials a signal stopped in training: they end `interrupted`, with their checkpoints. */
  interrupted: number;
}

/**
 * Counts trials, not outcomes: a halving sweep asks for a trial at each rung, so one trial may be resumed at rung 0
 * and then skipped at rung 1 (it had reached rung 1's epochs), or trained and later extended. A trial counts once for
 * each kind of work done on it; as skipped or left to another process only when nothing was done on it here.
 */
function tallyTrials(outcomes: readonly TrialOutcome[]): TrialTally {
  const byTrial = new Map<string, TrialOutcome[]>();
  for (const outcome of outcomes)
    byTrial.set(outcome.trial.hash, [...(byTrial.get(outcome.trial.hash) ?? []), outcome]);
  const actions: Record<TrialAction, number> = {
    trained: 0,
    resumed: 0,
    extended: 0,
    skipped: 0,
    'left to another process': 0,
  };
  const tally = { actions, failed: 0, crashed: 0, damaged: 0, interrupted: 0 };
  for (const trialOutcomes of byTrial.values()) {
    const work = new Set(
      trialOutcomes.map((o) => o.action).filter((a) => a !== 'skipped' && a !== 'left to another process'),
    );
    const last = trialOutcomes[trialOutcomes.length - 1];
    if (!last) continue;
    for (const action of work.size > 0 ? work : [last.action]) actions[action] += 1;
    if (last.status === 'failed' || last.status === 'diverged') tally.failed += 1;
    if (last.status === 'crashed') tally.crashed += 1;
    if (last.status === 'damaged') tally.damaged += 1;
    if (endedInterrupted(last)) tally.interrupted += 1;
  }
  return tally;
}

function label(trial: PlannedTrial): string {
  return [...trial.overrides, ...(trial.tasks ? [`tasks ${trial.tasks.join('+')}`] : []), `seed ${trial.seed}`].join(
    ', ',
  );
}

/** `[w2] ` before what worker 2 says or does; nothing for a trial trained in this process. */
function prefix(worker: number | undefined): string {
  return worker === undefined ? '' : `[w${worker}] `;
}

function logOutcome(outcome: TrialOutcome, total: number): void {
  const { trial } = outcome;
  const head = `${prefix(outcome.worker)}trial ${trial.index + 1}/${total} ${trial.id}`;
  if (outcome.action === 'skipped' || outcome.action === 'left to another process') {
    log(`${head} (${label(trial)}): ${outcome.status}, ${outcome.action}`);
  } else {
    log(`${head}: ${outcome.status}`);
  }
  if (outcome.error) log(`  ${outcome.error.split('\n').join('\n  ')}`);
}

function statusCommand(reference: string, flags: SweepFlags): number {
  const status = sweepStatus(reference, flags.runsDir);
  // A trial whose meta.json cannot be read is a `damaged` row (never ranked), its note on stderr as `mtl runs` writes.
  const damaged = damagedTrialsOf(status.trials);
  if (flags.json) {
    printJson(status);
    damagedNotes(damaged);
    return ExitCode.ok;
  }
  out(status.id);
  const counts = Object.entries(status.counts)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${n} ${name}`)
    .join(', ');
  out(`${status.total} trials: ${counts}`);
  const halving = status.halving;
  out(
    table(
      [
        '#',
        'trial',
        'seed',
        'tasks',
        'overrides',
        'status',
        ...(halving ? ['epochs'] : []),
        `val ${status.monitor.metric}`,
      ],
      status.trials.map((t) => [
        String(t.index + 1),
        t.id,
        String(t.seed),
        t.tasks?.join('+') ?? 'all',
        t.overrides.join(' '),
        t.status,
        ...(halving ? [t.epochs === undefined ? '-' : String(t.epochs)] : []),
        formatNumber(t.value),
      ]),
    ),
  );
  for (const line of rungLines(halving)) out(line);
  if (status.best) {
    out(
      `best so far: ${status.best.id} (val ${status.monitor.metric} ${formatNumber(status.best.value)}, ` +
        `${status.monitor.higherIsBetter ? 'higher' : 'lower'} is better)`,
    );
  } else {
    out('best so far: none (no completed trial reports the metric yet)');
  }
  damagedNotes(damaged);
  return ExitCode.ok;
}
