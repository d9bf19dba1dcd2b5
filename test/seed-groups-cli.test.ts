/**
 * `mtl train --seeds` and `seeds:` through the built CLI: the bad lists it refuses (exit 2, the value quoted, nothing
 * created, an earlier run untouched), a group trained and printed as JSON, `mtl runs` with groups, `mtl eval` and
 * `mtl compare` with groups and members, and Ctrl-C during a group (exit 130, group.json `interrupted`).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { bin, mtl, mtlInProcess, root } from './helpers/cli.js';
import { groupConfig } from './helpers/groups.js';
import { fakeRun } from './helpers/runs.js';
import { snapshotRun } from './helpers/run-snapshot.js';

function configFile(text: string): string {
  const file = path.join(tempDir(), 'g.yaml');
  writeFileSync(file, text);
  return file;
}

describe('bad --seeds and seeds:', () => {
  const cases: [string, string][] = [
    ['0,1,1', '--seeds "0,1,1": seed 1 is listed twice; list each seed once.'],
    ['', '--seeds "": no seeds.'],
    ['0,x', '--seeds "0,x": "x" is not a whole number ≥ 0.'],
    ['0,-1', '--seeds "0,-1": "-1" is not a whole number ≥ 0.'],
    ['1.5', '--seeds "1.5": "1.5" is not a whole number ≥ 0.'],
    ['0,,1', '--seeds "0,,1": an empty entry.'],
  ];
  for (const [flag, message] of cases) {
    it(`--seeds "${flag}" exits 2, names the value, creates nothing and leaves an earlier run as it was`, () => {
      const runsDir = tempDir();
      const earlier = fakeRun(runsDir, '20260101-000000-earlier-aaaaaa', { test: { 'y1/mse': 1 } });
      const before = snapshotRun(earlier);
      const result = mtl(['train', configFile(groupConfig()), '--seeds', flag, '--runs-dir', runsDir]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `mtl: ${message}\n  - give whole numbers ≥ 0 separated by commas, e.g. --seeds 0,1,2\n`,
      );
      expect(readdirSync(runsDir)).toEqual(['20260101-000000-earlier-aaaaaa']);
      expect(snapshotRun(earlier)).toEqual(before);
    });
  }

  it('seed and seeds both in the config: exit 2 at the line of seeds', async () => {
    const file = configFile(`seed: 1\n${groupConfig({ seeds: '[0, 1]' })}`);
    const result = await mtlInProcess(['train', file, '--runs-dir', tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${file}:3:1: seeds: cannot be given together with "seed": "seeds" trains one run per seed as a group, "seed" ` +
        'one run. Keep one of them (e.g. seeds: [0, 1, 2], or seed: 0).',
    );
  });

  it('duplicate, empty and fractional seeds: lists in the config name the entry', () => {
    const problems = (seeds: string): string => mtl(['validate', configFile(groupConfig({ seeds }))]).stderr;
    expect(problems('[0, 2, 2]')).toMatch(
      /g\.yaml:2:8: seeds: 2 is listed twice \(entries 1 and 2\); list each value once/,
    );
    expect(problems('[]')).toMatch(
      /g\.yaml:2:8: seeds: is an empty list; give at least one entry, or remove the field/,
    );
    expect(problems('[0, 0.5]')).toMatch(/g\.yaml:2:12: seeds\[1\]: expected a whole number, got 0\.5/);
  });

  it('--seeds with --resume is refused', async () => {
    const result = await mtlInProcess(['train', '--resume', 'x', '--seeds', '0,1', '--runs-dir', tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('mtl train: --seeds trains new runs; it cannot be used with --resume x.');
  });
});

describe('a group through the CLI', () => {
  const runsDir = tempDir();
  let group = '';
  let other = '';
  beforeAll(async () => {
    const trained = await mtlInProcess([
      'train',
      configFile(groupConfig()),
      '--seeds',
      '0,1',
      '--json',
      '--runs-dir',
      runsDir,
    ]);
    expect(trained.code, trained.stderr).toBe(0);
    const printed = JSON.parse(trained.stdout) as {
      group: { id: string; status: string; seeds: number[] };
      summary: { metrics: { key: string; n: number }[] };
    };
    group = printed.group.id;
    expect(printed.group).toMatchObject({ status: 'completed', seeds: [0, 1] });
    expect(printed.summary.metrics.find((m) => m.key === 'y1/mse')?.n).toBe(2);
    // `seeds:` in the config trains a group too; the flag is not needed.
    const fromConfig = await mtlInProcess([
      'train',
      configFile(groupConfig({ seeds: '[0, 1]' })),
      '--runs-dir',
      runsDir,
    ]);
    expect(fromConfig.code, fromConfig.stderr).toBe(0);
    other = fromConfig.stdout.split('\n')[0] ?? '';
    expect(fromConfig.stdout).toMatch(/^metric/m);
  });

  it('mtl runs lists each group as one line; mtl runs GROUP its members', async () => {
    const listed = await mtlInProcess(['runs', '--runs-dir', runsDir]);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^group +name +status +created +seeds +members$/);
    expect(lines).toHaveLength(4);
    expect(lines.find((line) => line.startsWith(group))).toMatch(/ corr +completed .* 0,1 +2\/2 \(2 completed\)$/);
    // A prefix of the id: up to its random suffix (the other group is also "corr" and may share the second).
    const members = await mtlInProcess(['runs', group.slice(0, -2), '--runs-dir', runsDir, '--json']);
    expect(members.code).toBe(0);
    const parsed = JSON.parse(members.stdout) as { runs: { id: string; seed: number }[] };
    expect(parsed.runs.map((r) => [r.id, r.seed])).toEqual([
      [`${group}/seed-0`, 0],
      [`${group}/seed-1`, 1],
    ]);
  });

  it('mtl eval takes a member as GROUP/seed-N, and refuses the group itself with its members named', async () => {
    const member = await mtlInProcess(['eval', `${group}/seed-1`, '--json', '--runs-dir', runsDir]);
    expect(member.code, member.stderr).toBe(0);
    expect(JSON.parse(member.stdout)).toMatchObject({ run: `${group}/seed-1` });
    const whole = await mtlInProcess(['eval', group, '--runs-dir', runsDir]);
    expect(whole.code).toBe(2);
    expect(whole.stderr).toBe(
      `mtl: ${group} is a seed group, not a run: this command takes one run.\n` +
        `  - name one of its members: ${group}/seed-0, ${group}/seed-1\n` +
        '  - `mtl runs GROUP` lists them; `mtl compare` and `mtl report --group` take groups\n',
    );
  });

  it('mtl compare takes groups (paired by seed) and refuses a group with a run', async () => {
    const compared = await mtlInProcess(['compare', group, other, '--json', '--runs-dir', runsDir]);
    expect(compared.code, compared.stderr).toBe(0);
    const parsed = JSON.parse(compared.stdout) as { pairing: string; deltaM: { deltaM: { mean: number } }[] };
    expect(parsed.pairing).toBe('paired-by-seed');
    // The same config and seeds train the same runs: Δm 0.
    expect(parsed.deltaM[0]?.deltaM.mean).toBe(0);
    const mixed = await mtlInProcess(['compare', group, `${other}/seed-0`, '--runs-dir', runsDir]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain(
      `mtl: mtl compare: give runs or seed groups, not both (groups: ${group}; runs: ${other}/seed-0).`,
    );
  });
});

describe('Ctrl-C during a group', () => {
  it('stops at the current member: exit 130, member and group.json interrupted, no later seed', async () => {
    const runsDir = tempDir();
    const file = configFile(groupConfig({ epochs: 300 }));
    const child = spawn(process.execPath, [bin, 'train', file, '--seeds', '0,1,2', '--runs-dir', runsDir], {
      cwd: root,
      env: { ...process.env, CI: 'true' },
    });
    let stderr = '';
    let signalled = false;
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (!signalled && stderr.includes('epoch 3/300')) {
          signalled = true;
          child.kill('SIGINT');
        }
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code).toBe(130);
    const [id] = readdirSync(runsDir);
    const dir = path.join(runsDir, id!);
    const meta = JSON.parse(readFileSync(path.join(dir, 'group.json'), 'utf8')) as {
      status: string;
      members: { seed: number; status: string }[];
    };
    expect(meta.status).toBe('interrupted');
    expect(meta.members).toEqual([expect.objectContaining({ seed: 0, status: 'interrupted' })]);
    expect(readdirSync(dir).sort()).toEqual(['group-summary.json', 'group.json', 'seed-0']);
  });
});
