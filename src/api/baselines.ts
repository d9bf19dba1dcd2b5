import type { TransferReport } from '../analysis/types.js';
import { pairGains, transferReport, type PairRun, type SplitMetrics } from '../analysis/transfer.js';
import { existsSync } from 'node:fs';
import { parseConfigText, type LoadedConfig } from '../config/load.js';
import { ExitCode, MtlError, RunFailedError, UsageError } from '../errors.js';
import { readConfigSource, readResolvedConfig } from '../runs/inputs.js';
import { readPreprocessing } from '../runs/preprocessing-file.js';
import { runFile } from '../runs/layout.js';
import { readMeta, type RunStatus, type StoredRunMeta } from '../runs/meta.js';
import { withRunLock } from '../runs/lock.js';
import { openRun, resolveRunsDir } from '../runs/store.js';
import { readSummary, type RunSummary } from '../runs/summary.js';
import { writeTransfer } from '../runs/transfer.js';
import { checkSubRunHeads, pairIsTheRun, planSubRuns, type SubRunKind, type SubRunPlan } from './baseline-configs.js';
import { checkBaselineRows } from './baseline-rows.js';
import { refreshGroupOfMember, withSeed } from './groups.js';
import { resumeExperiment, type ResumeOptions } from './resume.js';
import { sourceFeatures, type SourceFeatures } from './row-pinning.js';
import { subRunDirOf, subRunsAskedFor } from './sub-runs.js';
import { trainExperiment, type TrainOptions } from './train.js';

/** One run trained with the multi-task run, as the hooks report it. */
export interface SubRunEvent {
  kind: SubRunKind;
  /** `a`, `towers`, `a+b`. */
  label: string;
  /** Relative to the multi-task run's folder (`baselines/a`). */
  path: string;
  /** 1-based, of `count`. */
  index: number;
  count: number;
}

export interface BaselineTrainOptions extends TrainOptions {
  /** Before each baseline or pair run: which one. Its `onRunCreated`, `onModelBuilt` and listeners follow. */
  onSubRunStart?(event: SubRunEvent): void;
  /** After each baseline or pair run, with its summary. */
  onSubRunEnd?(event: SubRunEvent, summary: RunSummary): void;
}

export interface TrainedWithBaselines {
  /** The multi-task run. */
  summary: RunSummary;
  /** transfer.json as written; absent when the config asks for no baselines or they did not all complete. */
  transfer?: TransferReport;
  /** The baseline and pair runs trained, in order. */
  subRuns: RunSummary[];
  /** Set when not every sub-run was trained: the run that stopped them (the multi-task run or a sub-run) and why. */
  stopped?: { run: string; status: RunStatus; reason: string };
}

/**
 * Trains a config's multi-task run, then (with `baselines:` or `analysis.pairs`) its baselines and pair runs inside
 * its folder (api/baseline-configs.ts says what each is), and writes the run's transfer.json: per task MTL against
 * its baseline, relative gains, Δm, verdicts (analysis/transfer.ts). Every sub-run config is checked before anything
 * trains, and so are the single-task baselines' labelled rows (api/baseline-rows.ts). The sub-runs are trained only
 * after a completed multi-task run; an interrupt (`signal`) stops the run in progress like any run and trains no
 * more. A sub-run that fails or diverges is an error of exit 1 naming it (with its error's detail lines); the
 * multi-task run is complete and left as it is. {@link resumeWithBaselines} continues what an interrupt left.
 */
export async function trainWithBaselines(
  loaded: LoadedConfig,
  options: BaselineTrainOptions = {},
): Promise<TrainedWithBaselines> {
  const plans = planSubRuns(loaded);
  checkSubRunHeads(loaded, options.runsDir);
  const summary = await trainExperiment(loaded, {
    ...options,
    // The run's data, before the run exists: a baseline it cannot train is refused before the run trains.
    onDataPrepared: (report) => {
      checkBaselineRows(loaded, report);
      options.onDataPrepared?.(report);
    },
  });
  return trainSubRuns(loaded, summary, plans, options);
}

/**
 * `mtl train --resume RUN`: continues the multi-task run as `resumeExperiment` does, then the baselines and pair runs
 * its config asks for: a completed one is kept, an interrupted or crashed one is resumed from its `last` checkpoint,
 * a missing one is trained; then transfer.json is written, all under the run's lock. A completed run whose sub-runs
 * are all complete is refused like any completed run.
 */
export async function resumeWithBaselines(
  reference: string,
  options: BaselineTrainOptions & ResumeOptions = {},
): Promise<TrainedWithBaselines> {
  const { dir, meta } = openRun(reference, resolveRunsDir(options.runsDir));
  const config = readResolvedConfig(dir);
  const loaded = subRunsAskedFor(config).length > 0 ? storedRunConfig(dir, meta) : undefined;
  const plans = loaded ? planSubRuns(loaded) : [];
  const incomplete = plans.filter((plan) => readMetaIfAny(subRunDirOf(dir, plan))?.status !== 'completed');
  const summary =
    meta.status === 'completed' && incomplete.length > 0
      ? readSummary(dir, reference)
      : await resumeExperiment(reference, options);
  if (!loaded) return { summary, subRuns: [] };
  // New sub-run folders and transfer.json change the run: one writer at a time, as for any command that does.
  const trained = await withRunLock(dir, () => trainSubRuns(loaded, summary, plans, options), {
    command: 'mtl train --resume',
    ...options.lock,
  });
  refreshGroupOfMember(dir); // a seed group's member: its transfer.json is part of group-summary.json
  return trained;
}

/**
 * The config a run was started with, as loaded then: its config.yaml, config file and `--set` flags, and its own
 * seed, which a seed group sets per member outside the file and the flags (as {@link withSeed}).
 */
export function storedRunConfig(dir: string, meta: StoredRunMeta): LoadedConfig {
  const loaded = parseConfigText(readConfigSource(dir), {
    ...(meta.configFile ? { file: meta.configFile } : {}),
    displayName: runFile(dir, 'configSource'),
    overrides: meta.overrides,
  });
  return withSeed(loaded, readResolvedConfig(dir).seed);
}

function readMetaIfAny(dir: string): StoredRunMeta | undefined {
  return existsSync(runFile(dir, 'meta')) ? readMeta(dir) : undefined;
}

/** The sub-runs of a multi-task run, in order, then transfer.json: see {@link trainWithBaselines}. */
async function trainSubRuns(
  loaded: LoadedConfig,
  summary: RunSummary,
  plans: readonly SubRunPlan[],
  options: BaselineTrainOptions,
): Promise<TrainedWithBaselines> {
  if (plans.length === 0) return { summary, subRuns: [] };
  if (summary.status !== 'completed') {
    const reason = `the multi-task run ended ${summary.status}, so no baseline was trained`;
    return { summary, subRuns: [], stopped: { run: summary.id, status: summary.status, reason } };
  }
  const features = sourceFeatures(readPreprocessing(summary.dir));
  const subRuns: RunSummary[] = [];
  const trained = new Map<string, RunSummary>();
  let transfer: TransferReport | undefined;
  const stop = (run: string, status: RunStatus, reason: string): TrainedWithBaselines => ({
    summary,
    subRuns,
    ...(transfer ? { transfer } : {}),
    stopped: { run, status, reason },
  });
  for (const [i, plan] of plans.entries()) {
    const event: SubRunEvent = {
      kind: plan.kind,
      label: plan.label,
      path: plan.path,
      index: i + 1,
      count: plans.length,
    };
    if (options.signal?.aborted) {
      const reason = `interrupted before ${plan.path}; ${plans.length - i} of ${plans.length} runs were not trained`;
      return stop(summary.id, 'interrupted', reason);
    }
    const existing = readMetaIfAny(subRunDirOf(summary.dir, plan));
    let sub: RunSummary;
    if (existing?.status === 'completed') sub = readSummary(subRunDirOf(summary.dir, plan), existing.id);
    else {
      options.onSubRunStart?.(event);
      sub = await trainSubRun(plan, features, summary, options, existing !== undefined);
      subRuns.push(sub);
      options.onSubRunEnd?.(event, sub);
    }
    trained.set(plan.path, sub);
    if (sub.status === 'interrupted') return stop(sub.id, sub.status, `interrupted during ${plan.path}`);
    const nextIsPair = plans[i + 1]?.kind === 'pair';
    if (plan.kind !== 'pair' && (nextIsPair || i + 1 === plans.length)) {
      transfer = baselineTransfer(loaded, summary, plans, trained);
      writeTransfer(summary.dir, transfer);
    }
  }
  if (loaded.config.analysis?.pairs === true && transfer) {
    transfer = { ...transfer, pairs: pairTransfer(loaded, summary, plans, trained, transfer.split) };
    writeTransfer(summary.dir, transfer);
  }
  return { summary, subRuns, ...(transfer ? { transfer } : {}) };
}

async function trainSubRun(
  plan: SubRunPlan,
  features: SourceFeatures,
  parent: RunSummary,
  options: BaselineTrainOptions & ResumeOptions,
  resume: boolean,
): Promise<RunSummary> {
  const what = `${plan.kind === 'pair' ? 'Pair run' : 'Baseline'} ${plan.path} of run ${parent.id}`;
  const untouched = `the multi-task run ${parent.id} completed and is unchanged`;
  let sub: RunSummary;
  try {
    // The data report was printed for the multi-task run: the sub-run reads the same rows.
    const { onDataPrepared: _printedOnce, ...rest } = options;
    sub = resume
      ? await resumeExperiment(subRunDirOf(parent.dir, plan), rest)
      : await trainExperiment(plan.config(features), { ...rest, subRun: { parent, path: plan.path } });
  } catch (error) {
    const message = error instanceof MtlError || error instanceof Error ? error.message : String(error);
    // A sub-run that cannot be resumed (no checkpoint, data changed) is refused like any resume: nothing trained.
    if (resume && error instanceof UsageError) throw new UsageError(`${what}: ${message}`, error.details);
    // The error's detail lines (which selector picks nothing, a remedy) are kept. A message ending in ':' leads into
    // them, so the note on the multi-task run goes before it rather than between the two.
    const details = error instanceof MtlError ? [...error.details] : [];
    if (details.length === 0) throw new RunFailedError(`${what} failed: ${message} (${untouched}).`, error);
    const text = message.endsWith(':')
      ? `${what} failed (${untouched}): ${message}`
      : `${what} failed: ${message} (${untouched}).`;
    throw new MtlError(text, { exitCode: ExitCode.runFailed, details, cause: error });
  }
  if (sub.status === 'diverged') {
    throw new RunFailedError(`${what} diverged: ${sub.statusReason ?? 'its loss exploded'} (${untouched}).`);
  }
  return sub;
}

/** The split the comparison is on: test, or val where the multi-task run has no test metrics. */
function comparedSplit(summary: RunSummary): 'test' | 'val' {
  return Object.keys(summary.test).length > 0 ? 'test' : 'val';
}

function baselineTransfer(
  loaded: LoadedConfig,
  summary: RunSummary,
  plans: readonly SubRunPlan[],
  trained: ReadonlyMap<string, RunSummary>,
): TransferReport {
  const split = comparedSplit(summary);
  const tasks = loaded.config.tasks.map((task) => task.name);
  const baselines: Record<string, SplitMetrics> = {};
  const baselineRuns: Record<string, string> = {};
  for (const plan of plans) {
    if (plan.kind === 'pair') continue;
    const run = trained.get(plan.path);
    if (!run) continue;
    for (const task of plan.tasks) {
      baselines[task] = run[split];
      baselineRuns[task] = plan.path;
    }
  }
  return transferReport({
    baseline: loaded.config.baselines === 'towers' ? 'towers' : 'single-task',
    split,
    tasks,
    mtl: summary[split],
    baselines,
    baselineRuns,
  });
}

function pairTransfer(
  loaded: LoadedConfig,
  summary: RunSummary,
  plans: readonly SubRunPlan[],
  trained: ReadonlyMap<string, RunSummary>,
  split: 'test' | 'val',
): TransferReport['pairs'] {
  const single: Record<string, SplitMetrics> = {};
  const pairs: PairRun[] = [];
  for (const plan of plans) {
    const run = trained.get(plan.path);
    const [first, second] = plan.tasks;
    if (!run || first === undefined) continue;
    if (plan.kind === 'single-task') single[first] = run[split];
    if (plan.kind === 'pair' && second !== undefined) {
      pairs.push({ tasks: [first, second], metrics: run[split], run: plan.path });
    }
  }
  const [first, second] = loaded.config.tasks;
  if (pairIsTheRun(loaded.config) && first && second) {
    pairs.push({ tasks: [first.name, second.name], metrics: summary[split], run: '.' });
  }
  return pairGains(pairs, single);
}
