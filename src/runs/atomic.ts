import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

/** Writes a file so readers see the old or the new content, never half of it: temp file in the same folder + rename. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  runFsSteps(writeFileAtomicSteps(file, data), fs);
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Replaces a whole folder at once: the files are written into a fresh temp folder (plain writes are enough there:
 * nobody reads it before the swap), which then takes the target's place; the replaced folder, renamed aside, is
 * deleted last. A crash leaves either the old folder or the new one (plus a temp or `.old` folder to ignore), never a
 * mix of both.
 */
export function replaceDirAtomic(target: string, files: Readonly<Record<string, string | Uint8Array>>): void {
  runFsSteps(replaceDirSteps(target, files), fs);
}

/** One file-system call of a {@link FsJob}; paths are absolute or relative to the process's working folder. */
export type FsStep = (
  | { op: 'mkdir'; path: string }
  | { op: 'writeFile'; path: string; data: string | Uint8Array }
  | { op: 'append'; path: string; data: string }
  | { op: 'rename'; from: string; to: string }
  | { op: 'rm'; path: string }
) & {
  /** A failure of this step is ignored (e.g. renaming a folder that may not exist yet). */
  ignoreError?: boolean;
  /** Run (their own failures ignored) when this step fails, before the job fails with its error. */
  onError?: FsStep[];
};

/** Steps run in order; the first failure (not ignored) ends the job. */
export type FsJob = FsStep[];

export function writeFileAtomicSteps(file: string, data: string | Uint8Array): FsJob {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  return [
    { op: 'writeFile', path: temp, data },
    { op: 'rename', from: temp, to: file },
  ];
}

export function replaceDirSteps(target: string, files: Readonly<Record<string, string | Uint8Array>>): FsJob {
  const suffix = randomBytes(4).toString('hex');
  const temp = `${target}.${suffix}.tmp`;
  const trash = `${target}.${suffix}.old`;
  const removeTemp: FsStep = { op: 'rm', path: temp };
  return [
    { op: 'mkdir', path: temp },
    ...Object.entries(files).map(([name, data]): FsStep => ({ op: 'writeFile', path: path.join(temp, name), data, onError: [removeTemp] })),
    { op: 'rename', from: target, to: trash, ignoreError: true }, // no previous folder
    { op: 'rename', from: temp, to: target },
    { op: 'rm', path: trash }, // recursive and forced: nothing there when there was no previous folder
  ];
}

type SyncFs = Pick<typeof fs, 'mkdirSync' | 'writeFileSync' | 'appendFileSync' | 'renameSync' | 'rmSync'>;

/**
 * Runs a job's steps synchronously. Self-contained (no closure over this module): its source text is also the code of
 * the background worker, so both run the very same steps.
 */
export function runFsSteps(job: FsJob, files: SyncFs): void {
  const apply = (step: FsStep): void => {
    if (step.op === 'mkdir') files.mkdirSync(step.path, { recursive: true });
    else if (step.op === 'writeFile') files.writeFileSync(step.path, step.data);
    else if (step.op === 'append') files.appendFileSync(step.path, step.data);
    else if (step.op === 'rename') files.renameSync(step.from, step.to);
    else files.rmSync(step.path, { recursive: true, force: true });
  };
  for (const step of job) {
    try {
      apply(step);
    } catch (error) {
      if (step.ignoreError) continue;
      for (const cleanup of step.onError ?? []) {
        try {
          apply(cleanup);
        } catch {
          // The step's own error is the one to report.
        }
      }
      throw error;
    }
  }
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const files = require('node:fs');
const runFsSteps = (${runFsSteps.toString()});
parentPort.on('message', ({ id, job }) => {
  try {
    runFsSteps(job, files);
    parentPort.postMessage({ id });
  } catch (error) {
    parentPort.postMessage({ id, error: { message: String(error && error.message), code: error && error.code } });
  }
});
`;

/**
 * File-system jobs that need not hold up training (checkpoints, run logs, `meta.json` progress). They run one after
 * another, in the order given, in a worker thread, with synchronous calls, while the main thread trains: a checkpoint
 * costs ~1–5 ms of file-system calls on ext4 (renaming over or deleting files just written makes it flush them), and
 * even done asynchronously on the main thread (`fs/promises`) the ~10 completions of a checkpoint took ~1 ms of its
 * time per epoch; here each job is one message each way. The price: the worker's ~20 MB of memory. A failure does not
 * stop the jobs after it; it is kept for {@link check} and {@link settle}, so nothing is lost. Where no worker can be
 * started (or it died), jobs run in this thread at once, as before. {@link close} ends the worker.
 */
export class BackgroundTasks {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, () => void>();
  /** The last job queued: the worker runs jobs in order, so once it is done all are. */
  private last: Promise<void> = Promise.resolve();
  private nextId = 0;
  private failure: { error: unknown } | undefined;
  private closed = false;

  constructor() {
    try {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      // Idle, the worker does not keep the process alive; while a job is pending it does (see run).
      worker.unref();
      worker.on('message', (message: { id: number; error?: { message: string; code?: string } }) => {
        if (message.error) this.fail(Object.assign(new Error(message.error.message), message.error.code ? { code: message.error.code } : {}));
        this.finish(message.id);
      });
      worker.on('error', (error) => this.lost(error));
      worker.on('exit', (code) => this.lost(new Error(`the background file-system worker exited (code ${code})`)));
      this.worker = worker;
    } catch {
      this.worker = undefined; // jobs run in this thread
    }
  }

  /**
   * Queues a job. The promise resolves when it has run, also when it failed (see {@link check}); it never rejects.
   * `transfer`: buffers of the job's data handed to the worker instead of copied (unusable here afterwards).
   */
  run(job: FsJob, transfer: ArrayBuffer[] = []): Promise<void> {
    if (this.closed) {
      this.fail(new Error('BackgroundTasks.run: closed'));
      return Promise.resolve();
    }
    const worker = this.worker;
    if (!worker) {
      try {
        runFsSteps(job, fs);
      } catch (error) {
        this.fail(error);
      }
      return Promise.resolve();
    }
    const id = this.nextId++;
    if (this.waiting.size === 0) worker.ref();
    const done = new Promise<void>((resolve) => this.waiting.set(id, resolve));
    worker.postMessage({ id, job }, transfer);
    this.last = done;
    return done;
  }

  /** Throws the first failure so far, if any (lets a caller stop at the next convenient point). */
  check(): void {
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure.error;
  }

  /** Resolves when every job queued so far has run; throws the first failure. */
  async settle(): Promise<void> {
    let last: Promise<void>;
    do {
      last = this.last;
      await last;
    } while (last !== this.last);
    this.check();
  }

  /** Settles, then ends the worker; jobs queued later fail. */
  async close(): Promise<void> {
    try {
      await this.settle();
    } finally {
      this.closed = true;
      const worker = this.worker;
      this.worker = undefined;
      await worker?.terminate();
    }
  }

  private finish(id: number): void {
    const resolve = this.waiting.get(id);
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker?.unref();
    resolve?.();
  }

  private fail(error: unknown): void {
    this.failure ??= { error };
  }

  /** The worker died: its pending jobs fail with `error`; later ones run in this thread. */
  private lost(error: Error): void {
    if (!this.worker) return; // closed (terminated on purpose) or already lost
    this.worker = undefined;
    if (this.waiting.size > 0) this.fail(error);
    for (const id of [...this.waiting.keys()]) this.finish(id);
  }
}
