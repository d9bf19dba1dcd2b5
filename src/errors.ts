/**
 * Errors meant for people. Anything thrown as an `MtlError` is printed as its message (no stack trace) and
 * turned into the process exit code; anything else is a bug and is reported with its stack.
 */
export const ExitCode = {
  ok: 0,
  runFailed: 1,
  usage: 2,
  /**
   * A CI gate of `mtl compare` failed (--fail-on-regression, --fail-if): the comparison itself worked, so a script
   * can tell "the new run is worse" (3) from "the command was wrong" (2) and "a run failed" (1).
   */
  gateFailed: 3,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class MtlError extends Error {
  readonly exitCode: ExitCodeValue;
  /** Extra lines (one per problem) printed under the message, e.g. every schema violation of a config. */
  readonly details: string[];
  constructor(message: string, options: { exitCode?: ExitCodeValue; details?: string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MtlError';
    this.exitCode = options.exitCode ?? ExitCode.usage;
    this.details = options.details ?? [];
  }
  /** The whole text shown to a user. */
  format(): string {
    return [this.message, ...this.details.map((d) => `  - ${d}`)].join('\n');
  }
}

/** A user mistake in a config, a flag or an input file: exit code 2. */
export class UsageError extends MtlError {
  constructor(message: string, details: string[] = []) {
    super(message, { exitCode: ExitCode.usage, details });
    this.name = 'UsageError';
  }
}

/** Training or evaluation could not finish: exit code 1. */
export class RunFailedError extends MtlError {
  constructor(message: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.runFailed, cause });
    this.name = 'RunFailedError';
  }
}
