import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, trainExperiment } from '../src/index.js';
import { tempDir, writeFile } from './helpers.js';
import { mtl, mtlInProcess, type CliResult } from './helpers/cli.js';
import { snapshotRun } from './helpers/run-snapshot.js';
import { transferConfig, transferConfigText, type TransferFields } from './helpers/transfer-init.js';

/**
 * `init:` from the command line (issue #17): the lineage `mtl runs` shows, and the bad inputs that end with exit 2,
 * leaving no run folder behind and the source run untouched.
 */
describe('mtl train with init:', () => {
  const dir = tempDir('mtl-init-cli-');
  const runsDir = path.join(dir, 'runs');
  let sourceId = '';
  beforeAll(async () => {
    await initBackend('wasm', { fma: 'off' });
    sourceId = (await trainExperiment(transferConfig(dir, 'source', { tasks: ['y1', 'y2'] }), { runsDir })).id;
  });

  /** The first case trains through the built CLI (bin/mtl.js); the others in-process, as the CLI's `main`. */
  function train(name: string, fields: TransferFields, spawned = false): Promise<CliResult> | CliResult {
    const file = writeFile(dir, `${name}.yaml`, transferConfigText(name, fields));
    const args = ['train', file, '--runs-dir', runsDir];
    return spawned ? mtl(args) : mtlInProcess(args);
  }

  it('records the lineage, which `mtl runs` shows as a column and --json carries', async () => {
    const trained = await train(
      'target',
      { tasks: ['y2', 'y3'], init: [`from: ${sourceId}`, 'load: [shared, heads.y2]', 'freeze: [shared/0/kernel]'] },
      true,
    );
    expect(trained.code, trained.stderr).toBe(0);
    const listing = await mtlInProcess(['runs', '--runs-dir', runsDir, '--json']);
    const runs = JSON.parse(listing.stdout) as Array<{ name: string; lineage?: Record<string, unknown> }>;
    const target = runs.find((r) => r.name === 'target');
    expect(target?.lineage).toMatchObject({
      sourceId,
      checkpoint: 'best',
      loaded: ['shared/0/kernel', 'shared/0/bias', 'tasks/y2/output/kernel', 'tasks/y2/output/bias'],
      frozen: ['shared/0/kernel'],
    });
    expect(target?.lineage?.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(runs.find((r) => r.name === 'source')?.lineage).toBeUndefined();
    const text = (await mtlInProcess(['runs', '--runs-dir', runsDir])).stdout;
    expect(text.split('\n')[0]).toMatch(/^id +name +from +status/);
    expect(text).toContain(`← ${sourceId}:best`);
  });

  describe('refuses, with exit 2 and nothing written', () => {
    const cases: Array<{ does: string; fields: TransferFields; message: RegExp; details: RegExp[] }> = [
      {
        does: 'a trunk of another width than the source',
        fields: { tasks: ['y2'], units: 4, init: ['from: SOURCE'] },
        message: /does not fit what init\.load selects \(2 parameters\)/,
        details: [
          /shared\/0\/kernel: \[6,8\] in the source, \[6,4\] here/,
          /source parameters: shared\/0\/kernel \[6,8\], shared\/0\/bias \[8\], tasks\/y1\/output\/kernel/,
          /this run's parameters: shared\/0\/kernel \[6,4\], shared\/0\/bias \[4\], tasks\/y2/,
        ],
      },
      {
        does: 'other input columns than the source',
        fields: { tasks: ['y2'], features: 5, init: ['from: SOURCE', 'load: [shared/0/bias]'] },
        message: /inputs of .* \(width 6\) are not encoded like this run's \(width 5\)/,
        details: [/source features: x0 \(numeric\), .*x5 \(numeric\)/, /this run's features: x0 \(numeric\)/],
      },
      {
        does: 'a head the source does not have',
        fields: { tasks: ['y3'], init: ['from: SOURCE', 'load: [heads.y3]'] },
        message: /does not fit what init\.load selects \(2 parameters\)/,
        details: [/tasks\/y3\/output\/kernel \[8,1\]: not in the source/],
      },
      {
        does: 'a selector that names nothing',
        fields: { tasks: ['y2'], init: ['from: SOURCE', 'load: [trunk]'] },
        message: /init\.load: a selector picks nothing/,
        details: [/"trunk" is not a group, task or parameter-name prefix of this model; use shared, heads/],
      },
      {
        does: 'freezing parameters that are not loaded',
        fields: { tasks: ['y2'], init: ['from: SOURCE', 'freeze: [heads.y2]'] },
        message: /init\.freeze: tasks\/y2\/output\/kernel, tasks\/y2\/output\/bias are not loaded/,
        details: [/add them to init\.load/],
      },
      {
        does: 'a source run that does not exist',
        fields: { tasks: ['y2'], init: ['from: no-such-run'] },
        message: /init\.from "no-such-run": No run "no-such-run" in /,
        details: [],
      },
      {
        does: 'a checkpoint other than best or last',
        fields: { tasks: ['y2'], init: ['from: SOURCE:middle'] },
        message: /init\.from: "[^"]+:middle" names checkpoint "middle"; expected RUN, RUN:best or RUN:last/,
        details: [],
      },
      {
        does: 'unfreeze_after without anything frozen',
        fields: { tasks: ['y2'], init: ['from: SOURCE', 'unfreeze_after: 1'] },
        message: /init\.unfreeze_after: nothing is frozen/,
        details: [],
      },
      {
        does: 'unfreeze_after at or beyond the last epoch',
        fields: { tasks: ['y2'], init: ['from: SOURCE', 'freeze: [shared]', 'unfreeze_after: 2'] },
        message: /init\.unfreeze_after: 2 is not below training\.epochs \(2\)/,
        details: [],
      },
      {
        does: 'unfrozen_lr without unfreeze_after',
        fields: { tasks: ['y2'], init: ['from: SOURCE', 'freeze: [shared]', 'unfrozen_lr: 0.001'] },
        message: /init\.unfrozen_lr: the frozen parameters are never unfrozen/,
        details: [],
      },
    ];
    for (const testCase of cases) {
      it(testCase.does, async () => {
        const before = readdirSync(runsDir).sort();
        const source = snapshotRun(path.join(runsDir, sourceId));
        const init = testCase.fields.init?.map((line) => line.replace('SOURCE', sourceId));
        const result = await train('bad', { ...testCase.fields, ...(init ? { init } : {}) });
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toMatch(testCase.message);
        for (const detail of testCase.details) expect(result.stderr).toMatch(detail);
        expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
        expect(readdirSync(runsDir).sort()).toEqual(before);
        expect(snapshotRun(path.join(runsDir, sourceId))).toEqual(source);
      });
    }
  });

  it("a damaged source checkpoint is named as init.from's, with the config fix (init.from: RUN:last)", async () => {
    // Its own source and store: the other tests read theirs whole.
    const store = path.join(dir, 'damaged-store');
    const damaged = (
      await trainExperiment(transferConfig(dir, 'damaged-source', { tasks: ['y2'] }), { runsDir: store })
    ).id;
    const weights = path.join(store, damaged, 'checkpoints', 'best', 'weights.bin');
    const bytes = readFileSync(weights);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    writeFileSync(weights, bytes);
    const file = writeFile(
      dir,
      'from-damaged.yaml',
      transferConfigText('from-damaged', { tasks: ['y2'], init: [`from: ${damaged}`] }),
    );
    const refused = await mtlInProcess(['train', file, '--runs-dir', store]);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`mtl: ${file}:13:9: init.from "${damaged}": `);
    expect(refused.stderr).toContain(`weights.bin does not match its checksum`);
    // `train` has no --checkpoint flag: the hint is the config's (it was "use the last checkpoint (--checkpoint
    // last)").
    expect(refused.stderr).toContain(`load its last checkpoint instead (init.from: ${damaged}:last)`);
    expect(refused.stderr).not.toContain('--checkpoint');
    const fromLast = writeFile(
      dir,
      'from-last.yaml',
      transferConfigText('from-last', { tasks: ['y2'], init: [`from: ${damaged}:last`] }),
    );
    expect((await mtlInProcess(['train', fromLast, '--runs-dir', store])).code).toBe(0);
  });
});
