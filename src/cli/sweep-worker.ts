import { serveSweepWorker } from '../api/sweep-worker.js';
import { ExitCode } from '../errors.js';
import { withInterrupts } from './interrupts.js';
import { trainOutput } from './train-output.js';

/**
 * The hidden `mtl sweep-worker`: one worker process of `mtl sweep --jobs N` (api/sweep-worker.ts). Its epoch lines go
 * to stderr, which the coordinator shows prefixed with the worker (`[w2] epoch 3/6 …`). Ctrl-C and SIGTERM behave as
 * in `mtl train` (the first ends the trial `interrupted` with its checkpoint, the second stops at once).
 */
export async function sweepWorkerCommand(): Promise<number> {
  // Its output is a pipe to the coordinator: once that is gone (killed), a write fails with EPIPE. The worker must
  // still end its trial `interrupted` with a checkpoint, so such a failure is not let to crash it.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const { listeners } = trainOutput({ quiet: true });
  return withInterrupts(async (signal, targets) => {
    await serveSweepWorker({
      signal,
      ...(listeners ? { listeners } : {}),
      onRunCreated: (run) => {
        targets.run = run;
      },
    });
    return signal.aborted ? ExitCode.interrupted : ExitCode.ok;
  });
}
