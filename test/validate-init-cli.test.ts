import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, trainExperiment } from '../src/index.js';
import { tempDir, writeFile } from './helpers.js';
import { mtl, mtlInProcess, root, type CliResult } from './helpers/cli.js';
import { snapshotRun } from './helpers/run-snapshot.js';
import { transferConfig, transferConfigText, type TransferFields } from './helpers/transfer-init.js';

/**
 * `mtl validate` checks a config "as train would": with `init:` that includes finding the source run in the runs
 * folder (`--runs-dir`, `$MTL_RUNS_DIR`, `./runs`) and matching the selectors against its checkpoint. It once passed a
 * placeholder `init.from` and selectors that pick nothing, which only `mtl train` then refused.
 */
describe('mtl validate with init:', () => {
  const dir = tempDir('mtl-validate-init-');
  const runsDir = path.join(dir, 'runs');
  let sourceId = '';
  beforeAll(async () => {
    await initBackend('wasm', { fma: 'off' });
    const source = transferConfig(dir, 'source', { tasks: ['y1', 'y2'], training: { epochs: 1 } });
    sourceId = (await trainExperiment(source, { runsDir })).id;
  });

  function config(name: string, fields: TransferFields): string {
    const init = fields.init?.map((line) => line.replace('SOURCE', sourceId));
    return writeFile(dir, `${name}.yaml`, transferConfigText(name, { ...fields, ...(init ? { init } : {}) }));
  }

  /** Runs `args`, and asserts it left the store and the source run as they were. */
  async function unchanged(run: () => CliResult | Promise<CliResult>): Promise<CliResult> {
    const before = readdirSync(runsDir).sort();
    const source = snapshotRun(path.join(runsDir, sourceId));
    const result = await run();
    expect(readdirSync(runsDir).sort()).toEqual(before);
    expect(snapshotRun(path.join(runsDir, sourceId))).toEqual(source);
    return result;
  }

  /** What follows `mtl: ` on stderr: the message and its details (train prints its data report before it). */
  const errorText = (stderr: string): string => stderr.slice(stderr.indexOf('mtl: '));

  it('passes a source that fits, found through --runs-dir or $MTL_RUNS_DIR, and writes nothing', async () => {
    const file = config('fits', {
      tasks: ['y2', 'y3'],
      init: ['from: SOURCE', 'load: [shared, heads]', 'freeze: [shared/0/kernel]'],
    });
    const flag = await unchanged(() => mtl(['validate', file, '--runs-dir', runsDir]));
    expect(flag.code, flag.stderr).toBe(0);
    expect(flag.stdout).toContain('fits.yaml: valid (2 tasks: y2, y3)');
    const env = await unchanged(() => mtlInProcess(['validate', file, '--json'], { MTL_RUNS_DIR: runsDir }));
    expect(env.code, env.stderr).toBe(0);
    expect(JSON.parse(env.stdout)).toMatchObject({ valid: true });
  });

  it('refuses the shipped penguins-finetune.yaml with its PRETRAIN_RUN placeholder, as train does', async () => {
    const file = path.join(root, 'configs', 'penguins-finetune.yaml');
    const validated = await unchanged(() => mtlInProcess(['validate', file], { MTL_RUNS_DIR: runsDir }));
    expect(validated.code, validated.stderr).toBe(2);
    expect(validated.stdout).toBe('');
    // Located at the config's line, with how to name the source without editing the file (it had neither).
    expect(validated.stderr).toBe(
      `mtl: ${file}:19:9: init.from "PRETRAIN_RUN": No run "PRETRAIN_RUN" in ${runsDir}. Name a run by id, unique ` +
        'id prefix, or path; `mtl runs` lists them.\n' +
        '  - give the id of the run to start from in the config, or on the command line: --set init.from=<run id>\n',
    );
  });

  it('refuses a runs folder that does not exist, as train does, and does not create it', async () => {
    const nowhere = path.join(dir, 'nowhere');
    const file = config('elsewhere', { tasks: ['y2'], init: ['from: SOURCE'] });
    const validated = await mtlInProcess(['validate', file, '--runs-dir', nowhere]);
    expect(validated.code, validated.stderr).toBe(2);
    expect(validated.stderr).toContain(`: init.from "${sourceId}": No run "${sourceId}" in ${nowhere}`);
    const trained = await mtlInProcess(['train', file, '--runs-dir', nowhere]);
    expect(trained.code, trained.stderr).toBe(2);
    expect(errorText(validated.stderr)).toBe(errorText(trained.stderr));
    expect(existsSync(nowhere)).toBe(false);
  });

  describe('exits 2 with the message train gives, writing nothing', () => {
    const cases: Array<{ does: string; fields: TransferFields; message: RegExp; details: RegExp[] }> = [
      {
        does: 'a source run that is not in the runs folder',
        fields: { tasks: ['y2'], init: ['from: no-such-run'] },
        message:
          /^mtl: \S+bad\.yaml:\d+:\d+: init\.from "no-such-run": No run "no-such-run" in .*runs\. Name a run by id/,
        details: [],
      },
      {
        does: 'an init.freeze selector that picks nothing',
        fields: { tasks: ['y2'], init: ['from: SOURCE', 'freeze: [shared/1]'] },
        message: /^mtl: init\.freeze: a selector picks nothing:/,
        details: [/"shared\/1" is not a group, task or parameter-name prefix of this model; use shared, heads/],
      },
      {
        does: 'heads when the source has none of the tasks',
        fields: { tasks: ['y3'], init: ['from: SOURCE', 'load: [shared, heads]'] },
        message: /^mtl: init\.load: a selector picks nothing:/,
        details: [/"heads" picks nothing: no task of this run is in the source run/],
      },
      {
        does: 'a head the source does not have',
        fields: { tasks: ['y3'], init: ['from: SOURCE', 'load: [heads.y3]'] },
        message:
          /^mtl: \S+bad\.yaml:\d+:\d+: init\.from "[^"]+": the best checkpoint of \S+ does not fit what init\.load/,
        details: [/tasks\/y3\/output\/kernel \[8,1\]: not in the source/],
      },
      {
        does: 'a trunk of another width than the source',
        fields: { tasks: ['y2'], units: 4, init: ['from: SOURCE'] },
        message: /does not fit what init\.load selects \(2 parameters\)/,
        details: [/shared\/0\/kernel: \[6,8\] in the source, \[6,4\] here/],
      },
      {
        does: 'freezing parameters that are not loaded',
        fields: { tasks: ['y2'], init: ['from: SOURCE', 'freeze: [heads.y2]'] },
        message: /^mtl: init\.freeze: tasks\/y2\/output\/kernel, tasks\/y2\/output\/bias are not loaded from /,
        details: [/add them to init\.load/],
      },
    ];
    for (const testCase of cases) {
      it(testCase.does, async () => {
        const file = config('bad', testCase.fields);
        // The store train uses without --runs-dir (the flag is checked above), read from $MTL_RUNS_DIR.
        const validated = await unchanged(() => mtlInProcess(['validate', file], { MTL_RUNS_DIR: runsDir }));
        expect(validated.code, validated.stderr).toBe(2);
        expect(validated.stdout).toBe('');
        expect(validated.stderr).toMatch(testCase.message);
        for (const detail of testCase.details) expect(validated.stderr).toMatch(detail);
        expect(validated.stderr).not.toMatch(/\n\s+at /); // no stack trace
        const trained = await unchanged(() => mtlInProcess(['train', file, '--runs-dir', runsDir]));
        expect(trained.code, trained.stderr).toBe(2);
        expect(errorText(validated.stderr)).toBe(errorText(trained.stderr));
      });
    }
  });
});
