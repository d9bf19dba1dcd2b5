import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { RunFailedError } from '../errors.js';
import { trialStatus, type TrialStatus } from '../runs/sweeps.js';
import { packageRoot } from '../util/paths.js';
import {
  endedInterrupted,
  stopsFailFast,
  type ExecuteOptions,
  type ExecutedTrials,
  type SweepPlan,
  type TrialOutcome,
  type TrialRequest,
  type TrialStartAction,
} from './sweep.js';
import { isMessage, type FromWorker, type ToWorker } from './sweep-messages.js';
import { recordSweep } from './sweep-status.js';

/**
 * `mtl sweep --jobs N` (issue #16): this process becomes a coordinator of N long-lived worker processes, each the
 * built CLI's hidden `mtl sweep-worker` (bin/mtl.js, forked with an IPC channel). Each worker plans the sweep itself
 * (planSweep is deterministic; a plan with another id is refused) and trains the trials it is handed with runTrial,
 * exactly as this process would, so each trial is the same run whatever N is.
 *
 * Rules (also in docs/notes/sweep-jobs.md):
 * - Scheduling is dynamic: the next request in order goes to whichever worker is idle. Outcomes come back in request
 *   order. Only the coordinator writes sweep.json (after each outcome, with `jobs`: N).
 * - The per-trial lock stays: two coordinators or shards on one store never take the same trial.
 * - A worker that exits while it holds a trial (killed, out of memory) leaves the trial as its run says on disk
 *   (`crashed`: resumable by a re-run; `failed` when no run was started yet); that trial is not retried in this
 *   process (it might kill the next worker too), and a replacement worker is started while requests remain.
 * - failFast: after a failed, diverged or damaged trial no more requests are handed out; trials already training
 *   finish.
 * - A signal (`options.signal`): each worker is told to stop; its trial finishes the current batch and ends
 *   `interrupted` with its checkpoint; `interrupted` is returned once all workers are gone. A worker whose
 *   coordinator dies (IPC `disconnect`) does the same by itself, so the trial stays resumable.
 */
export async function executeInWorkers(
  plan: SweepPlan,
  dir: string,
  requests: readonly TrialRequest[],
  statuses: Map<string, TrialStatus>,
  options: ExecuteOptions & { jobs: number },
): Promise<ExecutedTrials> {
  const coordinator = new Coordinator(plan, dir, requests, statuses, options);
  return coordinator.run();
}

interface Worker {
  id: number;
  child: ChildProcess;
  ready: boolean;
  /** The request it trains: its position in `requests`, and whether it said it started. */
  current?: { position: number; action?: TrialStartAction };
  /** Its last lines of output, for a worker that dies before it is ready. */
  tail: string[];
}

class Coordinator {
  private readonly outcomes: (TrialOutcome | undefined)[] = [];
  private readonly queue: number[];
  private readonly workers = new Set<Worker>();
  private nextWorkerId = 1;
  private interrupted = false;
  private stoppedEarly = false;
  /** Why the sweep cannot go on (a worker could not start); thrown once every worker is gone. */
  private startupFailure: string | undefined;
  private finish: () => void = () => undefined;

  constructor(
    private readonly plan: SweepPlan,
    private readonly dir: string,
    private readonly requests: readonly TrialRequest[],
    private readonly statuses: Map<string, TrialStatus>,
    private readonly options: ExecuteOptions & { jobs: number },
  ) {
    this.queue = requests.map((_request, position) => position);
  }

  async run(): Promise<ExecutedTrials> {
    const { signal } = this.options;
    if (signal?.aborted) return { outcomes: [], interrupted: true, stoppedEarly: false, jobs: this.options.jobs };
    const done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    const onAbort = (): void => {
      this.interrupted = true;
      for (const worker of this.workers) this.send(worker, { type: 'interrupt' });
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    for (let i = 0; i < this.options.jobs; i++) this.startWorker();
    try {
      await done;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (this.startupFailure !== undefined && !this.interrupted) {
      throw new RunFailedError(`mtl sweep --jobs: ${this.startupFailure}`);
    }
    return {
      outcomes: this.outcomes.filter((outcome): outcome is TrialOutcome => outcome !== undefined),
      interrupted: this.interrupted,
      stoppedEarly: this.stoppedEarly,
      jobs: this.options.jobs,
    };
  }

  private stopping(): boolean {
    return this.interrupted || this.stoppedEarly || this.startupFailure !== undefined;
  }

  private startWorker(): void {
    const id = this.nextWorkerId++;
    const child = fork(path.join(packageRoot, 'bin', 'mtl.js'), ['sweep-worker'], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // V8's helper threads (parallel GC, concurrent compilation) take a quarter of a core beside a training process;
      // with a worker per core they only compete with the other workers (bench/sweep-jobs.mjs measures the
      // throughput; README "Parallel trials"). Numerics do not change (test/sweep-jobs.test.ts).
      execArgv: ['--single-threaded'],
      env: { ...process.env, MTL_SWEEP_WORKER: String(id) },
    });
    const worker: Worker = { id, child, ready: false, tail: [] };
    this.workers.add(worker);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        worker.tail = [...worker.tail.slice(-4), line];
        this.options.onWorkerOutput?.(id, line);
      });
    }
    child.on('message', (message: unknown) => {
      if (isMessage<FromWorker>(message)) this.onMessage(worker, message);
    });
    child.on('error', (error) => {
      worker.tail = [...worker.tail, error.message];
    });
    // 'close': the process has exited and its output and messages are all read.
    child.on('close', (code, signal) => this.onClose(worker, code, signal));
    const { backend, command } = this.options;
    this.send(worker, {
      type: 'init',
      sweepFile: this.plan.spec.file,
      sweepDir: this.dir,
      planId: this.plan.id,
      retryFailed: this.options.retryFailed === true,
      ...(backend ? { backend } : {}),
      command: command ?? process.argv.slice(1),
    });
  }

  private send(worker: Worker, message: ToWorker): void {
    if (worker.child.connected) worker.child.send(message, (error) => error && worker.tail.push(error.message));
  }

  private onMessage(worker: Worker, message: FromWorker): void {
    if (message.type === 'ready') {
      worker.ready = true;
      this.handOut(worker);
    } else if (message.type === 'started' && worker.current) {
      worker.current.action = message.action;
      const request = this.requests[worker.current.position];
      if (request) this.options.onTrialStart?.(request.trial, message.action, worker.id);
    } else if (message.type === 'declined' && worker.current) {
      this.queue.unshift(worker.current.position);
      worker.current = undefined;
      this.handOut(worker);
    } else if (message.type === 'outcome' && worker.current) {
      const { position } = worker.current;
      worker.current = undefined;
      const { action, status, error } = message;
      this.record(position, { action, status, ...(error === undefined ? {} : { error }), worker: worker.id });
      this.handOut(worker);
    }
  }

  /** Gives the idle worker the next request, or tells it to stop when there is none (or the sweep is stopping). */
  private handOut(worker: Worker): void {
    const position = this.stopping() ? undefined : this.queue.shift();
    const request = position === undefined ? undefined : this.requests[position];
    if (position === undefined || request === undefined) {
      this.send(worker, { type: 'stop' });
      return;
    }
    worker.current = { position };
    const { trial, epochs } = request;
    this.send(worker, {
      type: 'trial',
      index: trial.index,
      hash: trial.hash,
      ...(epochs === undefined ? {} : { epochs }),
    });
  }

  private record(position: number, result: Omit<TrialOutcome, 'trial'>): void {
    const request = this.requests[position];
    if (!request) return;
    const { trial } = request;
    const outcome: TrialOutcome = { trial, ...result };
    this.outcomes[position] = outcome;
    const onDisk = outcome.status === 'failed' ? trialStatus(path.join(this.dir, trial.hash)) : outcome.status;
    this.statuses.set(trial.hash, onDisk);
    recordSweep(this.plan, this.dir, this.statuses, { jobs: this.options.jobs });
    this.options.onTrialEnd?.(outcome);
    if (endedInterrupted(outcome)) this.interrupted = true;
    if (this.options.failFast && stopsFailFast(outcome)) {
      this.stoppedEarly = true;
    }
  }

  private onClose(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    this.workers.delete(worker);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (worker.current) {
      // Died holding a trial: the trial is what its run on disk says (crashed: resumable by a re-run).
      const { position, action } = worker.current;
      const request = this.requests[position];
      const shown = request ? trialStatus(path.join(this.dir, request.trial.hash)) : 'pending';
      this.record(position, {
        action: action ?? 'trained',
        status: shown === 'pending' ? 'failed' : shown === 'running' ? 'crashed' : shown,
        error: `worker w${worker.id} ${how} while it trained this trial; a re-run of the sweep resumes it`,
        worker: worker.id,
      });
      worker.current = undefined;
    } else if (!worker.ready && !this.stopping()) {
      const said = worker.tail.length > 0 ? `: ${worker.tail.join(' | ')}` : '';
      this.startupFailure = `worker w${worker.id} ${how} before it was ready${said}`;
    }
    if (worker.ready && this.queue.length > 0 && !this.stopping()) this.startWorker();
    if (this.workers.size === 0) this.finish();
  }
}
