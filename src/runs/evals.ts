import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { MetricValues } from '../metrics/types.js';
import { writeJsonAtomic } from './atomic.js';
import { asFileSystemError } from './fs-errors.js';
import { JsonFields } from './json.js';
import { evalsDir, type CheckpointName } from './layout.js';
import { adversaryRecords } from './logs.js';
import type { AdversaryRecord } from './summary.js';
import { makeDirectories } from './make-dirs.js';

/** One `mtl eval`: stored as `evals/<time>-<checkpoint>-<data>.json` in the run, beside what training wrote. */
export interface EvaluationResult {
  run: string;
  runDir: string;
  checkpoint: CheckpointName;
  epoch: number;
  /** `val`/`test`/`train`, or the CSV path given. */
  data: string;
  rows: number;
  metrics: MetricValues;
  directions: Record<string, boolean>;
  backend: string;
  /** Adversaries (issue #18) on the same rows: loss, accuracy, chance (the majority rate); not in `metrics`. */
  adversaries?: Record<string, AdversaryRecord>;
  /** What was left out of the evaluation and why (a file without the domain column: the domain discriminator). */
  notes?: string[];
  /** What the rows hold that the model cannot read as training did (`eval --data`: a category it never saw). */
  warnings?: string[];
  /** Where the result was stored inside the run. */
  file: string;
}

/**
 * Stores an evaluation under the run's evals/ (created when needed), in a file of its own, and returns it with the file
 * it went to. Callers hold the run's lock (runs/lock.ts), so no other writer picks the same name meanwhile.
 */
export function saveEvaluation(
  runDir: string,
  result: Omit<EvaluationResult, 'file'>,
  now: Date = new Date(),
): EvaluationResult {
  const dir = evalsDir(runDir);
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const label = path.basename(result.data).replace(/[^A-Za-z0-9._-]/g, '_');
  const base = `${stamp}-${result.checkpoint}-${label}`;
  // Two evaluations in the same millisecond (one after the other under the run's lock) each keep their file; `_2`
  // sorts after the plain name, so the listing stays oldest first.
  let file = path.join(dir, `${base}.json`);
  for (let n = 2; existsSync(file); n++) file = path.join(dir, `${base}_${n}.json`);
  const saved: EvaluationResult = { ...result, file };
  try {
    makeDirectories(dir);
    writeJsonAtomic(file, saved);
  } catch (error) {
    throw asFileSystemError(error, 'store the evaluation in', dir);
  }
  return saved;
}

/** The run's stored evaluations, oldest first. */
export function readEvaluations(runDir: string): EvaluationResult[] {
  const dir = evalsDir(runDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
    .sort()
    .map((name) => {
      const fields = JsonFields.read(path.join(dir, name));
      return {
        run: fields.string('run'),
        runDir: fields.string('runDir'),
        checkpoint: fields.oneOf('checkpoint', ['best', 'last']),
        epoch: fields.number('epoch'),
        data: fields.string('data'),
        rows: fields.number('rows'),
        metrics: fields.metricValues('metrics'),
        directions: fields.object('directions').booleanValues(),
        backend: fields.string('backend'),
        ...(fields.has('adversaries') ? { adversaries: adversaryRecords(fields.object('adversaries')) } : {}),
        ...(fields.has('notes') ? { notes: fields.strings('notes') } : {}),
        ...(fields.has('warnings') ? { warnings: fields.strings('warnings') } : {}),
        file: fields.string('file'),
      };
    });
}
