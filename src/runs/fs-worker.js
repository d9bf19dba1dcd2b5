// The background file-system worker that BackgroundTasks (atomic.ts) starts: it runs each job it is sent, in order,
// and answers with the job's id and, if it failed, its error. Plain JavaScript for the reason given in fs-steps.js.
import * as files from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { runFsSteps } from './fs-steps.js';

/**
 * A job sent to the worker.
 * @typedef {{ id: number, job: import('./fs-steps.js').FsJob }} FsWorkerRequest
 */

/**
 * The worker's answer to a request: `error` when the job failed (its message and, for system errors, its code).
 * @typedef {{ id: number, error?: { message: string, code?: string } }} FsWorkerReply
 */

/** @param {unknown} error */
function describe(error) {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  return code === undefined ? { message: error.message } : { message: error.message, code };
}

const port = parentPort;
if (port === null) throw new Error('fs-worker.js runs as a worker thread, started by BackgroundTasks (runs/atomic.ts)');
port.on('message', (/** @type {FsWorkerRequest} */ { id, job }) => {
  /** @type {FsWorkerReply} */
  let reply = { id };
  try {
    runFsSteps(job, files);
  } catch (error) {
    reply = { id, error: describe(error) };
  }
  port.postMessage(reply);
});
