/**
 * A run keeps its CSV's size and sha256 (data-source.json), and `mtl compare` tells by them whether two runs read the
 * same data: a copy in another folder is the same data, a file edited in place between two runs is not.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareRuns, trainExperiment } from '../src/index.js';
import { tempDir } from './helpers.js';
import { tinyRegressionConfig } from './helpers/configs.js';

describe('data-source.json and compare', () => {
  it('records the CSV fingerprint and warns when the same path held other contents', async () => {
    const runsDir = tempDir();
    const here = tempDir();
    const first = await trainExperiment(tinyRegressionConfig(here, { epochs: 1 }), { runsDir });
    const csv = path.join(here, 'tiny.csv');
    const recorded = JSON.parse(readFileSync(path.join(first.dir, 'data-source.json'), 'utf8'));
    expect(recorded).toEqual({
      file: csv,
      bytes: readFileSync(csv).byteLength,
      sha256: createHash('sha256').update(readFileSync(csv)).digest('hex'),
    });

    // The same bytes written into another folder: the same data, nothing to warn about.
    const copy = await trainExperiment(tinyRegressionConfig(tempDir(), { epochs: 1 }), { runsDir });
    expect((await compareRuns([first.id, copy.id], { runsDir })).warnings).toEqual([]);

    // The file edited in place, then trained on again from the same config (which writes tiny.csv as it loads).
    const again = tinyRegressionConfig(here, { epochs: 1 });
    const lines = readFileSync(csv, 'utf8').trimEnd().split('\n');
    appendFileSync(csv, `${lines[lines.length - 1]}\n`);
    const edited = await trainExperiment(again, { runsDir });
    const [warning] = (await compareRuns([first.id, edited.id], { runsDir })).warnings;
    expect(warning).toMatch(
      new RegExp(`^${edited.id} was trained on other data than ${first.id} \\(CSV .*tiny\\.csv `),
    );
    expect(warning).toMatch(/ changed between the runs: sha256 [0-9a-f]{12}… → [0-9a-f]{12}…\): its metrics are not /);
  });
});
