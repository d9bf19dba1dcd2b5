import { existsSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, MtlError } from '../errors.js';

/**
 * A file-system failure told to a person: what could not be done to which path, why in words, and what to do. The
 * exit code follows the cause, not the command: a path mtl may not write (permissions, a read-only file system) or a
 * file where a folder should be is the user's to fix before anything runs (2, as a bad flag); a full disk is a run
 * that could not finish (1).
 */
export function fileSystemError(
  error: unknown,
  action: string,
  target: string,
  /** What to do instead, where the cause is the path (a file the user named, not the runs folder). */
  pathRemedy?: string,
): MtlError | undefined {
  const code = errnoCode(error);
  const reason = code === undefined ? undefined : REASONS[code];
  if (!reason) return undefined;
  const remedy = pathRemedy && reason.exitCode === ExitCode.usage ? pathRemedy : reason.remedy;
  return new MtlError(`Cannot ${action} ${target}: ${reason.why} (${code}).`, {
    exitCode: reason.exitCode,
    details: [remedy],
    cause: error,
  });
}

/**
 * A file or folder the user named (`-o FILE`) that could not be written, told as {@link fileSystemError} does, with
 * `choose another file with FLAG`. ENOENT although the folder it goes in exists (procfs, sysfs: `-o /proc/version`)
 * means its file system makes nothing new there: "it does not exist" would send the user looking for a typo in a
 * path that is there (make-dirs.ts says the same of folders). Anything else not a person's to fix: the error itself.
 */
export function outputFileError(error: unknown, target: string, flag: string): unknown {
  const remedy = `choose another file with ${flag}`;
  const failed = error instanceof Error && 'path' in error && typeof error.path === 'string' ? error.path : undefined;
  const folder = failed === undefined ? undefined : path.dirname(failed);
  if (errnoCode(error) === 'ENOENT' && folder !== undefined && existsSync(folder)) {
    return new MtlError(
      `Cannot write ${target}: its file system makes no new files or folders in ${folder} (ENOENT).`,
      {
        exitCode: ExitCode.usage,
        details: [remedy],
        cause: error,
      },
    );
  }
  return fileSystemError(error, 'write', target, remedy) ?? error;
}

/** {@link fileSystemError}, or the error itself when its cause is not one a person can act on (a bug). */
export function asFileSystemError(error: unknown, action: string, target: string): unknown {
  return fileSystemError(error, action, target) ?? error;
}

export function errnoCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

interface Reason {
  why: string;
  remedy: string;
  exitCode: (typeof ExitCode)[keyof typeof ExitCode];
}

const NOT_WRITABLE: Reason = {
  why: 'permission denied',
  remedy: 'give your user write access to it, or choose another runs folder with --runs-dir or MTL_RUNS_DIR',
  exitCode: ExitCode.usage,
};

const REASONS: Readonly<Record<string, Reason>> = {
  EACCES: NOT_WRITABLE,
  EPERM: NOT_WRITABLE,
  EROFS: { ...NOT_WRITABLE, why: 'the file system is read-only' },
  ENOTDIR: {
    why: 'a file is in the way where a folder should be',
    remedy: 'move the file away, or choose another runs folder with --runs-dir or MTL_RUNS_DIR',
    exitCode: ExitCode.usage,
  },
  EEXIST: {
    why: 'a file is in the way where a folder should be',
    remedy: 'move the file away, or choose another runs folder with --runs-dir or MTL_RUNS_DIR',
    exitCode: ExitCode.usage,
  },
  EISDIR: {
    why: 'it is a folder, not a file',
    remedy: 'name a file',
    exitCode: ExitCode.usage,
  },
  ENOENT: {
    why: 'it does not exist',
    remedy: 'check the path (relative paths start at the current folder)',
    exitCode: ExitCode.usage,
  },
  ENOTSUP: {
    why: 'its file system makes no folders there',
    remedy: 'choose another runs folder with --runs-dir or MTL_RUNS_DIR',
    exitCode: ExitCode.usage,
  },
  ENOSPC: {
    why: 'the disk is full',
    remedy: 'free some space (old runs, checkpoints) or choose another runs folder with --runs-dir',
    exitCode: ExitCode.runFailed,
  },
  EDQUOT: {
    why: 'the disk quota is used up',
    remedy: 'free some space (old runs, checkpoints) or choose another runs folder with --runs-dir',
    exitCode: ExitCode.runFailed,
  },
};
