/**
 * Several mtl processes on one run store at once (README "What happens when…": two runs at once, two evals at once):
 * parallel trainings get their own ids and files; commands that change an existing run take its lock and never
 * interleave; readers never see a half-written file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { listRuns } from '../src/api/runs.js';
import { trainExperiment } from '../src/api/train.js';
import { readEvaluations, saveEvaluation } from '../src/runs/evals.js';
import { lockFile } from '../src/runs/layout.js';
import { acquireRunLock, readRunLock } from '../src/runs/lock.js';
import { readMeta } from '../src/runs/meta.js';
import { readSummary } from '../src/runs/summary.js';
import { tempDir, writeFile } from './helpers.js';
import { bin, root } from './helpers/cli.js';
import { mtlAsync } from './helpers/cli-async.js';
import { tinyRegressionConfig } from './helpers/configs.js';
import { writeLinearRegressionCsv } from './helpers/csv.js';
import { FINISHED_RUN_FILES } from './helpers/runs.js';

const noStack = /\n\s+at /;

/** A two-task regression on 40 rows, as a YAML file for the CLI; every run of it gives the same metrics. */
function tinyConfigFile(epochs: number): string {
  const dir = tempDir();
  writeLinearRegressionCsv(dir, 'tiny.csv', {
    seed: 3,
    rows: 40,
    features: 4,
    targets: [
      { weights: [1, -1, 0.5, 0], noise: 0.1 },
      { weights: [0, 0.5, 1, -1], noise: 0.1 },
    ],
  });
  return writeFile(
    dir,
    'tiny.yaml',
    [
      'name: same-name',
      'seed: 1',
      'backend: wasm',
      'data: { csv: tiny.csv }',
      'tasks:',
      '  - { name: a, type: regression, target: y1 }',
      '  - { name: b, type: regression, target: y2 }',
      'model: { trunk: [{ type: dense, units: 8 }] }',
      `training: { epochs: ${epochs}, batch_size: 8 }`,
      '',
    ].join('\n'),
  );
}

/** Every file under `dir` (relative path → hash of its bytes and its mtime), to show nothing was touched. */
function snapshot(dir: string, skip: (relative: string) => boolean = () => false): Record<string, string> {
  const files: Record<string, string> = {};
  const visit = (relative: string): void => {
    const full = path.join(dir, relative);
    if (statSync(full).isDirectory()) {
      for (const entry of readdirSync(full)) visit(path.join(relative, entry));
    } else if (!skip(relative)) {
      const hash = createHash('sha256').update(readFileSync(full)).digest('hex');
      files[relative] = `${hash} ${statSync(full).mtimeMs}`;
    }
  };
  visit('');
  return files;
}

/** Every path under `dir`, relative, sorted. */
function allPaths(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('runs at once', () => {
  it('eight `mtl train` into one runs directory: eight ids, each run with its own complete files', async () => {
    const config = tinyConfigFile(3);
    const store = tempDir();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => mtlAsync(['train', config, '--runs-dir', store, '--quiet'])),
    );
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const ids = results.map((r) => r.stdout.trim());
    expect(new Set(ids).size).toBe(8);
    for (const [i, id] of ids.entries()) expect(results[i]?.stderr).toContain(`run ${id} (`);
    // Nothing else in the store: no temp folders, no half-claimed ids.
    expect(readdirSync(store).sort()).toEqual([...ids].sort());

    const metricLogs = new Set<string>();
    for (const id of ids) {
      const dir = path.join(store, id);
      // A CSV run also records its data file (data-source.json: path, size, sha256).
      expect(readdirSync(dir).sort()).toEqual([...FINISHED_RUN_FILES, 'data-source.json'].sort());
      expect(readdirSync(path.join(dir, 'checkpoints')).sort()).toEqual(['best', 'last']);
      // No temp file or replaced folder left behind by an atomic write.
      expect(allPaths(dir).filter((p) => /(^|\/)\.|\.tmp$|\.old$/.test(p))).toEqual([]);
      const meta = readMeta(dir);
      expect(meta).toMatchObject({
        id,
        name: 'same-name',
        status: 'completed',
        epochsCompleted: 3,
        configFile: config,
      });
      expect(readSummary(dir, id)).toMatchObject({ id, dir, status: 'completed', epochs: 3 });
      const epochs = readFileSync(path.join(dir, 'epochs.jsonl'), 'utf8').trim().split('\n');
      expect(epochs.map((line) => JSON.parse(line).epoch)).toEqual([1, 2, 3]);
      metricLogs.add(readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8'));
    }
    // Same config and seed: every run logged the same metrics, line for line. A line written into another run's
    // log, or one lost, would show here.
    expect(metricLogs.size).toBe(1);
    const [log] = metricLogs;
    expect(log?.trim().split('\n')).toHaveLength(3 * 2 + 1); // train + val per epoch, the final test row
  }, 120_000);

  it('`mtl runs` while a run is being written never reads a half-written meta.json', async () => {
    const config = tinyConfigFile(400);
    const store = tempDir();
    // meta.json's progress goes with the `last` checkpoint, which an epoch's end takes at most once a second: a
    // checkpoint after every step rewrites it as often as these epochs once did.
    const everyStep = ['--set', 'training.checkpoint_every_steps=1'];
    const training = mtlAsync(['train', config, '--runs-dir', store, '--quiet', ...everyStep]);
    let finished = false;
    void training.then(() => {
      finished = true;
    });
    let reads = 0;
    const progress = new Set<number>();
    while (!finished) {
      // Exactly what `mtl runs` reads, as fast as this loop goes, while the trainer rewrites meta.json every step.
      for (const run of listRuns(store)) {
        reads++;
        if (run.status === 'running') progress.add(run.epochs);
        readMeta(run.dir);
      }
      await sleep(1);
    }
    const result = await training;
    expect(result.code, result.stderr).toBe(0);
    expect(progress.size, 'the reads overlapped the training').toBeGreaterThan(5);
    expect(reads).toBeGreaterThan(20);
    expect(listRuns(store)).toMatchObject([{ status: 'completed', epochs: 400 }]);
  }, 120_000);
});

describe('commands that change a run take its lock', () => {
  let store: string;
  let runDir: string;
  let runId: string;
  beforeAll(async () => {
    store = tempDir();
    const summary = await trainExperiment(tinyRegressionConfig(tempDir(), { epochs: 2, batch_size: 8 }), {
      runsDir: store,
    });
    runDir = summary.dir;
    runId = summary.id;
  });
  const trainingFiles = (): Record<string, string> => snapshot(runDir, (p) => p.startsWith('evals'));

  it('two `mtl eval` of one run at once both succeed, each evaluation stored whole in its own file', async () => {
    const before = trainingFiles();
    const evaluations = readEvaluations(runDir).length;
    const args = ['eval', runId, '--runs-dir', store, '--split', 'test', '--json'];
    const results = await Promise.all([mtlAsync(args), mtlAsync(args)]);
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const printed = results.map((r) => JSON.parse(r.stdout));
    const stored = readEvaluations(runDir).slice(evaluations);
    expect(stored).toHaveLength(2);
    expect(new Set(stored.map((e) => e.file)).size).toBe(2);
    expect(stored.map((e) => e.file).sort()).toEqual(printed.map((p) => p.file).sort());
    for (const evaluation of stored) {
      expect(evaluation).toEqual(printed.find((p) => p.file === evaluation.file));
      expect(evaluation.metrics).toEqual(stored[0]?.metrics);
    }
    expect(trainingFiles()).toEqual(before);
    expect(existsSync(lockFile(runDir))).toBe(false);
  }, 60_000);

  it('two evaluations stored in the same millisecond each keep their file, listed in the order stored', () => {
    const dir = tempDir();
    const now = new Date('2026-01-01T00:00:00.000Z');
    const result = { run: 'r', runDir: dir, checkpoint: 'best' as const, epoch: 1, data: 'test', rows: 4 };
    const common = { ...result, directions: { 'a/mse': false }, backend: 'wasm' };
    const first = saveEvaluation(dir, { ...common, metrics: { 'a/mse': 1 } }, now);
    const second = saveEvaluation(dir, { ...common, metrics: { 'a/mse': 2 } }, now);
    expect(second.file).not.toBe(first.file);
    expect(readEvaluations(dir).map((e) => e.metrics['a/mse'])).toEqual([1, 2]);
  });

  it('`mtl eval` waits for a live writer of the run and proceeds when it is done', async () => {
    const held = await acquireRunLock(runDir, { command: 'mtl train --resume' });
    setTimeout(() => held.release(), 2500);
    const result = await mtlAsync(['eval', runId, '--runs-dir', store, '--split', 'val']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(
      `waiting for mtl train --resume (pid ${process.pid} on ${held.holder.host}), which is changing this run ` +
        '(up to 60 s; MTL_LOCK_TIMEOUT sets it)',
    );
    expect(existsSync(lockFile(runDir))).toBe(false);
  }, 60_000);

  it('`mtl eval` gives up after MTL_LOCK_TIMEOUT with the holder named (exit 1), changing nothing', async () => {
    const held = await acquireRunLock(runDir, { command: 'mtl train --resume' });
    try {
      const before = snapshot(runDir);
      const result = await mtlAsync(['eval', runId, '--runs-dir', store], { MTL_LOCK_TIMEOUT: '1' });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `mtl: Run ${runId} is busy: mtl train --resume (pid ${process.pid} on ${held.holder.host}) has been ` +
          `changing it since ${held.holder.since}; waited 1 s.\n` +
          '  - run this again when it has finished, or wait longer: MTL_LOCK_TIMEOUT=<seconds>\n' +
          `  - if that process is gone (on another machine, or killed there), delete ${lockFile(runDir)}\n`,
      );
      expect(result.stderr).not.toMatch(noStack);
      expect(snapshot(runDir)).toEqual(before);
    } finally {
      held.release();
    }
  }, 60_000);

  it('a lock left by a killed mtl is taken over, with a note', async () => {
    const holder = await mtlAsync(['eval', runId, '--runs-dir', store, '--split', 'val'], { MTL_LOCK_TIMEOUT: '0' });
    expect(holder.code).toBe(0);
    // A real leftover: an eval killed with SIGKILL while it held the lock.
    const killed = await killedWhileLocked(runDir, runId, store);
    expect(existsSync(lockFile(runDir))).toBe(true);
    const result = await mtlAsync(['eval', runId, '--runs-dir', store, '--split', 'val'], { MTL_LOCK_TIMEOUT: '0' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`note: took over the run's lock left by mtl eval (pid ${killed}, gone)`);
    expect(existsSync(lockFile(runDir))).toBe(false);
  }, 60_000);

  it("Ctrl-C during `mtl eval` releases the run's lock and ends the process as the signal does", async () => {
    const { child, exited } = startEvalHoldingLock(runId, store);
    await lockTaken(runDir, child.pid);
    child.kill('SIGINT');
    expect(await exited).toEqual({ code: null, signal: 'SIGINT' });
    expect(existsSync(lockFile(runDir))).toBe(false);
  }, 60_000);

  it('a bad MTL_LOCK_TIMEOUT is a usage error (exit 2), changing nothing', async () => {
    const before = snapshot(runDir);
    const result = await mtlAsync(['eval', runId, '--runs-dir', store], { MTL_LOCK_TIMEOUT: 'soon' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'mtl: MTL_LOCK_TIMEOUT "soon": expected how many seconds to wait for another command writing the same run, ' +
        'a number of 0 or more (0: fail at once; default 60).\n',
    );
    expect(snapshot(runDir)).toEqual(before);
  }, 60_000);
});

/** Starts `mtl eval` of the run (it takes the run's lock at once and holds it while it evaluates). */
function startEvalHoldingLock(
  runId: string,
  store: string,
): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [bin, 'eval', runId, '--runs-dir', store], {
    cwd: root,
    env: { ...process.env, CI: 'true', MTL_LOCK_TIMEOUT: '30' },
    stdio: 'ignore',
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited };
}

/** Waits until `pid` holds the run's lock (not a lock another process left or is about to release). */
async function lockTaken(runDir: string, pid: number | undefined): Promise<void> {
  const heldByIt = (): boolean => {
    const holder = readRunLock(runDir);
    return typeof holder === 'object' && holder.pid === pid;
  };
  const until = Date.now() + 30_000;
  while (!heldByIt() && Date.now() < until) await sleep(2);
}

/** Starts `mtl eval`, kills it with SIGKILL as soon as it holds the run's lock, and returns its pid. */
async function killedWhileLocked(runDir: string, runId: string, store: string): Promise<number> {
  const { child, exited } = startEvalHoldingLock(runId, store);
  await lockTaken(runDir, child.pid);
  child.kill('SIGKILL');
  await exited;
  return child.pid ?? -1;
}
