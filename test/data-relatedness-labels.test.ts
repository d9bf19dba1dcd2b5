/**
 * `mtl analyze`'s data relatedness measures a pair of tasks on the rows both label (analysis/data-relatedness.ts):
 * a masked row's placeholder target no longer enters the association, and tasks of different data sources
 * (multi-input MTL, which share no row) get no value rather than one computed on placeholders.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dataRelatedness } from '../src/analysis/data-relatedness.js';
import { parseConfigText } from '../src/config/load.js';
import { prepareMultiInput } from '../src/data/multi-input.js';
import { analyzeRun, initBackend, trainExperiment } from '../src/index.js';
import { tempDir } from './helpers.js';
import { configText, writeSources } from './helpers/multi-input.js';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  dir = tempDir('mtl-relatedness-labels-');
  writeSources(dir);
}, 60_000);

const load = () => parseConfigText(configText(), { file: path.join(dir, 'exp.yaml') });

describe('data relatedness with missing labels', () => {
  it('a masked row is left out: z = 2y on the three rows both label gives r = 1 exactly', async () => {
    const { config } = load();
    const { preprocessing } = await prepareMultiInput(config, dir);
    const rows = {
      rows: 4,
      x: new Float32Array(8),
      // Row 3: y is 100, z is unlabelled (placeholder 0); with it, r would be far from 1.
      targets: { y: Float32Array.from([1, 2, 3, 100]), z: Float32Array.from([2, 4, 6, 0]) },
      labelled: { y: Uint8Array.from([1, 1, 1, 1]), z: Uint8Array.from([1, 1, 1, 0]) },
    };
    const measured = dataRelatedness(rows, preprocessing, config.tasks);
    expect(measured.association['y|z']).toBe(1);
    expect(measured.pairRows).toEqual({ 'y|z': 3 });
  });

  it('tasks of different sources share no row: no value, 0 rows, in mtl analyze of a multi-input run', async () => {
    const runsDir = path.join(dir, 'runs');
    const run = await trainExperiment(load(), { runsDir });
    const report = await analyzeRun(run.id, { runsDir });
    expect(report.data?.pairRows).toEqual({ 'y|z': 0 });
    expect(report.data?.association).toEqual({});
    expect(report.data?.mutualInformation).toEqual({});
  }, 60_000);
});
