/**
 * search: halving (sweep/halving.ts, api/sweep-halving.ts): the rung plan's numbers, the promotions against the
 * values read back from the runs when they finished a rung (both directions), seeds ranked by their mean, and a sweep
 * interrupted mid-rung that, run again, ends with the promotions and metrics of an uninterrupted one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSweep, runSweep, type SweepPlan, type TrialOutcome } from '../src/api/sweep.js';
import { sweepStatus } from '../src/api/sweep-status.js';
import { readMeta } from '../src/runs/meta.js';
import { readSummary } from '../src/runs/summary.js';
import { readSweepMeta } from '../src/runs/sweeps.js';
import { plannedEpochs, planRungs, promote, rungBudgets } from '../src/sweep/halving.js';
import { tempDir } from './helpers.js';
import { groupConfig } from './helpers/groups.js';

describe('the rung plan', () => {
  it('9 configurations, η 3, r 1, R 9: 9/3/1 configurations at 1/3/9 epochs, 21 epochs against 81', () => {
    const rungs = planRungs(9, 1, 9, 3);
    expect(rungs).toEqual([
      { rung: 0, epochs: 1, configurations: 9 },
      { rung: 1, epochs: 3, configurations: 3 },
      { rung: 2, epochs: 9, configurations: 1 },
    ]);
    // 9·1 + 3·(3 − 1) + 1·(9 − 3) = 21; the grid trains 9·9.
    expect(plannedEpochs(rungs)).toEqual({ halving: 21, grid: 81 });
    // The last rung is R even when r·η^k overshoots it; ⌊n/η⌋ is at least 1.
    expect(rungBudgets(1, 10, 3)).toEqual([1, 3, 9, 10]);
    expect(rungBudgets(2, 2, 3)).toEqual([2]);
    expect(planRungs(4, 1, 4, 2).map((r) => r.configurations)).toEqual([4, 2, 1]);
    expect(planRungs(2, 1, 9, 3).map((r) => r.configurations)).toEqual([2, 1, 1]);
  });

  it('promotes the top ⌊n/η⌋ in the metric direction, ties to the lower trial index, never a final one', () => {
    const entry = (configuration: number, value: number | undefined, extendable = true) => ({
      configuration,
      firstTrial: configuration * 2,
      value,
      extendable,
    });
    const entries = [entry(0, 0.5), entry(1, 0.9), entry(2, 0.7), entry(3, 0.9), entry(4, 0.1), entry(5, 0.95, false)];
    expect(promote(entries, 3, true)).toEqual([1, 3]); // 0.9 twice: configuration 1 (trial 2) before 3 (trial 6)
    expect(promote(entries, 3, false)).toEqual([4, 0]);
    expect(promote(entries, 2, false)).toEqual([4, 0, 2]);
    expect(promote([entry(0, undefined), entry(1, Number.NaN), entry(2, 3)], 3, true)).toEqual([2]);
  });
});

function sweepFile(halving: string, extra = ''): string {
  const dir = tempDir('mtl-halving-');
  writeFileSync(path.join(dir, 'base.yaml'), groupConfig({ epochs: 9 }));
  const file = path.join(dir, 'halving.yaml');
  const lrs = '[0.001, 0.002, 0.004, 0.008, 0.016, 0.03, 0.06, 0.1, 0.2]';
  writeFileSync(file, `base: base.yaml\nsearch: halving\n${halving}space:\n  training.lr: ${lrs}\n${extra}`);
  return file;
}

/** Runs the sweep; each trial's summary val read back as soon as it finished a rung, by trial index and rung. */
async function runRecording(plan: SweepPlan, store: string) {
  const values = new Map<number, Record<string, number>[]>();
  const outcomes: TrialOutcome[] = [];
  const result = await runSweep(plan, {
    runsDir: store,
    onTrialEnd: (outcome) => {
      outcomes.push(outcome);
      if (outcome.action === 'skipped') return;
      const summary = readSummary(path.join(store, outcome.trial.id), outcome.trial.id);
      values.set(outcome.trial.index, [...(values.get(outcome.trial.index) ?? []), summary.val]);
    },
  });
  return { result, values, outcomes };
}

/** The indices of the `count` best of `indices` by `value`, ties to the lower index. */
function topBy(indices: number[], value: (i: number) => number, count: number, higher: boolean): number[] {
  return [...indices].sort((a, b) => (higher ? value(b) - value(a) : value(a) - value(b)) || a - b).slice(0, count);
}

describe('a halving sweep', () => {
  for (const [metric, higher] of [
    ['mean/loss', false],
    ['y1/r2', true],
  ] as const) {
    it(`promotes the top third on val ${metric} (${higher ? 'higher' : 'lower'} is better), extended`, async () => {
      const plan = await planSweep(sweepFile(`halving: { metric: ${metric}, min_epochs: 1, eta: 3 }\n`));
      expect(plan.halving?.rungs.map((r) => [r.epochs, r.configurations])).toEqual([
        [1, 9],
        [3, 3],
        [9, 1],
      ]);
      expect(plan.monitor).toEqual({ metric, higherIsBetter: higher });
      const store = tempDir();
      const { result, values, outcomes } = await runRecording(plan, store);
      expect(result.interrupted).toBe(false);
      expect(outcomes.map((o) => o.action)).toEqual([...Array(9).fill('trained'), ...Array(4).fill('extended')]);
      const at = (index: number, rung: number) => values.get(index)?.[rung]?.[metric] ?? Number.NaN;
      const all = plan.trials.map((t) => t.index);
      const first = topBy(all, (i) => at(i, 0), 3, higher);
      const second = topBy(first, (i) => at(i, 1), 1, higher);
      const meta = readSweepMeta(result.dir);
      const promoted = (rung: number) =>
        meta.halving?.rungs[rung]?.configurations.filter((c) => c.promoted).map((c) => c.configuration);
      // sweep.json lists the configurations in the sweep's order.
      expect(promoted(0)).toEqual([...first].sort((a, b) => a - b));
      expect(promoted(1)).toEqual(second);
      expect(promoted(2)).toEqual([]);
      expect(meta.halving?.rungs.map((r) => [r.epochs, r.decided, r.configurations.length])).toEqual([
        [1, true, 9],
        [3, true, 3],
        [9, true, 1],
      ]);
      expect(meta.halving?.rungs[0]?.configurations[4]?.value).toBe(at(4, 0));
      // Each trial's run has the epochs of the last rung it reached, in meta.json and sweep.json.
      const reached = all.map((i) => (second.includes(i) ? 9 : first.includes(i) ? 3 : 1));
      expect(all.map((i) => readMeta(path.join(store, plan.trials[i]!.id)).epochsCompleted)).toEqual(reached);
      expect(meta.trials.map((t) => t.epochs)).toEqual(reached);
      expect(sweepStatus(plan.id, store).trials.map((t) => t.epochs)).toEqual(reached);

      // Run again: nothing trains, the same rungs are recomputed.
      const again = await runSweep(await planSweep(plan.spec.file), { runsDir: store });
      expect(new Set(again.outcomes.map((o) => o.action))).toEqual(new Set(['skipped']));
      expect(readSweepMeta(result.dir).halving?.rungs).toEqual(meta.halving?.rungs);
    });
  }

  it('ranks a configuration by the mean over its seeds and promotes or stops all its seeds', async () => {
    const plan = await planSweep(
      sweepFile('halving: { metric: y1/r2, min_epochs: 1, max_epochs: 3, eta: 3 }\n', 'seeds: [0, 1]\n'),
    );
    expect(plan.trials).toHaveLength(18);
    expect(plan.halving?.configurations[1]).toEqual({ configuration: 1, trials: [2, 3] });
    const store = tempDir();
    const { values } = await runRecording(plan, store);
    const mean = (c: number) =>
      ((values.get(2 * c)?.[0]?.['y1/r2'] ?? 0) + (values.get(2 * c + 1)?.[0]?.['y1/r2'] ?? 0)) / 2;
    const best = topBy([0, 1, 2, 3, 4, 5, 6, 7, 8], mean, 3, true);
    const rung0 = readSweepMeta(path.join(store, plan.id)).halving?.rungs[0];
    expect(rung0?.configurations.filter((c) => c.promoted).map((c) => c.configuration)).toEqual(
      [...best].sort((a, b) => a - b),
    );
    expect(rung0?.configurations[best[0]!]?.value).toBe(mean(best[0]!));
    const epochs = plan.trials.map((t) => readMeta(path.join(store, t.id)).epochsCompleted);
    expect(epochs).toEqual(plan.trials.map((t) => (best.includes(Math.floor(t.index / 2)) ? 3 : 1)));
  });

  it('interrupted mid-rung, run again: promotions and metrics as uninterrupted, nothing trained twice', async () => {
    const file = sweepFile('halving: { metric: mean/loss, min_epochs: 1, max_epochs: 3, eta: 3 }\n');
    const plan = await planSweep(file);
    const alone = tempDir();
    await runSweep(plan, { runsDir: alone });

    const store = tempDir();
    const controller = new AbortController();
    let epochs = 0;
    const actions: string[] = [];
    const first = await runSweep(plan, {
      runsDir: store,
      signal: controller.signal,
      onTrialEnd: (o) => actions.push(o.action),
      listeners: [
        {
          onEpochEnd: () => {
            epochs++;
            if (epochs === 10) controller.abort(); // the first epoch of rung 1's first extension (9 rung-0 epochs)
          },
        },
      ],
    });
    expect(first.interrupted).toBe(true);
    expect(first.outcomes.map((o) => `${o.action} ${o.status}`).slice(-1)).toEqual(['extended interrupted']);
    const again = await runSweep(await planSweep(file), { runsDir: store, onTrialEnd: (o) => actions.push(o.action) });
    expect(again.interrupted).toBe(false);
    // Each trial trained from scratch once; the interrupted one resumed once, the other two promoted extended once.
    expect(actions.filter((a) => a === 'trained')).toHaveLength(9);
    expect(actions.filter((a) => a === 'resumed')).toHaveLength(1);
    expect(actions.filter((a) => a === 'extended')).toHaveLength(3);
    const rungs = (dir: string) => readSweepMeta(path.join(dir, plan.id)).halving?.rungs;
    expect(rungs(store)).toEqual(rungs(alone));
    for (const trial of plan.trials) {
      const resumed = readSummary(path.join(store, trial.id), trial.id);
      const uninterrupted = readSummary(path.join(alone, trial.id), trial.id);
      expect([resumed.epochs, resumed.val, resumed.test]).toEqual([
        uninterrupted.epochs,
        uninterrupted.val,
        uninterrupted.test,
      ]);
    }
    expect(JSON.parse(readFileSync(path.join(store, plan.id, 'sweep.json'), 'utf8'))).toMatchObject({
      search: 'halving',
      halving: { metric: 'mean/loss', higherIsBetter: false, minEpochs: 1, maxEpochs: 3, eta: 3, mode: 'sync' },
    });
  });
});
