import { existsSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from './atomic.js';
import { asFileSystemError } from './fs-errors.js';
import { JsonFields } from './json.js';
import { makeDirectories } from './make-dirs.js';

/**
 * Successive halving's records (sweep/halving.ts, api/sweep-halving.ts):
 *
 *   <runs>/<sweep-id>/rungs/<hash>.json   per trial, its value at each rung it finished (written before the trial
 *                                         is extended past the rung, so the run's later summary never changes it)
 *   sweep.json `halving`                  the settings, the rule, the plan and, per rung, its configurations with
 *                                         their values and which were promoted
 */
export interface TrialRungRecord {
  rung: number;
  epochs: number;
  /** The metric's val value in summary.json when the trial finished the rung (null in JSON: none or not finite). */
  value: number | undefined;
  /** The run stopped early at this rung: final. */
  stoppedEarly: boolean;
}

export interface HalvingConfigurationRecord {
  configuration: number;
  /** The trials' hashes (one per seed and task subset). */
  trials: string[];
  overrides: string[];
  tasks?: string[];
  /** The mean over its trials; absent when a trial has none yet (or failed, diverged). */
  value?: number;
  promoted: boolean;
}

export interface HalvingRungRecord {
  rung: number;
  epochs: number;
  /** Every trial of the rung finished it, and the promotions were decided. */
  decided: boolean;
  configurations: HalvingConfigurationRecord[];
}

export interface HalvingRecord {
  metric: string;
  higherIsBetter: boolean;
  minEpochs: number;
  maxEpochs: number;
  eta: number;
  mode: 'sync' | 'asha';
  rule: string;
  /** The planned rungs: budget and configuration count. */
  plan: { rung: number; epochs: number; configurations: number }[];
  rungs: HalvingRungRecord[];
}

function rungFile(sweepDir: string, hash: string): string {
  return path.join(sweepDir, 'rungs', `${hash}.json`);
}

export function readTrialRungs(sweepDir: string, hash: string): TrialRungRecord[] {
  const file = rungFile(sweepDir, hash);
  if (!existsSync(file)) return [];
  return JsonFields.read(file)
    .objects('rungs')
    .map((rung) => {
      const value = rung.numberOrNaN('value');
      return {
        rung: rung.number('rung'),
        epochs: rung.number('epochs'),
        value: Number.isFinite(value) ? value : undefined,
        stoppedEarly: rung.boolean('stoppedEarly'),
      };
    });
}

/** Adds (or replaces) the trial's record of one rung. */
export function writeTrialRung(sweepDir: string, hash: string, record: TrialRungRecord): void {
  const kept = readTrialRungs(sweepDir, hash).filter((r) => r.rung !== record.rung);
  const rungs = [...kept, record].sort((a, b) => a.rung - b.rung).map((r) => ({ ...r, value: r.value ?? null }));
  try {
    makeDirectories(path.join(sweepDir, 'rungs'));
  } catch (error) {
    throw asFileSystemError(error, 'create the rungs folder in', sweepDir);
  }
  try {
    writeJsonAtomic(rungFile(sweepDir, hash), { hash, rungs });
  } catch (error) {
    const file = rungFile(sweepDir, hash);
    throw asFileSystemError(error, `write ${path.basename(file)} in the rungs folder`, path.dirname(file));
  }
}

/** sweep.json's `halving`, checked field by field. */
export function readHalvingRecord(fields: JsonFields): HalvingRecord {
  return {
    metric: fields.string('metric'),
    higherIsBetter: fields.boolean('higherIsBetter'),
    minEpochs: fields.number('minEpochs'),
    maxEpochs: fields.number('maxEpochs'),
    eta: fields.number('eta'),
    mode: fields.oneOf('mode', ['sync', 'asha']),
    rule: fields.string('rule'),
    plan: fields.objects('plan').map((rung) => ({
      rung: rung.number('rung'),
      epochs: rung.number('epochs'),
      configurations: rung.number('configurations'),
    })),
    rungs: fields.objects('rungs').map((rung) => ({
      rung: rung.number('rung'),
      epochs: rung.number('epochs'),
      decided: rung.boolean('decided'),
      configurations: rung.objects('configurations').map((entry) => {
        const value = entry.optionalNumber('value');
        const tasks = entry.has('tasks') ? entry.strings('tasks') : undefined;
        return {
          configuration: entry.number('configuration'),
          trials: entry.strings('trials'),
          overrides: entry.strings('overrides'),
          ...(tasks === undefined ? {} : { tasks }),
          ...(value === undefined ? {} : { value }),
          promoted: entry.boolean('promoted'),
        };
      }),
    })),
  };
}
