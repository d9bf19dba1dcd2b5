// Plain JavaScript (type-checked through JSDoc, `checkJs`) because the background worker (fs-worker.js) imports it:
// a worker thread runs files as Node finds them, and Node 20 cannot run TypeScript, while the tests run src/ and the
// CLI runs dist/. As a .js file it is the same module in both, and the main thread and the worker run the same steps.

/**
 * One file-system call of an {@link FsJob}; paths are absolute or relative to the process's working folder.
 * @typedef {(
 *   | { op: 'mkdir', path: string }
 *   | { op: 'writeFile', path: string, data: string | Uint8Array }
 *   | { op: 'append', path: string, data: string | Uint8Array }
 *   | { op: 'rename', from: string, to: string }
 *   | { op: 'rm', path: string }
 * ) & FsStepHandling} FsStep
 */

/**
 * What happens when a step fails.
 * @typedef {object} FsStepHandling
 * @property {boolean} [ignoreError] A failure of this step is ignored (e.g. renaming a folder that may not exist yet).
 * @property {FsStep[]} [onError] Run (their own failures ignored) when this step fails, before the job fails with its
 *   error.
 */

/**
 * Steps run in order; the first failure (not ignored) ends the job.
 * @typedef {FsStep[]} FsJob
 */

/**
 * The synchronous calls the steps make: `node:fs` itself, or a stand-in.
 * @typedef {Pick<typeof import('node:fs'), 'mkdirSync' | 'writeFileSync' | 'appendFileSync' | 'renameSync' | 'rmSync'>}
 * SyncFs
 */

/**
 * Runs a job's steps synchronously, in this thread (writeFileAtomic, replaceDirAtomic) or in the background worker.
 * @param {FsJob} job
 * @param {SyncFs} files
 * @returns {void}
 */
export function runFsSteps(job, files) {
  /** @param {FsStep} step */
  const apply = (step) => {
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
