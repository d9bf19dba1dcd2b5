/**
 * The machinery of test/bad-inputs.test.ts: a store holding one finished run (the "existing run" no bad command may
 * touch), copies of it to damage, a digest of a run folder, and the built CLI run as an unprivileged user where a
 * case needs a folder it may not write.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mtlAsync } from './cli-async.js';
import { mtl, mtlInProcess, root, type CliResult } from './cli.js';

export type DocumentedExitCode = 0 | 1 | 2 | 130;

/** What a case's command line may use. Every path is under `tmp`, which every user may read. */
export interface BadInputContext {
  /** A fresh folder for this case's files. */
  tmp: string;
  /** The store holding the existing run (and any copies made by {@link BadInputContext.copyRun}). */
  runsDir: string;
  /** The finished run made before any case ran; its files must stay as they were. */
  runId: string;
  runDir: string;
  /** A copy of the existing run under a new id, to damage without touching the original; returns its folder. */
  copyRun(suffix: string): string;
  /** Writes a file under `tmp` and returns its path. */
  file(name: string, text: string): string;
}

export interface BadInputCase {
  /** What the user does, as the catalogue (docs/bad-inputs.md) says it. */
  does: string;
  /** The command line after `mtl`. */
  args(context: BadInputContext): string[];
  exitCode: DocumentedExitCode;
  /** The first line of stderr (after `mtl: `) must match. */
  message: RegExp;
  /**
   * Run as a user without write access to folders the test made (uid 65534 when the tests run as root, where file
   * modes do not stop anything; otherwise the folders are made read-only instead).
   */
  unprivileged?: boolean;
}

/** A temp folder every user can enter and read (mkdtemp makes it 0700). */
export function sharedTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** Trains the tiny run the cases must leave alone; returns the context factory for each case. */
export function makeExistingRun(): ExistingRun {
  const base = sharedTempDir('mtl-bad-inputs-');
  const runsDir = path.join(base, 'runs');
  const config = path.join(root, 'configs', 'quickstart.yaml');
  const settings = ['training.epochs=1', 'data.options.samples=300', 'training.batch_size=64'];
  const trained = mtl(['train', config, '--runs-dir', runsDir, '--backend', 'wasm', ...settings.flatMap(setFlag)]);
  if (trained.code !== 0) throw new Error(`training the existing run failed:\n${trained.stderr}`);
  const runId = trained.stdout.trim();
  return { base, runsDir, runId, runDir: path.join(runsDir, runId) };
}

/** The store with the run no case may touch; `base` holds it and every case's temp folder. */
export interface ExistingRun {
  base: string;
  runsDir: string;
  runId: string;
  runDir: string;
}

function setFlag(setting: string): string[] {
  return ['--set', setting];
}

export function contextFor(existing: ExistingRun): BadInputContext {
  const tmp = mkdtempSync(path.join(existing.base, 'case-'));
  chmodSync(tmp, 0o755);
  return {
    runsDir: existing.runsDir,
    runId: existing.runId,
    runDir: existing.runDir,
    tmp,
    copyRun(suffix) {
      const id = `${existing.runId}-${suffix}`;
      const dir = path.join(existing.runsDir, id);
      cpSync(existing.runDir, dir, { recursive: true });
      const metaFile = path.join(dir, 'meta.json');
      const idField = (value: string): string => `"id": ${JSON.stringify(value)}`;
      writeFileSync(metaFile, readFileSync(metaFile, 'utf8').replace(idField(existing.runId), idField(id)));
      return dir;
    },
    file(name, text) {
      const file = path.join(tmp, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
  };
}

const NOBODY = 65534;

/** Whether this process can make a folder another user may not write (root: through that other user). */
export function runsAsRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The built CLI, as the case asks: as an unprivileged user when running as root, else as this user; or, `inProcess`,
 * the CLI's `main` in this process (helpers/cli.ts mtlInProcess: the same messages without a Node start-up; never
 * for a case that needs another user, nor for cases run at once).
 */
export function runCase(testCase: BadInputCase, args: string[], inProcess = false): Promise<CliResult> {
  const asOtherUser = testCase.unprivileged === true && runsAsRoot();
  if (inProcess && !asOtherUser) return mtlInProcess(args);
  return mtlAsync(
    args,
    asOtherUser ? { HOME: os.tmpdir() } : {},
    asOtherUser ? { uid: NOBODY, gid: NOBODY, timeout: 170_000 } : { timeout: 170_000 },
  );
}

/** A folder nobody but its owner may write: read-only for this user too where the tests do not run as root. */
export function unwritableDir(parent: string, name: string): string {
  const dir = path.join(parent, name);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o555);
  return dir;
}

/** Removes a folder tree, read-only folders made by the cases included. */
export function removeTree(dir: string): void {
  const makeWritable = (folder: string): void => {
    chmodSync(folder, 0o755);
    for (const entry of readdirSync(folder)) {
      const full = path.join(folder, entry);
      if (statSync(full).isDirectory()) makeWritable(full);
    }
  };
  makeWritable(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** Every file under a folder with a hash of its bytes: equal digests, untouched folder. */
export function folderDigest(dir: string): Record<string, string> {
  const digest: Record<string, string> = {};
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder).sort()) {
      // A command reading the run (an eval that then fails) holds its lock for a moment: not a change to the run.
      if (entry === 'run.lock') continue;
      const full = path.join(folder, entry);
      if (statSync(full).isDirectory()) walk(full);
      else digest[path.relative(dir, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return digest;
}
