/**
 * README "Library": everything the CLI does is exported from src/index.ts. One row per command (and per flag that is
 * an operation of its own), with the function a script calls instead.
 */
import { describe, expect, it } from 'vitest';
import * as library from '../src/index.js';

const OPERATIONS: readonly (readonly [command: string, exported: string])[] = [
  ['mtl train', 'trainExperiment'],
  ['mtl train --baselines', 'trainWithBaselines'],
  ['mtl train --seeds', 'trainSeedGroup'],
  ['mtl train --resume', 'resumeExperiment'],
  ['mtl train --resume GROUP', 'resumeSeedGroup'],
  ['mtl validate', 'validateData'],
  ['mtl eval', 'evaluateRun'],
  ['mtl compare', 'compareRuns'],
  ['mtl compare --baseline', 'compareWithBaseline'],
  ['mtl compare GROUP…', 'compareGroups'],
  ['mtl compare --sweep', 'compareSweep'],
  ['mtl analyze', 'analyzeRun'],
  ['mtl features', 'extractFeatures'],
  ['mtl sweep', 'runSweep'],
  ['mtl sweep --dry-run', 'planSweep'],
  ['mtl sweep --emit', 'emitJobs'],
  ['mtl sweep status', 'sweepStatus'],
  ['mtl sweep (halving: a trial extended)', 'extendExperiment'],
  ['mtl report', 'writeReport'],
  ['mtl runs', 'listRuns'],
  ['mtl runs merge', 'mergeRuns'],
  ['mtl doctor', 'probeBackends'],
];

describe('the library', () => {
  it.each(OPERATIONS)('%s is exported as %s', (_command, name) => {
    expect(typeof Reflect.get(library, name)).toBe('function');
  });
});
