import { execFileSync } from 'node:child_process';
import type { BackendAttempt, BackendReport, FmaReport } from '../backend/select.js';
import { UsageError } from '../errors.js';
import { mtlVersion } from '../util/version.js';
import { JsonFields } from './json.js';
import { runFile } from './layout.js';
import type { RunProcess } from './liveness.js';

export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted' | 'diverged';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'completed', 'failed', 'interrupted', 'diverged'];

/**
 * The version of the run-directory layout and file formats this mtl writes, stored as `format` in meta.json. Raise it
 * when a change would make an older mtl misread a run (a file renamed, a field's meaning changed); adding an optional
 * field does not need it. Runs written before the field existed read as format 1.
 */
export const RUN_FORMAT = 1;

/** Everything needed to re-run and to judge a run: stored as meta.json and rewritten as the run goes. */
export interface RunMeta {
  id: string;
  name: string;
  status: RunStatus;
  /** Why it ended that way (failure message, divergence, early stop). */
  statusReason?: string;
  startedAt: string;
  updatedAt: string;
  endedAt?: string;
  seed: number;
  backend?: BackendReport;
  versions: { mtl: string; node: string; tfjs: string };
  command: string[];
  cwd: string;
  configFile?: string;
  overrides: string[];
  git?: { commit: string; dirty: boolean };
  epochsCompleted: number;
  bestEpoch?: number;
  parameterCount?: ParameterCount;
  /** The strategy as it ran: for a gradient method, the target its task gradients were taken on. */
  strategy?: RunStrategy;
  /** The process training the run now (or last): a `running` run whose process is gone shows as `crashed`. */
  process?: RunProcess;
  /** When that process last said it was alive (runs/liveness.ts). */
  heartbeatAt?: string;
  /** Each `mtl train --resume` of the run: when, from which epoch and batch, and the status it had. */
  resumes?: RunResume[];
  /** Where the run's initial weights came from (`init:`, issue #17); absent for a run started from fresh weights. */
  lineage?: RunLineage;
}

/**
 * A run started from another run's checkpoint: which one (the source's id and folder, the checkpoint, its epoch and
 * the sha256 of its weights, as its checksums.json lists them), which parameters were copied and which held fixed
 * (api/init-weights.ts). `mtl train --resume` reads `frozen` from here.
 */
export interface RunLineage {
  sourceId: string;
  sourceDir: string;
  checkpoint: 'best' | 'last';
  epoch: number;
  weightsSha256: string;
  loaded: string[];
  frozen: string[];
}

export interface RunResume {
  at: string;
  epoch: number;
  batch: number;
  from: string;
}

export interface RunStrategy {
  name: string;
  /** Gradient methods: `params` or `representation`, what `grad_target` (`auto` included) resolved to. */
  gradTarget?: 'params' | 'representation';
  /** Choices the config made that the method's paper does not (see `mtl validate`), as validation printed them. */
  notes?: string[];
}

/** meta.json as stored: the run's facts and the format its files follow (see {@link RUN_FORMAT}). */
export interface StoredRunMeta extends RunMeta {
  format: number;
}

export interface ParameterCount {
  shared: number;
  perTask: Record<string, number>;
  total: number;
}

/**
 * Reads and checks a run's meta.json. A run written by a newer format is refused (this mtl could misread it), with
 * the versions involved; a damaged file is a UsageError naming the field.
 */
export function readMeta(runDir: string): StoredRunMeta {
  const fields = JsonFields.read(runFile(runDir, 'meta'));
  const format = fields.has('format') ? fields.number('format') : 1;
  if (!Number.isInteger(format) || format < 1) throw fields.problem('format', 'a whole number of 1 or more');
  const id = fields.string('id');
  if (format > RUN_FORMAT) {
    const writer = fields.optionalObject('versions')?.optionalString('mtl');
    throw new UsageError(
      `Run ${id} was written by mtl format ${format}${writer ? ` (mtl ${writer})` : ''}, newer than this mtl ` +
        `(format ${RUN_FORMAT}, mtl ${mtlVersion()}); upgrade mtl to read it.`,
    );
  }
  const versions = fields.object('versions');
  const backend = fields.optionalObject('backend');
  const git = fields.optionalObject('git');
  const parameterCount = fields.optionalObject('parameterCount');
  const strategy = fields.optionalObject('strategy');
  const owner = fields.optionalObject('process');
  const lineage = fields.optionalObject('lineage');
  return {
    format,
    id,
    name: fields.string('name'),
    status: fields.oneOf('status', RUN_STATUSES),
    statusReason: fields.optionalString('statusReason'),
    startedAt: fields.string('startedAt'),
    updatedAt: fields.string('updatedAt'),
    endedAt: fields.optionalString('endedAt'),
    seed: fields.number('seed'),
    backend: backend && readBackendReport(backend),
    versions: { mtl: versions.string('mtl'), node: versions.string('node'), tfjs: versions.string('tfjs') },
    command: fields.strings('command'),
    cwd: fields.string('cwd'),
    configFile: fields.optionalString('configFile'),
    overrides: fields.strings('overrides'),
    git: git && { commit: git.string('commit'), dirty: git.boolean('dirty') },
    epochsCompleted: fields.number('epochsCompleted'),
    bestEpoch: fields.optionalNumber('bestEpoch'),
    parameterCount: parameterCount && readParameterCount(parameterCount),
    strategy: strategy && readRunStrategy(strategy),
    process: owner && { pid: owner.number('pid'), host: owner.string('host') },
    heartbeatAt: fields.optionalString('heartbeatAt'),
    resumes: fields.has('resumes')
      ? fields.objects('resumes').map((r) => ({
          at: r.string('at'),
          epoch: r.number('epoch'),
          batch: r.number('batch'),
          from: r.string('from'),
        }))
      : undefined,
    lineage: lineage && readLineage(lineage),
  };
}

function readLineage(fields: JsonFields): RunLineage {
  return {
    sourceId: fields.string('sourceId'),
    sourceDir: fields.string('sourceDir'),
    checkpoint: fields.oneOf('checkpoint', ['best', 'last']),
    epoch: fields.number('epoch'),
    weightsSha256: fields.string('weightsSha256'),
    loaded: fields.strings('loaded'),
    frozen: fields.strings('frozen'),
  };
}

function readRunStrategy(fields: JsonFields): RunStrategy {
  const gradTarget = fields.has('gradTarget') ? fields.oneOf('gradTarget', ['params', 'representation']) : undefined;
  return {
    name: fields.string('name'),
    ...(gradTarget ? { gradTarget } : {}),
    ...(fields.has('notes') ? { notes: fields.strings('notes') } : {}),
  };
}

export function readParameterCount(fields: JsonFields): ParameterCount {
  return {
    shared: fields.number('shared'),
    perTask: fields.object('perTask').numberValues(),
    total: fields.number('total'),
  };
}

/** A run from before issue #20: its products ran on the plain kernels (multiply then add), the only ones there were. */
const FMA_NOT_RECORDED: FmaReport = {
  requested: 'off',
  path: 'plain',
  reason: 'not recorded: the run is from before backend.fma, when every product ran on the plain kernels',
};

function readFmaReport(fields: JsonFields): FmaReport {
  return {
    requested: fields.oneOf('requested', ['auto', 'on', 'off']),
    path: fields.oneOf('path', ['fma', 'plain', 'not-applicable']),
    reason: fields.string('reason'),
  };
}

function readBackendReport(fields: JsonFields): BackendReport {
  const attempts = fields.objects('attempts').map((attempt): BackendAttempt => {
    const reason = attempt.optionalString('reason');
    return {
      backend: attempt.string('backend'),
      ok: attempt.boolean('ok'),
      ...(reason === undefined ? {} : { reason }),
    };
  });
  return {
    requested: fields.oneOf('requested', ['auto', 'tensorflow', 'wasm', 'cpu']),
    name: fields.oneOf('name', ['tensorflow', 'wasm', 'cpu']),
    provider: fields.string('provider'),
    attempts,
    tfjsVersion: fields.string('tfjsVersion'),
    // Both were added to the report after the first runs were written.
    kernelOverrides: fields.has('kernelOverrides') ? fields.strings('kernelOverrides') : [],
    simdKernels: fields.has('simdKernels') ? fields.boolean('simdKernels') : false,
    fma: fields.has('fma') ? readFmaReport(fields.object('fma')) : FMA_NOT_RECORDED,
  };
}

/** The git commit of a folder's work tree, when it is in one (the config's folder, where the experiment lives). */
export function gitInfo(dir: string): { commit: string; dirty: boolean } | undefined {
  try {
    const options = { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], timeout: 5000 };
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], options).toString().trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], options).toString().trim() !== '';
    return { commit, dirty };
  } catch {
    return undefined;
  }
}
