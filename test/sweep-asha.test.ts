/**
 * `halving: { mode: asha }` (api/sweep-asha.ts): the jobs run in the order ASHA's rules give for the values read back
 * from the runs as each job ended (replayed here by hand), and a sweep interrupted mid-job and run again ends with
 * the jobs, promotions and metrics of an uninterrupted one.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSweep, runSweep } from '../src/api/sweep.js';
import { readResolvedConfig } from '../src/runs/inputs.js';
import { readSummary } from '../src/runs/summary.js';
import { readSweepMeta } from '../src/runs/sweeps.js';
import { tempDir } from './helpers.js';
import { groupConfig } from './helpers/groups.js';

const BUDGETS = [1, 3, 9];

function sweepFile(): string {
  const dir = tempDir('mtl-asha-');
  writeFileSync(path.join(dir, 'base.yaml'), groupConfig({ epochs: 9 }));
  const file = path.join(dir, 'asha.yaml');
  writeFileSync(
    file,
    'base: base.yaml\nsearch: halving\nhalving: { metric: mean/loss, min_epochs: 1, eta: 3, mode: asha }\n' +
      'space:\n  training.lr: [0.001, 0.002, 0.004, 0.008, 0.016, 0.03, 0.06, 0.1, 0.2]\n',
  );
  return file;
}

/** The jobs (configuration, rung) in the order ASHA takes them, given each job's value (lower is better). */
function replay(value: (configuration: number, rung: number) => number): [number, number][] {
  const started = new Map<number, number>();
  const finished: number[][] = [[], [], []];
  const jobs: [number, number][] = [];
  const promotion = (atLeastOne: boolean): [number, number] | undefined => {
    for (let rung = 1; rung >= 0; rung--) {
      const done = finished[rung]!;
      const count = atLeastOne ? Math.max(1, Math.floor(done.length / 3)) : Math.floor(done.length / 3);
      const top = [...done].sort((a, b) => value(a, rung) - value(b, rung) || a - b).slice(0, count);
      const next = top.find((c) => started.get(c) === rung);
      if (next !== undefined) return [next, rung + 1];
    }
    return undefined;
  };
  for (;;) {
    const fresh = [0, 1, 2, 3, 4, 5, 6, 7, 8].find((c) => !started.has(c));
    const job =
      promotion(false) ?? (fresh === undefined ? undefined : ([fresh, 0] as [number, number])) ?? promotion(true);
    if (!job) return jobs;
    jobs.push(job);
    started.set(job[0], job[1]);
    finished[job[1]]!.push(job[0]);
  }
}

async function run(file: string, store: string, signal?: AbortSignal, onEpoch?: () => void) {
  const plan = await planSweep(file);
  const jobs: [number, number][] = [];
  const values = new Map<string, number>();
  const result = await runSweep(plan, {
    runsDir: store,
    ...(signal ? { signal } : {}),
    ...(onEpoch ? { listeners: [{ onEpochEnd: onEpoch }] } : {}),
    onTrialEnd: (outcome) => {
      if (outcome.action === 'skipped' || outcome.status !== 'completed') return;
      const dir = path.join(store, outcome.trial.id);
      const rung = BUDGETS.indexOf(readResolvedConfig(dir).training.epochs);
      jobs.push([outcome.trial.index, rung]);
      values.set(`${outcome.trial.index}/${rung}`, readSummary(dir, outcome.trial.id).val['mean/loss']!);
    },
  });
  return { plan, result, jobs, values };
}

describe('ASHA (mode: asha)', () => {
  it('takes its jobs in the order the rules give for the values read back, and resumes to the same end', async () => {
    const file = sweepFile();
    const alone = tempDir();
    const { plan, result, jobs, values } = await run(file, alone);
    expect(result.interrupted).toBe(false);
    const value = (c: number, rung: number) => values.get(`${c}/${rung}`) ?? Number.NaN;
    expect(jobs).toEqual(replay(value));
    // The first three configurations train rung 0, then the best of them goes on to rung 1 at once.
    expect(jobs.slice(0, 3)).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
    expect(jobs[3]?.[1]).toBe(1);
    expect(jobs.filter(([, rung]) => rung === 2).length).toBeGreaterThanOrEqual(1);
    const meta = readSweepMeta(result.dir);
    expect(meta.halving?.mode).toBe('asha');
    expect(meta.halving?.rule).toMatch(/^asynchronous \(ASHA\)/);

    // Interrupted in the 6th job (an epoch into it), then run again: the same rungs and metrics.
    const store = tempDir();
    const controller = new AbortController();
    let epochs = 0;
    const cut = jobs
      .slice(0, 5)
      .reduce((sum, [, rung]) => sum + BUDGETS[rung]! - (rung > 0 ? BUDGETS[rung - 1]! : 0), 0);
    const first = await run(file, store, controller.signal, () => {
      epochs++;
      if (epochs === cut + 1) controller.abort();
    });
    expect(first.result.interrupted).toBe(true);
    const again = await run(file, store);
    expect(again.result.interrupted).toBe(false);
    expect([...first.jobs, ...again.jobs]).toEqual(jobs);
    expect(readSweepMeta(again.result.dir).halving?.rungs).toEqual(meta.halving?.rungs);
    for (const trial of plan.trials) {
      const resumed = readSummary(path.join(store, trial.id), trial.id);
      const uninterrupted = readSummary(path.join(alone, trial.id), trial.id);
      expect([resumed.epochs, resumed.val]).toEqual([uninterrupted.epochs, uninterrupted.val]);
    }
  });
});
