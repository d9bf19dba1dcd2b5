import { ExitCode } from '../errors.js';
import { log } from './output.js';

/** What a second signal records before the process exits at once: the run in training, and its group if any. */
export interface InterruptTargets {
  run?: {
    id?: string;
    recordInterrupted(reason: string): Promise<void>;
    /** Whether training has ended and the run's final evaluation is under way. */
    finishing(): boolean;
    /** Whether the run has its final status: a signal then is not about it (RunHandle.ended). */
    ended(): boolean;
  };
  group?: { id?: string; recordInterrupted(reason: string): void };
  /**
   * What the command prints on stdout when it is stopped at once (a run's id, or its JSON): it never gets to print its
   * result, and `ID=$(mtl train …)` still needs the id to resume.
   */
  stdout?: () => void;
  /**
   * What the first signal says while no run of this process is training: a sweep's coordinator, whose trials train in
   * worker processes (each of which says its own).
   */
  notice?: (signal: NodeJS.Signals) => string;
}

/**
 * Runs `body` with SIGINT (Ctrl-C) and SIGTERM (kill, a scheduler's stop) handled alike: the first aborts the signal
 * `body` trains with (the current batch finishes and the run ends as `interrupted` with its checkpoints; once
 * training has ended, the final evaluation finishes); the second stops at once, recording the run (and its group) as
 * `interrupted` first; a third exits without waiting.
 */
export async function withInterrupts<T>(
  body: (signal: AbortSignal, targets: InterruptTargets) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const targets: InterruptTargets = {};
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++;
    // A run that has ended (a seed group's member before the next one starts) is left as it is.
    const ended = targets.run?.ended() === true ? targets.run : undefined;
    const run = ended ? undefined : targets.run;
    const finishing = run?.finishing() === true;
    if (interrupts === 1) {
      log(
        finishing
          ? `Interrupted (${signal}): training has ended; finishing the final evaluation (again to stop at once).`
          : run
            ? `Interrupted (${signal}): finishing the current batch and saving a checkpoint (again to stop at once).`
            : (targets.notice?.(signal) ??
              `Interrupted (${signal}): no run is training here${ended?.id ? ` (run ${ended.id} has ended)` : ''}; ` +
                'stopping (again to stop at once).'),
      );
      controller.abort();
    } else if (interrupts === 2 && run) {
      // In a seed group, resuming the group continues this member and trains the members after it.
      const resume = targets.group?.id
        ? `; resume the group with: mtl train --resume ${targets.group.id}`
        : run.id
          ? `; resume it with: mtl train --resume ${run.id}`
          : '';
      // The `last` checkpoint of an epoch's end is taken at most once a second: say where a resume starts. Once
      // training has ended (completed, or stopped by the first signal), its checkpoints are all written.
      log(
        finishing
          ? `Interrupted again (${signal}): stopping now, in the run's final evaluation (its checkpoints are all ` +
              `written)${resume}`
          : `Interrupted again (${signal}): stopping now; the run goes on from its last checkpoint, taken up to a ` +
              `second of training before${resume}`,
      );
      const reason = finishing
        ? `stopped at once by a second ${signal} during the final evaluation; its checkpoints are all written`
        : `stopped at once by a second ${signal}; the checkpoints are those written before it`;
      targets.group?.recordInterrupted(reason);
      void run.recordInterrupted(reason).finally(() => {
        targets.stdout?.();
        process.exit(ExitCode.interrupted);
      });
    } else {
      // No run of this process to record (it has ended, or none is training): the group, if any, is stopped.
      if (interrupts === 2) {
        const group = targets.group;
        log(
          `Interrupted again (${signal}): stopping now` +
            (group?.id ? `; resume the group with: mtl train --resume ${group.id}` : ''),
        );
      }
      targets.group?.recordInterrupted(`stopped at once by a ${signal}`);
      targets.stdout?.();
      process.exit(ExitCode.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(controller.signal, targets);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
