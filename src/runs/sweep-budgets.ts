import { JsonFields } from './json.js';
import { sweepFile } from './sweeps.js';

/**
 * The epoch budget each trial of a sweep reached, from the optional `epochs` field of its record in sweep.json
 * (written by a successive-halving sweep, where trials stop at different budgets): hash → epochs. Trials without the
 * field are absent, so a sweep file that never had it gives an empty map. Read apart from readSweepMeta so that
 * `mtl compare --sweep` works whether or not the record type knows the field.
 */
export function readTrialEpochBudgets(sweepDir: string): Map<string, number> {
  const budgets = new Map<string, number>();
  for (const trial of JsonFields.read(sweepFile(sweepDir)).objects('trials')) {
    const epochs = trial.optionalNumber('epochs');
    if (epochs !== undefined) budgets.set(trial.string('hash'), epochs);
  }
  return budgets;
}
