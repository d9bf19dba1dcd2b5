import { createHash } from 'node:crypto';
/**
 * The catalogue of bad inputs (docs/bad-inputs.md), run through the built CLI: each case exits with its documented
 * code, says what is wrong on its first stderr line, prints no stack frame and nothing on stdout, and leaves the run
 * made before it exactly as it was. To add a case, add a row to BAD_INPUTS.
 */
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  contextFor,
  folderDigest,
  makeExistingRun,
  removeTree,
  runCase,
  runsAsRoot,
  unwritableDir,
  type BadInputCase,
} from './helpers/bad-inputs.js';

const QUICKSTART = 'configs/quickstart.yaml';
const TINY = ['--set', 'training.epochs=1', '--set', 'data.options.samples=300', '--backend', 'wasm'];

/** Damages a copy's best checkpoint weights: `damage` gets the bytes and returns what to write back. */
/**
 * Changes (or removes) the best checkpoint's weights.bin. `resum`: also write its new sha256 into checksums.json, as
 * training would have for weights it wrote that way (NaN weights); otherwise the checksum finds the damage first.
 */
function damageWeights(runDir: string, damage: (bytes: Buffer) => Buffer | undefined, resum = false): void {
  const folder = path.join(runDir, 'checkpoints', 'best');
  const file = path.join(folder, 'weights.bin');
  const changed = damage(readFileSync(file));
  if (changed) writeFileSync(file, changed);
  else rmSync(file);
  if (resum && changed) {
    const sums = path.join(folder, 'checksums.json');
    const json = JSON.parse(readFileSync(sums, 'utf8')) as { files: Record<string, string> };
    json.files['weights.bin'] = createHash('sha256').update(changed).digest('hex');
    writeFileSync(sums, JSON.stringify(json));
  }
}

const BAD_INPUTS: BadInputCase[] = [
  {
    does: '`mtl eval RUN --data missing.csv` (the file does not exist)',
    args: (c) => ['eval', c.runId, '--runs-dir', c.runsDir, '--data', path.join(c.tmp, 'missing.csv')],
    exitCode: 2,
    message: /^CSV file not found: .*missing\.csv$/,
  },
  {
    does: '`mtl eval RUN --split val --data new.csv` (--split would be ignored)',
    args: (c) => ['eval', c.runId, '--runs-dir', c.runsDir, '--split', 'val', '--data', path.join(c.tmp, 'x.csv')],
    exitCode: 2,
    message: /^--split picks rows of the run's own data; with --data every row of the file is evaluated\.$/,
  },
  {
    does: '`mtl runs RUN` (a run where a seed group goes)',
    args: (c) => ['runs', c.runId, '--runs-dir', c.runsDir],
    exitCode: 2,
    message: /^"\S+" names the run \S+, not a seed group: mtl runs GROUP lists a group's members\.$/,
  },
  {
    does: '`mtl runs NOPE` (neither a group nor a run)',
    args: (c) => ['runs', 'NOPE', '--runs-dir', c.runsDir],
    exitCode: 2,
    message: /^No group "NOPE" in \S+ \(it has no groups\)\. Name a group by id, unique id prefix, or path/,
  },
  {
    does: '`mtl eval RUN --data FOLDER` (a folder, not a CSV file)',
    args: (c) => ['eval', c.runId, '--runs-dir', c.runsDir, '--data', c.tmp],
    exitCode: 2,
    message: /is a folder, not a CSV file\.$/,
  },
  {
    does: '`mtl train CONFIG --runs-dir FILE` (the runs folder is a file)',
    args: (c) => ['train', QUICKSTART, ...TINY, '--runs-dir', c.file('runs-file', 'not a folder\n')],
    exitCode: 2,
    message: /^Cannot create the runs folder .*runs-file: a file is in the way where a folder should be \(EEXIST\)\.$/,
  },
  {
    does: '`mtl train CONFIG --runs-dir FILE/sub` (a file in the runs folder path)',
    args: (c) => ['train', QUICKSTART, ...TINY, '--runs-dir', path.join(c.file('runs-file', 'x\n'), 'sub')],
    exitCode: 2,
    message: /^Cannot create the runs folder .*runs-file\/sub: a file is in the way .*\(ENOTDIR\)\.$/,
  },
  {
    // Node's recursive mkdirSync spun for ever here (procfs answers ENOENT under /proc), deaf to SIGTERM.
    does: '`mtl train CONFIG --runs-dir /proc/x/sub` (a file system that makes no folders)',
    args: () => ['train', QUICKSTART, ...TINY, '--runs-dir', '/proc/mtl-runs/sub'],
    exitCode: 2,
    message:
      /^Cannot create the runs folder \/proc\/mtl-runs\/sub: its file system makes no folders there \(ENOTSUP\)\.$/,
  },
  {
    does: '`mtl runs --runs-dir FILE` (the runs folder is a file)',
    args: (c) => ['runs', '--runs-dir', c.file('runs-file', 'not a folder\n')],
    exitCode: 2,
    message: /^Cannot list the runs folder .*runs-file: a file is in the way where a folder should be \(ENOTDIR\)\.$/,
  },
  {
    does: '`mtl compare RUN --runs-dir FILE` (the runs folder is a file)',
    args: (c) => ['compare', c.runId, '--runs-dir', c.file('runs-file', 'not a folder\n')],
    exitCode: 2,
    message: /^Cannot list the runs folder .*runs-file: a file is in the way/,
  },
  {
    does: '`mtl train CONFIG --runs-dir DIR` where DIR is not writable',
    args: (c) => ['train', QUICKSTART, ...TINY, '--runs-dir', unwritableDir(c.tmp, 'read-only-runs')],
    exitCode: 2,
    message: /^Cannot create a run folder in .*read-only-runs: permission denied \(EACCES\)\.$/,
    unprivileged: true,
  },
  {
    does: '`mtl train CONFIG --runs-dir DIR/new` where DIR is not writable (the runs folder cannot be made)',
    args: (c) => ['train', QUICKSTART, ...TINY, '--runs-dir', path.join(unwritableDir(c.tmp, 'read-only'), 'runs')],
    exitCode: 2,
    message: /^Cannot create the runs folder .*read-only\/runs: permission denied \(EACCES\)\.$/,
    unprivileged: true,
  },
  {
    does: '`mtl eval RUN` where the run folder is not writable (the result cannot be stored)',
    args: (c) => {
      const dir = c.copyRun('read-only');
      if (!runsAsRoot()) chmodSync(dir, 0o555); // as root the CLI runs as another user, for whom it is read-only
      return ['eval', dir, '--runs-dir', c.runsDir];
    },
    exitCode: 2,
    // The run's lock is the first thing eval writes into the run.
    message: /^Cannot lock the run: .*-read-only\/run\.lock cannot be created \(EACCES/,
    unprivileged: true,
  },
  {
    does: '`mtl eval RUN` where checkpoints/best/weights.bin is truncated',
    args: (c) => {
      const dir = c.copyRun('truncated');
      damageWeights(dir, (bytes) => bytes.subarray(0, 1000));
      return ['eval', dir, '--runs-dir', c.runsDir];
    },
    exitCode: 2,
    message: /^Checkpoint .*best: weights\.bin does not match its checksum in checksums\.json \(1000 bytes\)/,
  },
  {
    does: '`mtl eval RUN` where checkpoints/best/weights.bin is missing',
    args: (c) => {
      const dir = c.copyRun('no-weights');
      damageWeights(dir, () => undefined);
      return ['eval', dir, '--runs-dir', c.runsDir];
    },
    exitCode: 2,
    message: /^Checkpoint file .*best\/weights\.bin is missing; the checkpoint is incomplete\.$/,
  },
  {
    does: '`mtl eval RUN` where the checkpoint holds NaN weights (a model that diverged)',
    args: (c) => {
      const dir = c.copyRun('nan-weights');
      damageWeights(
        dir,
        (bytes) => {
          const changed = Buffer.from(bytes);
          changed.writeFloatLE(Number.NaN, 0);
          return changed;
        },
        true,
      );
      return ['eval', dir, '--runs-dir', c.runsDir];
    },
    exitCode: 1,
    message: /^Checkpoint .*best holds 1 non-finite weights \(NaN or ±Infinity\) in "[^"]+": the model had diverged/,
  },
  {
    does: '`mtl compare RUN` of a run whose test split was empty (no test metrics)',
    args: (c) => {
      const dir = c.copyRun('no-test');
      const file = path.join(dir, 'summary.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/"test": \{[^}]*\}/, '"test": {}'));
      return ['compare', dir, '--runs-dir', c.runsDir, '--metric', 'accuracy'];
    },
    exitCode: 2,
    message: /^Run \S+ has no test metrics: its test split was empty\.$/,
  },
  {
    does: '`mtl eval NO-SUCH-RUN`',
    args: (c) => ['eval', 'no-such-run', '--runs-dir', c.runsDir],
    exitCode: 2,
    message: /^No run "no-such-run" in /,
  },
  {
    does: '`mtl eval RUN --split holdout`',
    args: (c) => ['eval', c.runId, '--runs-dir', c.runsDir, '--split', 'holdout'],
    exitCode: 2,
    message: /^--split "holdout": expected train, val or test\.$/,
  },
  {
    does: '`mtl eval RUN --checkpoint first`',
    args: (c) => ['eval', c.runId, '--runs-dir', c.runsDir, '--checkpoint', 'first'],
    exitCode: 2,
    message: /^--checkpoint "first": expected best or last\.$/,
  },
  {
    does: '`mtl compare RUN --metric acuracy` (a metric the runs do not report)',
    args: (c) => ['compare', c.runId, '--runs-dir', c.runsDir, '--metric', 'acuracy'],
    exitCode: 2,
    message: /^No metric "acuracy" in these runs; did you mean "accuracy"\?$/,
  },
  {
    does: '`mtl compare RUN --split train`',
    args: (c) => ['compare', c.runId, '--runs-dir', c.runsDir, '--split', 'train'],
    exitCode: 2,
    message: /^--split "train": expected val or test\.$/,
  },
  {
    does: '`mtl train missing.yaml`',
    args: (c) => ['train', path.join(c.tmp, 'missing.yaml'), '--runs-dir', c.runsDir],
    exitCode: 2,
    message: /^Config file not found: .*missing\.yaml\. Pass the path of a YAML experiment config/,
  },
];

describe('bad inputs through the built CLI: documented exit code, a clear message, no stack trace', () => {
  let existing: ReturnType<typeof makeExistingRun>;
  let before: Record<string, string>;
  beforeAll(() => {
    existing = makeExistingRun();
    before = folderDigest(existing.runDir);
  }, 60_000);
  afterAll(() => removeTree(existing.base));

  // Concurrent: each case is a process of its own, mostly loading TF.js; the existing run is checked after each.
  it.concurrent.each(BAD_INPUTS.map((c) => [c.does, c] as const))('%s', async (_does, testCase) => {
    const context = contextFor(existing);
    const result = await runCase(testCase, testCase.args(context));
    // Lines before it may say what was read (the data report of `train`); the error is the first `mtl: ` line.
    const lines = result.stderr.split('\n');
    const firstLine = lines.find((line) => line.startsWith('mtl: ')) ?? lines[0] ?? '';
    expect(result.stderr, 'a stack frame reached stderr').not.toMatch(/^\s+at /m);
    expect(result.stderr).not.toContain('internal error');
    expect(result.code, result.stderr).toBe(testCase.exitCode);
    expect(firstLine.replace(/^mtl: /, ''), result.stderr).toMatch(testCase.message);
    expect(result.stdout, 'stdout carries data only').toBe('');
    expect(folderDigest(existing.runDir), 'the existing run was modified').toEqual(before);
  });
});
