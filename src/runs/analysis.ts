import { existsSync } from 'node:fs';
import type { AnalysisReport } from '../analysis/types.js';
import { writeJsonAtomic } from './atomic.js';
import { asFileSystemError } from './fs-errors.js';
import { JsonFields } from './json.js';
import { runFile } from './layout.js';

/**
 * Stores `mtl analyze`'s report as `analysis.json` in the run (temp file + rename: a reader sees the old report or the
 * new one, never half of one); a later analysis replaces it. Non-finite values are written as null. The caller holds
 * the run's lock.
 */
export function saveAnalysis(runDir: string, report: AnalysisReport): string {
  const file = runFile(runDir, 'analysis');
  try {
    writeJsonAtomic(file, report);
  } catch (error) {
    throw asFileSystemError(error, 'store the analysis in', runDir);
  }
  return file;
}

/** The stored report, or undefined when the run was never analysed. Its shape is checked where it is read. */
export function readAnalysisIfAny(runDir: string): AnalysisReport | undefined {
  const file = runFile(runDir, 'analysis');
  if (!existsSync(file)) return undefined;
  const fields = JsonFields.read(file);
  fields.string('run');
  fields.string('createdAt');
  fields.strings('tasks');
  fields.array('warnings');
  fields.object('unavailable');
  // The fields a reader depends on were checked above; the measures are this module's own writing.
  return fields.value as unknown as AnalysisReport;
}
