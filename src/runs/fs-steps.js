// Plain JavaScript (type-checked through JSDoc, `checkJs`) because the background worker (fs-worker.js) imports it:
// a worker thread runs files as Node finds them, and Node 20 cannot run TypeScript, while the tests run src/ and the
// CLI runs dist/. As a .js file it is the same module in both, and the main thread and the worker run the same steps.
import { createHash } from 'node:crypto';
import path from 'node:path';

/**
 * One file-system call of an {@link FsJob}; paths are absolute or relative to the process's working folder.
 * @typedef {(
 *   | { op: 'mkdir', path: string }
 *   | { op: 'writeFile', path: string, data: string | Uint8Array }
 *   | { op: 'append', path: string, data: string | Uint8Array }
 *   | { op: 'rename', from: string, to: string }
 *   | { op: 'rm', path: string }
 *   | { op: 'writeChecksums', path: string, files: Record<string, string> }
 * ) & FsStepHandling} FsStep
 *
 * `writeChecksums` writes `{ "algorithm": "sha256", "files": { name: hex digest } }` (2-space JSON and a newline) for
 * `files` (name in the checksums file → path of a file an earlier `writeFile` step of the same job wrote, whose data is
 * hashed). It is a step, not data the caller computes, so that hashing a checkpoint's megabytes happens wherever the
 * job runs: in the background worker, beside training, rather than on the training thread.
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
  /**
   * What this job's `writeFile` steps wrote, by path, for `writeChecksums`.
   * @type {Map<string, string | Uint8Array>}
   */
  const written = new Map();
  /** @param {FsStep} step */
  const apply = (step) => {
    if (step.op === 'mkdir') makeFolder(files, step.path);
    else if (step.op === 'writeFile') {
      files.writeFileSync(step.path, step.data);
      written.set(step.path, step.data);
    } else if (step.op === 'writeChecksums') files.writeFileSync(step.path, checksumsJson(step.files, written));
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

/**
 * `mkdir -p`, one mkdir call per missing folder: Node's recursive mkdirSync spins for ever, deaf to signals, where
 * mkdir answers ENOENT under a parent that exists (procfs, sysfs: `mtl report -o /proc/version.html`), as
 * make-dirs.ts explains; here such a folder fails with the system's error.
 * @param {SyncFs} files
 * @param {string} folder
 * @returns {void}
 */
function makeFolder(files, folder) {
  try {
    files.mkdirSync(folder);
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    // Something is there: the recursive call (which spins only on a missing path) accepts a folder, refuses a file.
    if (code === 'EEXIST') files.mkdirSync(folder, { recursive: true });
    else if (code === 'ENOENT' && path.dirname(folder) !== folder) {
      makeFolder(files, path.dirname(folder));
      files.mkdirSync(folder);
    } else throw error;
  }
}

/**
 * @param {Record<string, string>} names name in the checksums file → path written earlier in the job
 * @param {Map<string, string | Uint8Array>} written
 * @returns {string}
 */
function checksumsJson(names, written) {
  /** @type {Record<string, string>} */
  const sums = {};
  for (const [name, file] of Object.entries(names)) {
    const data = written.get(file);
    if (data === undefined) throw new Error(`writeChecksums: ${file} was not written earlier in the job`);
    sums[name] = createHash('sha256').update(data).digest('hex');
  }
  return `${JSON.stringify({ algorithm: 'sha256', files: sums }, null, 2)}\n`;
}
