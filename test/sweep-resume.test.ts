/**
 * Re-running a sweep (api/sweep.ts): a sweep interrupted in its second trial and run again resumes that trial from
 * its checkpoint, skips the first, trains the rest, and ends with the metrics of a sweep left alone (bit for bit, on
 * wasm); a failed trial is skipped unless failures are retried; trials resolve as `<sweep>/<hash>` runs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSweep, runSweep, type SweepResult } from '../src/api/sweep.js';
import { sweepStatus } from '../src/api/sweep-status.js';
import { readSummary } from '../src/runs/summary.js';
import { resolveRun } from '../src/runs/store.js';
import { tryTrialLock } from '../src/runs/sweeps.js';
import { tempDir } from './helpers.js';
import { groupConfig } from './helpers/groups.js';

function sweepFiles(): string {
  const dir = tempDir('mtl-sweep-');
  writeFileSync(path.join(dir, 'base.yaml'), groupConfig({ epochs: 3 }));
  const file = path.join(dir, 'lr.yaml');
  writeFileSync(file, 'base: base.yaml\nspace:\n  training.lr: [0.001, 0.01]\nseeds: [0, 1]\n');
  return file;
}

const actions = (result: SweepResult): string[] => result.outcomes.map((o) => `${o.action} ${o.status}`);

describe('re-running a sweep', () => {
  it('an interrupted trial is resumed, done ones skipped, and the results equal an uninterrupted sweep', async () => {
    const file = sweepFiles();
    const plan = await planSweep(file);
    expect(plan.trials).toHaveLength(4);
    const alone = tempDir();
    expect(actions(await runSweep(plan, { runsDir: alone }))).toEqual(Array(4).fill('trained completed'));

    const store = tempDir();
    const controller = new AbortController();
    let epochs = 0;
    const first = await runSweep(plan, {
      runsDir: store,
      signal: controller.signal,
      listeners: [
        {
          onEpochEnd: () => {
            epochs++;
            if (epochs === 4) controller.abort(); // epoch 1 of the second trial
          },
        },
      ],
    });
    expect(first.interrupted).toBe(true);
    expect(actions(first)).toEqual(['trained completed', 'trained interrupted']);
    const counted = sweepStatus(plan.id, store).counts;
    expect(counted).toMatchObject({ completed: 1, interrupted: 1, pending: 2 });

    const again = await runSweep(await planSweep(file), { runsDir: store });
    expect(again.interrupted).toBe(false);
    expect(actions(again)).toEqual([
      'skipped completed',
      'resumed completed',
      'trained completed',
      'trained completed',
    ]);
    for (const trial of plan.trials) {
      const resumed = readSummary(path.join(store, plan.id, trial.hash), trial.id);
      const uninterrupted = readSummary(path.join(alone, plan.id, trial.hash), trial.id);
      expect(resumed.test).toEqual(uninterrupted.test);
      expect(resumed.val).toEqual(uninterrupted.val);
    }
    // The second trial's meta.json records its resume; the run resolves as <sweep>/<hash prefix>.
    const second = plan.trials[1]!;
    const meta = JSON.parse(readFileSync(path.join(store, plan.id, second.hash, 'meta.json'), 'utf8')) as {
      resumes?: unknown[];
      id: string;
    };
    expect(meta.resumes).toHaveLength(1);
    expect(meta.id).toBe(second.id);
    expect(resolveRun(`${plan.id.slice(0, 6)}/${second.hash.slice(0, 6)}`, store)).toEqual({
      id: second.id,
      dir: path.join(store, plan.id, second.hash),
    });
    expect(resolveRun(path.join(store, plan.id, second.hash), store).id).toBe(second.id);

    // Best so far: the lowest val mean/loss (the base stops on loss), read back from the trials' summaries.
    const status = sweepStatus(file, store);
    const values = plan.trials.map((t) => readSummary(path.join(store, plan.id, t.hash), t.id).val['mean/loss']!);
    const lowest = Math.min(...values);
    expect(status.counts).toMatchObject({ completed: 4, pending: 0 });
    expect(status.monitor).toEqual({ metric: 'mean/loss', higherIsBetter: false });
    expect(status.best?.id).toBe(plan.trials[values.indexOf(lowest)]!.id);
    expect(status.best?.value).toBe(lowest);
  });

  it('a failed trial is skipped (and counted) unless failures are retried; then it is resumed', async () => {
    const file = sweepFiles();
    const plan = await planSweep(file);
    const store = tempDir();
    await runSweep(plan, { runsDir: store });
    const metaFile = path.join(store, plan.id, plan.trials[2]!.hash, 'meta.json');
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(metaFile, JSON.stringify({ ...meta, status: 'failed', statusReason: 'a test failure' }));
    expect(sweepStatus(plan.id, store).counts).toMatchObject({ completed: 3, failed: 1 });

    expect(actions(await runSweep(plan, { runsDir: store }))).toEqual([
      'skipped completed',
      'skipped completed',
      'skipped failed',
      'skipped completed',
    ]);
    const retried = await runSweep(plan, { runsDir: store, retryFailed: true });
    expect(actions(retried)[2]).toBe('resumed completed');
    expect(sweepStatus(plan.id, store).counts).toMatchObject({ completed: 4, failed: 0 });
  });

  it('a trial whose lock another live process holds is left to it; the rest train; later it trains', async () => {
    const file = sweepFiles();
    const plan = await planSweep(file);
    const store = tempDir();
    const held = await tryTrialLock(path.join(store, plan.id), plan.trials[1]!.hash);
    expect(held).toBeDefined();
    // A second taker finds it held (this process is alive), as another sweep process would.
    expect(await tryTrialLock(path.join(store, plan.id), plan.trials[1]!.hash)).toBeUndefined();
    const first = await runSweep(plan, { runsDir: store });
    expect(actions(first)).toEqual([
      'trained completed',
      'left to another process pending',
      'trained completed',
      'trained completed',
    ]);
    held?.release();
    expect(actions(await runSweep(plan, { runsDir: store }))[1]).toBe('trained completed');
  });
});
