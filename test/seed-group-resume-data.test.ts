/**
 * `mtl train --resume GROUP` when the group's CSV was edited after its first member trained: the seeds not started
 * would train on other data than the members before them, so the resume is refused before anything trains, naming
 * the file and its sha256 then and now, and the group is left as it was; with the data put back it completes.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { resumeSeedGroup, trainSeedGroup } from '../src/index.js';
import { tempDir } from './helpers.js';
import { tinyRegressionConfig } from './helpers/configs.js';

describe('a seed group resumed after its data changed', () => {
  it('is refused before anything trains, naming the CSV; the group untouched; put back, it completes', async () => {
    const runsDir = tempDir('mtl-runs-');
    const dataDir = tempDir();
    const controller = new AbortController();
    let training = '';
    const stopped = await trainSeedGroup(tinyRegressionConfig(dataDir, { epochs: 2, batch_size: 8 }), {
      runsDir,
      seeds: [0, 1, 2],
      signal: controller.signal,
      onRunCreated: (run) => {
        training = run.id;
      },
      // Stopped between two members: seed 1 has ended, seed 2 has not started (each member checks its own data when
      // it is resumed; a seed not started has nothing of its own to check against).
      listeners: [
        {
          onEpochEnd: (record) => {
            if (training.endsWith('seed-1') && record.epoch === 2) controller.abort();
          },
        },
      ],
    });
    expect(stopped.group.status).toBe('interrupted');
    expect(stopped.members.map((m) => m.status)).toEqual(['completed', 'completed']);
    const { id } = stopped.group;

    const csv = path.join(dataDir, 'tiny.csv');
    const original = readFileSync(csv, 'utf8');
    appendFileSync(csv, `${original.split('\n')[1] ?? ''}\n`);
    const files = ['group.json', 'seed-0/meta.json', 'seed-1/meta.json'].map((f) => path.join(stopped.dir, f));
    const before = files.map((f) => readFileSync(f, 'utf8'));

    const error = await resumeSeedGroup(id, { runsDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(
      `Group ${id}: its data has changed since seed 0 trained, so seed 2 would train on other data than the members ` +
        'before them; nothing was trained or changed:',
    );
    const [changed, fix] = (error as UsageError).details;
    expect(changed).toMatch(/^CSV .* changed since seed 0 trained: sha256 [0-9a-f]{12}… → [0-9a-f]{12}…$/);
    expect(changed?.startsWith(`CSV ${csv} changed`)).toBe(true);
    expect(fix).toBe(
      'put the data back as it was to continue the group, or train a new group on the new data: ' +
        'mtl train CONFIG --seeds …',
    );
    expect(files.map((f) => readFileSync(f, 'utf8'))).toEqual(before);
    expect(existsSync(path.join(stopped.dir, 'seed-2'))).toBe(false);

    writeFileSync(csv, original);
    const resumed = await resumeSeedGroup(id, { runsDir });
    expect(resumed.group.status).toBe('completed');
    expect(resumed.members.map((m) => m.status)).toEqual(['completed', 'completed', 'completed']);
  });
});
