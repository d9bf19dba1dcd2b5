/**
 * A seed group with baselines stopped by Ctrl-C during a member's baselines, through the built CLI: train says how to
 * resume the member and the group; a seed never started is not a run to resume (the message names the command that
 * trains it); `mtl train --resume GROUP` finishes the member and trains the rest, prints the group summary and
 * completes the group (exit 0); a completed group is refused (exit 2). An id prefix that starts both a run and a
 * group is refused too, naming both and how to name one, before either is touched.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { trainInterrupted } from './helpers/cli-async.js';
import { fakeGroup, groupConfig } from './helpers/groups.js';
import { fakeRun } from './helpers/runs.js';

const json = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe('mtl train --resume GROUP after Ctrl-C during a member’s baselines', () => {
  it('says how to resume, refuses a seed not started, and finishes the group', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'g.yaml');
    // Enough epochs that the first baseline is still training when the signal is handled (up to ~0.5 s later).
    writeFileSync(file, groupConfig({ epochs: 300, extra: 'baselines: single-task' }));
    const runsDir = path.join(dir, 'runs');
    const stopped = await trainInterrupted(
      [file, '--seeds', '0,1', '--runs-dir', runsDir],
      /\/seed-0\/baselines\/y1\n(.*\n)*epoch 1\/300/,
    );
    expect(stopped.code, stopped.stderr).toBe(130);
    const id = stopped.stdout.split('\n')[0] ?? '';
    const lines = stopped.stderr.trim().split('\n');
    expect(lines).toContain(
      'baselines: interrupted during baselines/y1 ' +
        `(the multi-task run completed; train the rest with: mtl train --resume ${id}/seed-0)`,
    );
    expect(lines.at(-1)).toBe(
      `group status interrupted (interrupted after 1 of 2 seeds started); resume it with: mtl train --resume ${id}`,
    );

    const notStarted = mtl(['train', '--resume', `${id}/seed-1`, '--runs-dir', runsDir]);
    expect(notStarted.code).toBe(2);
    expect(notStarted.stderr).toBe(
      `mtl: Group ${id} has no run "seed-1": seed 1 has not started.\n` +
        `  - train it, and finish the group's other seeds, with: mtl train --resume ${id}\n` +
        `  - its members: ${id}/seed-0 (completed)\n`,
    );

    const resumed = await mtlInProcess(['train', '--resume', id, '--runs-dir', runsDir]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout.split('\n')[0]).toBe(id);
    expect(resumed.stdout).toMatch(/^metric +test mean ± std +n +per seed \(0, 1\)$/m);
    expect(resumed.stdout).toContain('MTL vs single-task baseline (test split, seeds 0, 1):');
    const log = resumed.stderr.trim().split('\n');
    expect(log).toContain(`seed 0 (1 of 2): resuming ${id}/seed-0`);
    expect(log).toContain('seed 1 (2 of 2)');
    expect(log.at(-1)).toBe('group status completed');
    const group = json(path.join(runsDir, id, 'group.json'));
    expect(group['status']).toBe('completed');
    expect(group['members']).toMatchObject([
      { seed: 0, status: 'completed' },
      { seed: 1, status: 'completed' },
    ]);
    expect(json(path.join(runsDir, id, 'group-summary.json'))['transfer']).toMatchObject({ seeds: [0, 1] });

    const again = await mtlInProcess(['train', '--resume', id, '--runs-dir', runsDir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(
      `mtl: Group ${id} is completed; there is nothing to resume.\n` +
        '  - to train more seeds, start a new group: mtl train CONFIG --seeds …\n',
    );
  }, 150_000);
});

describe('mtl train --resume PREFIX that starts both a run and a seed group', () => {
  it('exits 2 naming both, and resumes neither', async () => {
    const runsDir = path.join(tempDir(), 'runs');
    const group = '20260101-000200-corr-seeds-cccccc';
    const run = '20260101-000200-other-eeeeee';
    fakeGroup(runsDir, group, { 0: { 'y1/mse': 1 } });
    fakeRun(runsDir, run, { meta: { status: 'interrupted' } });
    const before = readdirSync(runsDir, { recursive: true }).sort();
    const result = await mtlInProcess(['train', '--resume', '20260101-0002', '--runs-dir', runsDir]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `mtl: "20260101-0002" is ambiguous in ${runsDir}: it matches both a run and a seed group:\n` +
        `  - run ${run}\n` +
        `  - seed group ${group}\n` +
        '  - give more characters of the id, or the path\n',
    );
    expect(readdirSync(runsDir, { recursive: true }).sort()).toEqual(before);
  });
});
