/**
 * A damaged checkpoint (a file cut short or deleted from a checkpoint that was written) is refused naming the file,
 * by every command that reads it, with a hint the command can act on; only a checkpoint that was never written lets
 * `best` fall back to `last`, and only when no checkpoint was asked for by name. A crashed run's hint reaches the
 * text of `mtl runs`. Each refusal leaves the run's files as they were.
 */
import { existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeRun, evaluateRun, extractFeatures, trainExperiment, type RunSummary } from '../src/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfigText } from '../src/config/load.js';
import { smallDigitsConfig } from './helpers/configs.js';
import { transferConfig } from './helpers/transfer-init.js';
import { tempDir } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { interruptedRun } from './helpers/interrupted-run.js';
import { snapshotRun } from './helpers/run-snapshot.js';

function checkpointFile(run: RunSummary, checkpoint: 'best' | 'last', name: string): string {
  return path.join(run.dir, 'checkpoints', checkpoint, name);
}

/**
 * `mtl train --resume` of an interrupted run whose `last` checkpoint has `file` cut to `bytes`: refused (exit 2, no
 * stack frame), the run left as it was. Returns the run and the refusal's stderr.
 */
async function resumeCutShort(
  file: string,
  bytes: number,
  overrides: string[] = [],
): Promise<{ run: RunSummary; runsDir: string; stderr: string }> {
  const runsDir = tempDir('mtl-runs-');
  const run = await interruptedRun(runsDir, overrides);
  truncateSync(checkpointFile(run, 'last', file), bytes);
  const before = snapshotRun(run.dir);
  const result = mtl(['train', '--resume', run.id, '--runs-dir', runsDir]);
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(snapshotRun(run.dir)).toEqual(before);
  return { run, runsDir, stderr: result.stderr };
}

describe('mtl train --resume of a damaged last checkpoint', () => {
  it('a training-state.json cut short is named as damaged by its checksum, not taken for a missing one', async () => {
    const { run, stderr } = await resumeCutShort('training-state.json', 100);
    const [first, ...hints] = stderr.trimEnd().split('\n');
    expect(first).toBe(
      `mtl: Checkpoint ${path.join(run.dir, 'checkpoints', 'last')}: training-state.json does not match its checksum ` +
        'in checksums.json (100 bytes); the file was cut short or changed after it was written.',
    );
    expect(stderr).not.toContain('has no checkpoint to resume from');
    expect(hints.join('\n')).toContain('a run continues from its last checkpoint only');
  }, 60_000);

  it('the hint for a damaged last checkpoint names no --checkpoint, which resume does not take', async () => {
    const sets = ['training.lr=0.02', 'model.trunk=[{type: dense, units: 6}]'];
    const { run, runsDir, stderr } = await resumeCutShort('weights.bin', 20, sets);
    expect(stderr).toContain('weights.bin does not match its checksum in checksums.json (20 bytes)');
    expect(stderr).not.toContain('--checkpoint');
    // The command trains the same run again: its config with the flags it was given (they were left out), quoted.
    const hint =
      '  - a run continues from its last checkpoint only: restore the file from a backup, or train the run again: ' +
      "mtl train TINY --set training.lr=0.02 --set 'model.trunk=[{type: dense, units: 6}]'\n";
    expect(stderr.replace(/mtl train \S+tiny\.yaml /, 'mtl train TINY ')).toContain(hint);
    const best = `  - its best checkpoint is kept apart and can still be evaluated: mtl eval ${run.id}`;
    expect(stderr).toContain(best);
    // mtl eval, which has --checkpoint, is still pointed to the other checkpoint.
    await expect(evaluateRun(run.id, { runsDir, checkpoint: 'last' })).rejects.toMatchObject({
      details: ['use the best checkpoint (--checkpoint best), restore the file from a backup, or train the run again'],
    });
  }, 60_000);

  it('a training-state.json that does not parse, in a checkpoint without checksums: damaged, not missing', async () => {
    const runsDir = tempDir('mtl-runs-');
    const run = await interruptedRun(runsDir);
    rmSync(checkpointFile(run, 'last', 'checksums.json'));
    writeFileSync(checkpointFile(run, 'last', 'training-state.json'), '{');
    const result = await mtlInProcess(['train', '--resume', run.id, '--runs-dir', runsDir]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^mtl: \S+training-state\.json is not valid JSON/);
    expect(result.stderr).toContain('a run continues from its last checkpoint only');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('a best checkpoint that was written but is damaged is refused, not replaced by last', () => {
  it('mtl eval, analyze, features and compare refuse a best checkpoint without its model.json', async () => {
    const runsDir = tempDir('mtl-runs-');
    const run = await interruptedRun(runsDir);
    rmSync(checkpointFile(run, 'best', 'model.json'));
    rmSync(path.join(run.dir, 'summary.json')); // compare then evaluates the best checkpoint itself
    const before = snapshotRun(run.dir);
    const file = checkpointFile(run, 'best', 'model.json');
    const missing = `Checkpoint file ${file} is missing; the checkpoint is incomplete.`;
    const hint = 'use the last checkpoint (--checkpoint last), restore the file from a backup, or train the run again';

    const evaluated = await mtlInProcess(['eval', run.id, '--runs-dir', runsDir]);
    expect(evaluated.code, evaluated.stderr).toBe(2);
    expect(evaluated.stderr).toBe(`mtl: ${missing}\n  - ${hint}\n`);
    const compared = await mtlInProcess(['compare', run.id, '--runs-dir', runsDir]);
    expect(compared.code, compared.stderr).toBe(2);
    expect(compared.stderr).toContain(`mtl: ${missing}`);
    // compare takes no --checkpoint: its hint does not name one.
    expect(compared.stderr).toContain('from its best checkpoint: restore the file from a backup, or leave the run out');
    expect(compared.stderr).not.toContain('--checkpoint');
    expect(`${evaluated.stderr}${compared.stderr}`).not.toMatch(/\n\s+at /);
    await expect(analyzeRun(run.id, { runsDir })).rejects.toThrow(missing);
    await expect(extractFeatures(run.id, { runsDir })).rejects.toThrow(missing);
    expect(snapshotRun(run.dir)).toEqual(before);
    expect(existsSync(path.join(run.dir, 'evals'))).toBe(false);
  }, 60_000);
});

describe('--checkpoint best on a run that never wrote a best checkpoint', () => {
  it('asked for by name: exit 2 saying so; without --checkpoint: the documented fallback to last', async () => {
    const runsDir = tempDir('mtl-runs-');
    const run = await interruptedRun(runsDir);
    // As a run none of whose epochs improved the monitored metric (a NaN one): its best folder was never written.
    rmSync(path.join(run.dir, 'checkpoints', 'best'), { recursive: true });
    const before = snapshotRun(run.dir);

    const asked = await mtlInProcess(['eval', run.id, '--runs-dir', runsDir, '--checkpoint', 'best']);
    expect(asked.code, asked.stderr).toBe(2);
    expect(asked.stderr).toBe(
      `mtl: Run ${run.id} has no "best" checkpoint (status: interrupted).\n` +
        '  - a best checkpoint is written when an epoch ends with a better monitored metric, and none did; ' +
        '--checkpoint last (or no --checkpoint) reads the last checkpoint\n',
    );
    expect(snapshotRun(run.dir)).toEqual(before);
    await expect(analyzeRun(run.id, { runsDir, checkpoint: 'best' })).rejects.toThrow(/has no "best" checkpoint/);
    await expect(extractFeatures(run.id, { runsDir, checkpoint: 'best' })).rejects.toThrow(/has no "best" checkpoint/);
    expect((await extractFeatures(run.id, { runsDir })).checkpoint).toBe('last');
    // init.from RUN:best names it too: no other checkpoint's weights in its place.
    const fromBest = transferConfig(tempDir('mtl-init-'), 'from-best', {
      tasks: ['y1'],
      init: [`from: ${run.id}:best`],
    });
    await expect(trainExperiment(fromBest, { runsDir })).rejects.toThrow(
      /^\S+from-best\.yaml:\d+:\d+: init\.from "\S+:best": Run \S+ has no "best" checkpoint/,
    );
    expect(snapshotRun(run.dir)).toEqual(before);

    const fallback = await mtlInProcess(['eval', run.id, '--runs-dir', runsDir]);
    expect(fallback.code, fallback.stderr).toBe(0);
    expect(fallback.stderr).toContain(`run ${run.id}, last checkpoint (epoch `);
    expect(readdirSync(path.join(run.dir, 'evals'))).toEqual([expect.stringMatching(/-last-test\.json$/)]);
  }, 60_000);
});

describe('mtl runs of a crashed run', () => {
  it('prints the crash and the resume hint on stderr; the table on stdout keeps its columns', async () => {
    const runsDir = tempDir('mtl-runs-');
    const run = await interruptedRun(runsDir);
    const metaFile = path.join(run.dir, 'meta.json');
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Record<string, unknown>;
    const gone = { pid: 2 ** 22 + 12345, host: hostname() };
    writeFileSync(metaFile, JSON.stringify({ ...meta, status: 'running', process: gone }));

    const listed = await mtlInProcess(['runs', '--runs-dir', runsDir]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).toBe(
      `note: ${run.id} crashed: its process (pid ${gone.pid} on ${gone.host}) is gone; ` +
        `resume it with: mtl train --resume ${run.id}\n`,
    );
    const [header, rule, row, ...rest] = listed.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^id\s+name\s+status\s+started/);
    expect(rule).toMatch(/^-+( +-+)+$/);
    expect(row).toMatch(new RegExp(`^${run.id}\\s+tiny\\s+crashed\\s`));
    expect(rest).toEqual([]);
  }, 60_000);
});

describe('a best checkpoint damaged before the run reads it back for its final evaluation', () => {
  it('the run ends failed with the reason (it was left running), and the error names the file', async () => {
    const runsDir = tempDir('mtl-runs-');
    const best = (dir: string, name: string): string => path.join(dir, 'checkpoints', 'best', name);
    let runDir = '';
    const training = trainExperiment(parseConfigText(smallDigitsConfig(1)), {
      runsDir,
      onRunCreated: (run) => {
        runDir = run.dir;
      },
      listeners: [
        {
          // Epoch 1 improved, so its best checkpoint is being written beside training (a whole folder, renamed into
          // place): wait for it, then cut its weights short, as a failing disk might.
          onEpochEnd: async () => {
            const until = Date.now() + 10_000;
            while (!existsSync(best(runDir, 'checksums.json')) && Date.now() < until) await sleep(10);
            truncateSync(best(runDir, 'weights.bin'), 20);
          },
        },
      ],
    });
    await expect(training).rejects.toThrow('weights.bin does not match its checksum in checksums.json (20 bytes)');
    const meta = JSON.parse(readFileSync(path.join(runDir, 'meta.json'), 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({ status: 'failed', epochsCompleted: 1, bestEpoch: 1 });
    expect(meta['statusReason']).toMatch(/^the final evaluation failed: Checkpoint .*weights\.bin does not match/);
    expect(existsSync(path.join(runDir, 'summary.json'))).toBe(false);
  });
});
