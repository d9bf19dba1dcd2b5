// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell and GitHub Actions text; ${…} is theirs
/**
 * `mtl sweep` mishaps a QA pass found, each through the built CLI: a sweep folder this user may not write (exit 2,
 * one line naming it, no stack trace); a trial whose run folder cannot be locked (failed, not interrupted: the sweep
 * goes on, exit 1, a hint that fits the sweep); `--emit` passing `--jobs N` on to every job; the summary after Ctrl-C
 * (the interrupted trials counted, the stop said) and after a halving sweep run again (each trial counted once; "1
 * configuration", "1 epoch"); `sweep status --json` numbering trials as its text does; a damaged sweep.json's hint.
 */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { bin, type CliResult, mtl, root } from './helpers/cli.js';
import { mtlAsync } from './helpers/cli-async.js';
import { runsAsRoot } from './helpers/bad-inputs.js';
import { groupConfig } from './helpers/groups.js';
import { KILLABLE_SWEEP_BASE } from './helpers/sweeps.js';

const NOBODY = 65534;
const GRID = 'base: base.yaml\nspace:\n  training.lr: [0.001, 0.003]\nseeds: [0, 1]\n';

interface StatusJson {
  id: string;
  best?: { index: number; trial: number; id: string };
  trials: { index: number; trial: number; id: string; hash: string; status: string }[];
}

/** A folder holding base.yaml and the sweep file, readable by every user (the store goes in it too). */
function sweepFolder(sweep: string, base = groupConfig()): { dir: string; file: string; store: string } {
  const dir = tempDir('mtl-sweep-mishaps-');
  chmodSync(dir, 0o755);
  writeFileSync(path.join(dir, 'base.yaml'), base);
  const file = path.join(dir, 'sweep.yaml');
  writeFileSync(file, sweep);
  return { dir, file, store: path.join(dir, 'runs') };
}

/**
 * `mtl …args` as a user who may not write what this user made: as root, user nobody (root writes anything);
 * otherwise this user, the folders being made read-only by the test.
 */
function asOtherUser(args: string[]): Promise<CliResult> {
  return runsAsRoot()
    ? mtlAsync(args, { HOME: os.tmpdir() }, { uid: NOBODY, gid: NOBODY, timeout: 170_000 })
    : mtlAsync(args, {}, { timeout: 170_000 });
}

/** Every file under `dir` with its bytes and mtime, and every folder: equal listings, nothing written. */
function listingOf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map((entry) => {
      const full = path.join(dir, entry);
      const stat = statSync(full);
      return stat.isDirectory() ? `${entry}/` : `${entry} ${stat.mtimeMs} ${readFileSync(full).toString('base64')}`;
    });
}

function metaStatus(trialDir: string): string {
  return (JSON.parse(readFileSync(path.join(trialDir, 'meta.json'), 'utf8')) as { status: string }).status;
}

describe('mtl sweep on a store it may not write', () => {
  const trained = sweepFolder(GRID);
  let status: StatusJson;

  beforeAll(() => {
    const result = mtl(['sweep', trained.file, '--runs-dir', trained.store, '--jobs', '1']);
    expect(result.code, result.stderr).toBe(0);
    status = JSON.parse(mtl(['sweep', 'status', trained.file, '--json', '--runs-dir', trained.store]).stdout);
    chmodSync(trained.store, 0o755);
  });

  /** A copy of the trained sweep's folder (its own store), for a test that changes it. */
  function copyOfSweep(): { file: string; store: string; sweepDir: string } {
    const copy = sweepFolder(GRID);
    cpSync(trained.store, copy.store, { recursive: true });
    chmodSync(copy.store, 0o755);
    return { file: copy.file, store: copy.store, sweepDir: path.join(copy.store, status.id) };
  }

  it.each([[['--jobs', '1']], [['--jobs', '2']], [['--retry-failed']]])(
    'an existing sweep folder it may not write (%j): exit 2 naming sweep.json and the folder, nothing written',
    async (flags) => {
      const { file, store, sweepDir } = copyOfSweep();
      chmodSync(sweepDir, 0o555); // as root the CLI runs as nobody, for whom the folder root made is read-only anyway
      const before = listingOf(sweepDir);
      const result = await asOtherUser(['sweep', file, '--runs-dir', store, ...flags]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr.split('\n')[0]).toBe(
        `mtl: Cannot write sweep.json in the sweep folder ${sweepDir}: permission denied (EACCES).`,
      );
      expect(result.stderr).toContain('give your user write access to it, or choose another runs folder');
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(listingOf(sweepDir)).toEqual(before);
    },
  );

  it.each([['1'], ['2']])(
    'a trial whose run folder cannot be locked fails, not interrupted; the others train (--jobs %s), exit 1',
    async (jobs) => {
      const { file, store, sweepDir } = copyOfSweep();
      const [first, second, third, fourth] = status.trials;
      // Trials 1 and 2 as a Ctrl-C leaves them (resumable); 3 and 4 not trained yet.
      for (const trial of [first!, second!]) {
        const metaFile = path.join(sweepDir, trial.hash, 'meta.json');
        writeFileSync(
          metaFile,
          readFileSync(metaFile, 'utf8').replace('"status": "completed"', '"status": "interrupted"'),
        );
      }
      for (const trial of [third!, fourth!]) rmSync(path.join(sweepDir, trial.hash), { recursive: true });
      // The sweep folder and its locks are writable by the other user; the two trials' own folders are not.
      for (const folder of [
        sweepDir,
        path.join(sweepDir, 'locks'),
        ...status.trials.map((t) => lockDir(sweepDir, t)),
      ]) {
        if (existsSync(folder)) chmodSync(folder, 0o777);
      }
      if (!runsAsRoot()) for (const trial of [first!, second!]) chmodSync(path.join(sweepDir, trial.hash), 0o555);

      const result = await asOtherUser(['sweep', file, '--runs-dir', store, '--jobs', jobs]);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
      for (const trial of [first!, second!]) {
        expect(result.stderr).toMatch(new RegExp(`trial ${trial.trial}/4 ${trial.id}: failed\\n`));
        expect(result.stderr).not.toContain(`${trial.id}: interrupted`);
      }
      expect(result.stderr).toMatch(/Cannot lock the run: .*\/run\.lock cannot be created \(EACCES/);
      expect(result.stderr).toContain('- mtl sweep takes its lock in ');
      expect(result.stderr).not.toContain('mtl eval');
      expect(result.stderr).toMatch(/2 failed or diverged(?!; \d+ interrupted)/);
      expect(result.stderr).not.toContain('stopped by an interrupt');
      // --keep-going (the default): the other trials trained.
      for (const trial of [third!, fourth!]) expect(metaStatus(path.join(sweepDir, trial.hash))).toBe('completed');
      // The runs that could not be locked are as they were: a re-run with the access fixed resumes them.
      for (const trial of [first!, second!]) expect(metaStatus(path.join(sweepDir, trial.hash))).toBe('interrupted');
      const recorded = JSON.parse(readFileSync(path.join(sweepDir, 'sweep.json'), 'utf8')) as StatusJson;
      expect(recorded.trials.map((t) => t.status)).toEqual(['interrupted', 'interrupted', 'completed', 'completed']);
    },
  );

  it('sweep status --json numbers each trial as the text output does: trial = index + 1, the best one too', () => {
    expect(status.trials.map((t) => [t.index, t.trial])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
    ]);
    expect(status.best).toBeDefined();
    expect(status.best?.trial).toBe((status.best?.index ?? -1) + 1);
    const text = mtl(['sweep', 'status', trained.file, '--runs-dir', trained.store]);
    expect(text.stdout).toMatch(new RegExp(`^${status.best?.trial} +${status.best?.id} `, 'm'));
  });

  it('a damaged sweep.json: exit 2 naming it, with a hint that fits a sweep (not "delete the run")', () => {
    const { file, store, sweepDir } = copyOfSweep();
    const sweepJson = path.join(sweepDir, 'sweep.json');
    const good = readFileSync(sweepJson, 'utf8');
    for (const damaged of ['{ "format": 1, "kind": "sw', good.replace('"trials": [', '"trials": 3, "x": [')]) {
      writeFileSync(sweepJson, damaged);
      for (const args of [
        ['sweep', 'status', file, '--runs-dir', store],
        ['sweep', file, '--runs-dir', store, '--jobs', '1'],
      ]) {
        const result = mtl(args);
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toMatch(/^mtl: .*sweep\.json(?: is not valid JSON|: trials should be a list)/);
        expect(result.stderr).toContain(
          'restore it from a backup, or delete it and run mtl sweep on the sweep file again (it writes sweep.json ' +
            'anew; trials already trained are kept and skipped)',
        );
        expect(result.stderr).not.toContain('delete the run');
        expect(result.stderr).not.toMatch(/\n\s+at /);
      }
    }
    // The hint holds: without the file, the sweep run again writes it anew and trains nothing.
    rmSync(sweepJson);
    const again = mtl(['sweep', file, '--runs-dir', store, '--jobs', '1']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('0 trained, 0 resumed, 4 skipped');
    expect(JSON.parse(readFileSync(sweepJson, 'utf8'))).toMatchObject({
      id: status.id,
      trials: status.trials.map((t) => ({ hash: t.hash, status: 'completed' })),
    });
  });
});

function lockDir(sweepDir: string, trial: { hash: string }): string {
  return path.join(sweepDir, 'locks', trial.hash);
}

describe('mtl sweep --emit passes --jobs on', () => {
  it('each job of every form runs its shard with --jobs N, as the header says; a bad --jobs exits 2', async () => {
    const { file } = sweepFolder(GRID);
    const flags = ['--shards', '2', '--jobs', '3', '--backend', 'wasm', '--fail-fast'];
    // Each form's job command: the flags given to --emit, --jobs first, then the job's own --shard.
    const flagsPassed = '--runs-dir runs --jobs 3 --backend wasm --fail-fast --shard';
    const jobLine: Record<string, string> = {
      shell: `$MTL sweep ${file} ${flagsPassed} "$shard/2" &`,
      slurm: `exec $MTL sweep ${file} ${flagsPassed} "\${SLURM_ARRAY_TASK_ID}/2"`,
      k8s: `exec $MTL sweep ${file} ${flagsPassed} "$shard/2"`,
      'github-matrix': `$MTL sweep ${file} ${flagsPassed} "\${{ matrix.shard }}/2"`,
    };
    for (const [form, line] of Object.entries(jobLine)) {
      const result = mtl(['sweep', file, '--emit', form, ...flags]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(line);
      expect(result.stdout).toContain(`--emit ${form} --shards 2 --jobs 3 --backend wasm --fail-fast`);
    }
    const bad = mtl(['sweep', file, '--emit', 'slurm', '--jobs', '0']);
    expect([bad.code, bad.stdout]).toEqual([2, '']);
    expect(bad.stderr).toContain('--jobs "0": expected a whole number of worker processes ≥ 1');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    // A halving sweep is one job, which uses --jobs on its machine.
    const halving = sweepFolder(
      'base: base.yaml\nsearch: halving\nhalving: { metric: loss, min_epochs: 1, max_epochs: 2, eta: 2 }\n' +
        'space:\n  training.lr: [0.001, 0.003]\n',
    );
    const one = mtl(['sweep', halving.file, '--emit', 'slurm', '--jobs', '2']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/--runs-dir runs --jobs 2 --shard "\$\{SLURM_ARRAY_TASK_ID\}\/1"/);
  });
});

/** Starts `mtl sweep …` and sends SIGINT once stderr matches `when`; resolves with its exit code and output. */
function interruptWhen(args: string[], when: RegExp): Promise<CliResult> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, CI: 'true' } });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (!sent && when.test(stderr)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

describe('the summary after an interruption', () => {
  it('Ctrl-C in a trial: the summary counts it interrupted and says the sweep stopped; exit 130', async () => {
    const { file, store } = sweepFolder(
      'base: base.yaml\nspace:\n  training.lr: [0.001, 0.002]\n',
      KILLABLE_SWEEP_BASE,
    );
    const result = await interruptWhen(['sweep', file, '--runs-dir', store, '--jobs', '1'], /epoch 3\//);
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toMatch(/: interrupted\n/);
    expect(result.stderr).toContain(
      '1 trained, 0 resumed, 0 skipped, 0 left to another process; 0 failed or diverged; 1 interrupted\n',
    );
    expect(result.stderr).toContain(
      'stopped by an interrupt (Ctrl-C or SIGTERM): run the sweep again to resume the interrupted trials',
    );
  });

  const halvingTitle =
    'a halving sweep interrupted in an extension, run again: each trial counted once; ' +
    '"1 configuration", "1 epoch"';
  it(halvingTitle, async () => {
    const { file, store } = sweepFolder(
      'base: base.yaml\nsearch: halving\nhalving: { metric: mean/loss, min_epochs: 1, max_epochs: 6, eta: 6 }\n' +
        'space:\n  training.lr: [0.001, 0.002, 0.004]\n',
      KILLABLE_SWEEP_BASE,
    );
    const args = ['sweep', file, '--runs-dir', store, '--jobs', '1'];
    const first = await interruptWhen(args, /: extending\n(?:[^\n]*\n)*?epoch 2\/6/);
    expect(first.code, first.stderr).toBe(130);
    expect(first.stderr).toContain('3 trained, 0 resumed, 1 extended, 0 skipped');
    expect(first.stderr).toContain('; 1 interrupted');
    expect(first.stderr).toContain('rung 0 (1 epoch): 3 configurations, 1 promoted');
    expect(first.stderr).toContain('rung 1 (6 epochs): 1 configuration, not decided');
    // Run again: the interrupted trial is resumed (asked for at rung 0, it trains on to its 6 epochs) and then
    // found done at rung 1: one trial resumed, the two others skipped: 3 trials, not 4.
    const again = mtl(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('0 trained, 1 resumed, 0 extended, 2 skipped, 0 left to another process');
    expect(again.stderr).toContain('rung 1 (6 epochs): 1 configuration at the last rung');
    const compared = mtl(['compare', '--sweep', file, '--runs-dir', store]);
    expect(compared.code, compared.stderr).toBe(0);
    expect(compared.stderr).toContain('(completed: stopped at 1 epoch, not the largest budget)');
  });
});
