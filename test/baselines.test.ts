import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compareRuns,
  compareWithBaseline,
  parseConfigText,
  readMeta,
  readResolvedConfig,
  readSummary,
  readTransferIfAny,
  resolveRun,
  resumeWithBaselines,
  trainWithBaselines,
} from '../src/index.js';
import { splitTable } from '../src/data/prepare.js';
import { tempDir } from './helpers.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { helpConfig, hurtConfig } from './helpers/transfer-data.js';

describe('single-task baselines trained with the run', () => {
  it('flag a task that a heavier unrelated task hurts through a narrow trunk (one seed: unconfirmed)', async () => {
    const dir = tempDir();
    const runsDir = path.join(dir, 'runs');
    const { summary, transfer, subRuns } = await trainWithBaselines(hurtConfig(dir), { runsDir });
    expect(subRuns.map((run) => run.id)).toEqual([`${summary.id}/baselines/a`, `${summary.id}/baselines/b`]);
    const a = transfer?.tasks.find((task) => task.task === 'a');
    expect(a?.gain).toBeLessThan(-0.5);
    expect(a?.verdict).toBe('negative-transfer-unconfirmed');
    expect(transfer?.verdictRule).toContain('one seed cannot tell it from seed-to-seed noise');
    // transfer.json holds what the function returned, and is what `mtl compare RUN --baseline` computes again.
    expect(readTransferIfAny(summary.dir)).toEqual(transfer);
    const { run: _id, dir: _dir, ...recomputed } = compareWithBaseline(summary.dir, 'single-task', { runsDir });
    expect(recomputed).toEqual(transfer);
  });

  it("give the numbers `mtl compare BASELINE RUN` gives: each task's gain is its Δm term, Δm their mean", async () => {
    const dir = tempDir();
    const runsDir = path.join(dir, 'runs');
    const { summary, transfer } = await trainWithBaselines(hurtConfig(dir, 1), { runsDir });
    const gains: number[] = [];
    for (const task of ['a', 'b']) {
      const comparison = await compareRuns([`${summary.id}/baselines/${task}`, summary.id], { runsDir });
      const gain = comparison.runs[1]?.deltaMPerTask?.[task];
      expect(transfer?.tasks.find((t) => t.task === task)?.gain).toBe(gain);
      gains.push(gain ?? NaN);
      // And by hand: the mean over the task's metrics of the signed relative change.
      const single = readSummary(path.join(summary.dir, 'baselines', task), task).test;
      const keys = Object.keys(single).filter((k) => k.startsWith(`${task}/`) && !k.endsWith('/loss'));
      const byHand = keys.map((key) => {
        const sign = key.endsWith('/r2') ? 1 : -1;
        return (sign * ((summary.test[key] ?? NaN) - (single[key] ?? NaN))) / Math.abs(single[key] ?? NaN);
      });
      expect(gain).toBeCloseTo(byHand.reduce((s, v) => s + v, 0) / byHand.length, 12);
    }
    expect(transfer?.deltaM).toBeCloseTo(((gains[0] ?? NaN) + (gains[1] ?? NaN)) / 2, 12);
  });

  it('show a positive gain where a clean related task helps a noisy one', async () => {
    const dir = tempDir();
    const { transfer } = await trainWithBaselines(helpConfig(dir), { runsDir: path.join(dir, 'runs') });
    const noisy = transfer?.tasks.find((task) => task.task === 'noisy');
    expect(noisy?.gain).toBeGreaterThan(0.05);
    expect(noisy?.verdict).toBe('positive');
  });

  it('are the same trunk, head, budget and seed on one task, with the inputs of the run, under equal', async () => {
    const dir = tempDir();
    const { summary } = await trainWithBaselines(hurtConfig(dir), { runsDir: path.join(dir, 'runs') });
    const mtl = readResolvedConfig(summary.dir);
    const single = readResolvedConfig(path.join(summary.dir, 'baselines', 'a'));
    expect(single.tasks.map((t) => t.name)).toEqual(['a']);
    expect(single.model).toEqual(mtl.model);
    expect(single.training).toEqual(mtl.training);
    expect(single.seed).toBe(mtl.seed);
    expect(single.strategy).toEqual({ name: 'equal' });
    expect(single.baselines).toBe('none');
    // Without the pin, b's target column would become an input of a's baseline.
    expect(single.data.features).toEqual(['x0', 'x1', 'x2', 'x3']);
    expect(readMeta(path.join(summary.dir, 'baselines', 'a')).id).toBe(`${summary.id}/baselines/a`);
  });
});

describe('the split of a baseline', () => {
  /**
   * b's target is missing on every 7th row: under `missing_targets: drop` the run of a and b leaves those rows out
   * (under `mask`, the default, it keeps them: test/missing-labels-data.test.ts checks the baselines' rows there).
   */
  function missingTargetConfig(dir: string, extra = ''): string {
    writeSyntheticCsv(dir, 'gaps.csv', {
      seed: 5,
      rows: 120,
      header: ['x0', 'x1', 'a', 'b'],
      row: (rng, index) => {
        const x0 = rng.normal();
        const x1 = rng.normal();
        return [x0, x1, x0 - x1, index % 7 === 3 ? '' : x0 + x1];
      },
    });
    return [
      'name: gaps',
      'seed: 3',
      'backend: wasm',
      'baselines: single-task',
      'data: { csv: gaps.csv, missing: drop, missing_targets: drop }',
      'tasks:',
      '  - { name: a, type: regression, target: a }',
      '  - { name: b, type: regression, target: b }',
      'model: { trunk: [{ type: dense, units: 4 }] }',
      'training: { epochs: 2 }',
      extra,
    ].join('\n');
  }

  it('holds exactly the rows of the run, even where another task misses targets', async () => {
    const dir = tempDir();
    const loaded = parseConfigText(missingTargetConfig(dir), { file: path.join(dir, 'gaps.yaml') });
    const { summary } = await trainWithBaselines(loaded, { runsDir: path.join(dir, 'runs') });
    const splitOf = (runDir: string): ReturnType<typeof splitTable> => splitTable(readResolvedConfig(runDir), dir);
    const mtl = await splitOf(summary.dir);
    expect(mtl.rows.length).toBe(120 - 17); // rows 3, 10, …, 115 have no b
    for (const task of ['a', 'b']) {
      const single = await splitOf(path.join(summary.dir, 'baselines', task));
      expect(Array.from(single.split.train)).toEqual(Array.from(mtl.split.train));
      expect(Array.from(single.split.val)).toEqual(Array.from(mtl.split.val));
      expect(Array.from(single.split.test)).toEqual(Array.from(mtl.split.test));
    }
    // What the pin prevents: a's config alone keeps the rows b lacks, and draws another split from them.
    const alone = readResolvedConfig(path.join(summary.dir, 'baselines', 'a'));
    const unpinned = await splitTable({ ...alone, data: { ...alone.data, required_columns: [] } }, dir);
    expect(unpinned.rows.length).toBe(120);
    expect(Array.from(unpinned.split.test)).not.toEqual(Array.from(mtl.split.test));
  });
});

describe('towers, fallbacks and pairs', () => {
  it('towers: one run of soft-sharing towers without coupling, nothing shared', async () => {
    const dir = tempDir();
    const towers = parseConfigText(hurtConfig(dir).sourceText, {
      file: path.join(dir, 'hurt.yaml'),
      overrides: ['baselines=towers'],
    });
    const { summary, transfer, subRuns } = await trainWithBaselines(towers, { runsDir: path.join(dir, 'runs') });
    expect(subRuns.map((run) => run.id)).toEqual([`${summary.id}/baselines/towers`]);
    const run = subRuns[0];
    expect(run?.parameterCount.shared).toBe(0);
    const config = readResolvedConfig(path.join(summary.dir, 'baselines', 'towers'));
    expect(config.model).toMatchObject({ architecture: 'soft-sharing', coupling: 'none' });
    expect(transfer?.baseline).toBe('towers');
    expect(transfer?.baselineRuns).toEqual({ a: 'baselines/towers', b: 'baselines/towers' });
  });

  it('an architecture that cannot take one task falls back to hard sharing, and says so', async () => {
    const dir = tempDir();
    const crossStitch = parseConfigText(hurtConfig(dir).sourceText, {
      file: path.join(dir, 'hurt.yaml'),
      overrides: ['model.architecture=cross-stitch', 'training.early_stopping.metric=b/mse'],
    });
    const { summary } = await trainWithBaselines(crossStitch, { runsDir: path.join(dir, 'runs') });
    const aDir = path.join(summary.dir, 'baselines', 'a');
    expect(readResolvedConfig(aDir).model.architecture).toBe('hard-sharing');
    expect(readResolvedConfig(aDir).training.early_stopping.metric).toBe('loss');
    expect(readResolvedConfig(path.join(summary.dir, 'baselines', 'b')).training.early_stopping.metric).toBe('b/mse');
    const notes = readMeta(aDir).strategy?.notes ?? [];
    expect(notes.join('\n')).toContain('"cross-stitch" cannot take one task');
    expect(notes.join('\n')).toContain('early stopping follows "loss"');
  });

  it('pairs: gains[j>i] is the gain of task i in the run of {i, j} over its single-task run', async () => {
    const dir = tempDir();
    const text = [
      'name: three',
      'backend: wasm',
      'baselines: single-task',
      'analysis: { pairs: true }',
      'data: { dataset: synthetic-correlated, options: { tasks: 3, samples: 200, features: 4 } }',
      'tasks:',
      '  - { name: y1, type: regression, metrics: [mse] }',
      '  - { name: y2, type: regression, metrics: [mse] }',
      '  - { name: y3, type: regression, metrics: [mse] }',
      'model: { trunk: [{ type: dense, units: 4 }] }',
      'training: { epochs: 2 }',
    ].join('\n');
    const runsDir = path.join(dir, 'runs');
    const { summary, transfer } = await trainWithBaselines(parseConfigText(text), { runsDir });
    const pairs = transfer?.pairs;
    expect(Object.keys(pairs?.runs ?? {})).toEqual(['y1+y2', 'y1+y3', 'y2+y3']);
    expect(Object.keys(pairs?.gains ?? {}).sort()).toEqual(['y1>y2', 'y1>y3', 'y2>y1', 'y2>y3', 'y3>y1', 'y3>y2']);
    // The effect of y3 on y1: y1's mse in the run of {y1, y3} against y1's single-task mse.
    const pair = readSummary(path.join(summary.dir, 'pairs', 'y1+y3'), 'pair').test['y1/mse'] ?? NaN;
    const single = readSummary(path.join(summary.dir, 'baselines', 'y1'), 'single').test['y1/mse'] ?? NaN;
    expect(pairs?.gains['y3>y1']).toBeCloseTo(-(pair - single) / single, 12);
    expect(readTransferIfAny(summary.dir)?.pairs).toEqual(pairs);
    expect(resolveRun(`${summary.id}/pairs/y1+y3`, runsDir).dir).toBe(path.join(summary.dir, 'pairs', 'y1+y3'));
  });
});

describe('compare --baseline', () => {
  it('does not take the single-task baseline of a task named "towers" for a towers baseline', async () => {
    const dir = tempDir();
    const runsDir = path.join(dir, 'runs');
    const text = hurtConfig(dir).sourceText.replace('{ name: a,', '{ name: towers,');
    const loaded = parseConfigText(text, { file: path.join(dir, 'hurt.yaml') });
    const { summary } = await trainWithBaselines(loaded, { runsDir });
    expect(compareWithBaseline(summary.id, 'single-task', { runsDir }).baselineRuns).toEqual({
      towers: 'baselines/towers',
      b: 'baselines/b',
    });
    expect(() => compareWithBaseline(summary.id, 'towers', { runsDir })).toThrow(
      /has no towers baseline at baselines\/towers: that run trained task towers, not towers, b/,
    );
  });
});

describe('stopping during the baselines', () => {
  it('an interrupt stops the baseline in progress like any run; the multi-task run stays complete', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const result = await trainWithBaselines(hurtConfig(dir), {
      runsDir: path.join(dir, 'runs'),
      signal: controller.signal,
      onSubRunStart: () => controller.abort(),
    });
    expect(result.summary.status).toBe('completed');
    expect(result.subRuns.map((run) => run.status)).toEqual(['interrupted']);
    expect(result.stopped).toMatchObject({ status: 'interrupted', run: `${result.summary.id}/baselines/a` });
    expect(existsSync(path.join(result.summary.dir, 'transfer.json'))).toBe(false);
    expect(existsSync(path.join(result.summary.dir, 'baselines', 'b'))).toBe(false);
    expect(() => compareWithBaseline(result.summary.id, 'single-task', { runsDir: path.join(dir, 'runs') })).toThrow(
      /lacks the single-task baselines baselines\/a, baselines\/b: not trained, or not completed/,
    );
    // `mtl train --resume RUN` continues the interrupted baseline from its checkpoint, then trains the next one.
    const resumed = await resumeWithBaselines(result.summary.id, { runsDir: path.join(dir, 'runs') });
    expect(resumed.subRuns.map((run) => [run.id, run.status])).toEqual([
      [`${result.summary.id}/baselines/a`, 'completed'],
      [`${result.summary.id}/baselines/b`, 'completed'],
    ]);
    expect(readMeta(path.join(result.summary.dir, 'baselines', 'a')).resumes).toHaveLength(1);
    expect(readTransferIfAny(result.summary.dir)?.tasks.map((task) => task.task)).toEqual(['a', 'b']);
    // All complete now: nothing is left to resume.
    await expect(resumeWithBaselines(result.summary.id, { runsDir: path.join(dir, 'runs') })).rejects.toThrow(
      /is completed; there is nothing to resume/,
    );
  });

  it('a baseline that fails is a run failure naming it; the multi-task run is left as it was', async () => {
    const dir = tempDir();
    let runDir = '';
    let before = '';
    const failing = trainWithBaselines(hurtConfig(dir), {
      runsDir: path.join(dir, 'runs'),
      onRunCreated: (run) => {
        runDir ||= run.dir;
      },
      onSubRunStart: (event) => {
        before = readFileSync(path.join(runDir, 'summary.json'), 'utf8');
        // A file where the baseline's folder must go: its creation fails.
        mkdirSync(path.join(runDir, 'baselines'));
        writeFileSync(path.join(runDir, 'baselines', event.label), 'in the way');
      },
    });
    await expect(failing).rejects.toThrow(/Baseline baselines\/a of run .* failed: .*the multi-task run .* completed/);
    // The error's remedy is kept (it was once dropped with the baseline's failure).
    await expect(failing).rejects.toMatchObject({
      exitCode: 1,
      details: ['move the file away, or choose another runs folder with --runs-dir or MTL_RUNS_DIR'],
    });
    expect(readFileSync(path.join(runDir, 'summary.json'), 'utf8')).toBe(before);
    expect(readMeta(runDir).status).toBe('completed');
  });
});
