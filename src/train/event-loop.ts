/**
 * Giving the event loop a turn during long synchronous work: only at a turn can Node run a signal handler (Ctrl-C,
 * a scheduler's SIGTERM), a progress redraw or a finished background write.
 */

/** At most this long between turns: the progress bar redraws at 10 frames/s. */
export const YIELD_EVERY_MS = 100;

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A long computation written as a generator that yields between units of work (an evaluation batch's forward pass),
 * so that one body serves a caller that runs it straight through ({@link runSteps}) and one that must keep handling
 * signals while it runs ({@link runStepsYielding}).
 */
export type Steps<T> = Generator<void, T, void>;

export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** Runs `steps` with a turn of the event loop at most every {@link YIELD_EVERY_MS} (each costs ~0.2 ms). */
export async function runStepsYielding<T>(steps: Steps<T>): Promise<T> {
  let lastYield = performance.now();
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (performance.now() - lastYield > YIELD_EVERY_MS) {
      await yieldToEventLoop();
      lastYield = performance.now();
    }
  }
}
