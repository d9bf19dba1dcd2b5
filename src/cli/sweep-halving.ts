import path from 'node:path';
import type { SweepPlan } from '../api/sweep.js';
import { ExitCode } from '../errors.js';
import { readMeta } from '../runs/meta.js';
import type { HalvingRecord } from '../runs/sweep-rungs.js';
import { trialStatus } from '../runs/sweeps.js';
import { HALVING_RULE, plannedEpochs, type HalvingPlan } from '../sweep/halving.js';
import { log, out, printJson, table } from './output.js';
import { describeTrial } from './sweep-rows.js';

/**
 * `mtl sweep SWEEP.yaml --dry-run` for search: halving: the rung plan (budget, configurations, trials and epochs
 * trained per rung), the total against a grid's, and the trials with the epochs each has reached.
 */
export function halvingDryRun(plan: SweepPlan, halving: HalvingPlan, runsDir: string, json: boolean): number {
  const perConfiguration = plan.trials.length / Math.max(1, halving.configurations.length);
  let previous = 0;
  const rungs = halving.rungs.map((rung) => {
    const trained = rung.configurations * (rung.epochs - previous) * perConfiguration;
    previous = rung.epochs;
    return { ...rung, trials: rung.configurations * perConfiguration, epochsTrained: trained };
  });
  const epochs = plannedEpochs(halving.rungs);
  const total = { halving: epochs.halving * perConfiguration, grid: epochs.grid * perConfiguration };
  const trials = plan.trials.map((trial) => {
    const dir = path.join(runsDir, trial.id);
    const status = trialStatus(dir);
    return {
      ...describeTrial(trial),
      status,
      // A damaged trial's meta.json, which says its epochs, cannot be read.
      ...(status === 'pending' || status === 'damaged' ? {} : { epochs: readMeta(dir).epochsCompleted }),
    };
  });
  if (json) {
    const { configurations: _groups, rungs: _planned, ...settings } = halving;
    printJson({
      id: plan.id,
      dir: path.join(runsDir, plan.id),
      total: plan.trials.length,
      search: 'halving',
      halving: { ...settings, rule: HALVING_RULE, rungs, epochs: total },
      trials,
      duplicates: plan.duplicates,
    });
    return ExitCode.ok;
  }
  out(
    table(
      ['rung', 'epochs', 'configurations', 'trials', 'epochs trained'],
      rungs.map((r) => [r.rung, r.epochs, r.configurations, r.trials, r.epochsTrained].map(String)),
    ),
  );
  const share = total.grid > 0 ? Math.round((100 * total.halving) / total.grid) : 0;
  out(
    `${configurations(halving.configurations.length)} × ${perConfiguration} ` +
      `trial${perConfiguration === 1 ? '' : 's'} ` +
      `(seeds, task subsets): ${total.halving} epochs in all, against ${total.grid} for the grid (${share}%)`,
  );
  out(
    `ranked on val ${halving.metric} (${halving.higherIsBetter ? 'higher' : 'lower'} is better); the top ` +
      `max(1, ⌊n/${halving.eta}⌋) of each rung go on to the next`,
  );
  log(`${plan.trials.length} trials; nothing trained (--dry-run)`);
  return ExitCode.ok;
}

/** One line per rung: decided (with its promotions), waiting, or still to come. */
export function rungLines(record: HalvingRecord | undefined): string[] {
  if (!record) return [];
  const lines = record.plan.map((planned) => {
    const rung = record.rungs.find((r) => r.rung === planned.rung);
    const head = `rung ${planned.rung} (${planned.epochs} epoch${planned.epochs === 1 ? '' : 's'})`;
    if (!rung) return `${head}: ${configurations(planned.configurations)} planned, not reached yet`;
    const count = configurations(rung.configurations.length);
    if (!rung.decided) {
      return `${head}: ${count}, not decided: some trials have not finished it (run the sweep again)`;
    }
    const promoted = rung.configurations.filter((c) => c.promoted).length;
    return planned.rung === record.plan.length - 1
      ? `${head}: ${count} at the last rung`
      : `${head}: ${count}, ${promoted} promoted`;
  });
  return [`halving on val ${record.metric}, eta ${record.eta}:`, ...lines.map((line) => `  ${line}`)];
}

function configurations(count: number): string {
  return `${count} configuration${count === 1 ? '' : 's'}`;
}
