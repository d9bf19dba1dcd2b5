import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { outputFileError } from './fs-errors.js';
import { runFsSteps, type FsJob, type FsStep } from './fs-steps.js';
import type { FsWorkerReply, FsWorkerRequest } from './fs-worker.js';
import { makeDirectories } from './make-dirs.js';

export { runFsSteps, type FsJob, type FsStep };

/** Writes a file so readers see the old or the new content, never half of it: temp file in the same folder + rename. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  runFsSteps(writeFileAtomicSteps(file, data), fs);
}

/**
 * A file the user named (`-o FILE`), written atomically into its folder, made where missing. A path that cannot be
 * written is told as such (exit 2, or 1 for a full disk), naming the path and the flag to change.
 */
export function writeUserFileAtomic(file: string, data: string | Uint8Array, flag: string): void {
  try {
    makeDirectories(path.dirname(file));
    writeFileAtomic(file, data);
  } catch (error) {
    throw outputFileError(error, file, flag);
  }
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
export function replaceDirAtomic(
  target: string,
  files: Readonly<Record<string, string | Uint8Array>>,
  options: ReplaceDirOptions = {},
): void {
  runFsSteps(replaceDirSteps(target, files, options), fs);
}

export interface ReplaceDirOptions {
  /** Made inside the new folder first, for files named `<folder>/<name>` (TensorBoard's `train/events…`). */
  folders?: readonly string[];
  /** A file of the new folder, written last, with the sha256 of every other file (fs-steps.js `writeChecksums`). */
  checksums?: string;
}

export function writeFileAtomicSteps(file: string, data: string | Uint8Array): FsJob {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const removeTemp: FsStep = { op: 'rm', path: temp };
  return [
    { op: 'writeFile', path: temp, data, onError: [removeTemp] },
    // A folder in the file's place refuses the rename: the temp file must not stay behind.
    { op: 'rename', from: temp, to: file, onError: [removeTemp] },
  ];
}

export function replaceDirSteps(
  target: string,
  files: Readonly<Record<string, string | Uint8Array>>,
  { folders = [], checksums }: ReplaceDirOptions = {},
): FsJob {
  const suffix = randomBytes(4).toString('hex');
  const temp = `${target}.${suffix}.tmp`;
  const trash = `${target}.${suffix}.old`;
  const removeTemp: FsStep = { op: 'rm', path: temp };
  return [
    { op: 'mkdir', path: temp },
    ...folders.map((folder): FsStep => ({ op: 'mkdir', path: path.join(temp, folder), onError: [removeTemp] })),
    ...Object.entries(files).map(
      ([name, data]): FsStep => ({ op: 'writeFile', path: path.join(temp, name), data, onError: [removeTemp] }),
    ),
    ...(checksums === undefined
      ? []
      : [
          {
            op: 'writeChecksums',
            path: path.join(temp, checksums),
            files: Object.fromEntries(Object.keys(files).map((name) => [name, path.join(temp, name)])),
            onError: [removeTemp],
          } satisfies FsStep,
        ]),
    { op: 'rename', from: target, to: trash, ignoreError: true }, // no previous folder
    { op: 'rename', from: temp, to: target },
    { op: 'rm', path: trash }, // recursive and forced: nothing there when there was no previous folder
  ];
}

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
      // A module file next to this one (src/ under the tests, dist/ for the CLI), not eval'd source text: that breaks
      // under bundling and coverage instrumentation.
      const worker = new Worker(new URL('./fs-worker.js', import.meta.url));
      // Idle, the worker does not keep the process alive; while a job is pending it does (see run).
      worker.unref();
      worker.on('message', (message: FsWorkerReply) => {
        if (message.error)
          this.fail(
            Object.assign(new Error(message.error.message), message.error.code ? { code: message.error.code } : {}),
          );
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
    const request: FsWorkerRequest = { id, job };
    worker.postMessage(request, transfer);
    this.last = done;
    return done;
  }

  /** Whether jobs go to the worker thread (false where it could not start, once it died, and after {@link close}). */
  get runsInWorker(): boolean {
    return this.worker !== undefined;
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
