/**
 * A sweep trial whose meta.json is damaged (cut short, or `{}`), through the built CLI: `mtl runs` lists the sweep
 * with the trial counted `damaged` and a note naming the file, exit 0; `mtl sweep status` lists it as a `damaged`
 * row, never the best, exit 0; running the sweep again leaves the trial's folder untouched (it may be the only copy
 * of a trained run), says what to do, trains the other trials and exits 1 (in this process and with `--jobs 2`);
 * `mtl compare --sweep` leaves it out with a note; `mtl runs merge` of it refuses, naming the file.
 */
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';
import { groupConfig } from './helpers/groups.js';
import { snapshotRun } from './helpers/run-snapshot.js';
import type { SweepJsonRow } from './helpers/sweeps.js';

const CUT_SHORT = '{ "format": 1, "id": "sw';

interface StatusRow {
  id: string;
  status: string;
  value?: number;
  statusReason?: string;
  hint?: string;
}

interface StatusJson {
  counts: Record<string, number>;
  best?: { id: string };
  trials: StatusRow[];
}

describe('a sweep with a damaged meta.json in one trial', () => {
  const dir = tempDir('mtl-sweep-damaged-');
  const file = path.join(dir, 'sweep.yaml');
  const trained = path.join(dir, 'trained');
  let sweepId = '';
  /** The trial whose val mean/loss was best before its meta.json was damaged; then the one ranked after it. */
  let best = '';
  let runnerUp = '';
  let trialIds: string[] = [];

  beforeAll(async () => {
    writeFileSync(path.join(dir, 'base.yaml'), groupConfig({ epochs: 1 }));
    writeFileSync(file, 'base: base.yaml\nspace:\n  training.lr: [0.001, 0.003, 0.01]\n');
    const run = mtl(['sweep', file, '--jobs', '1', '--runs-dir', trained]);
    expect(run.code, run.stderr).toBe(0);
    sweepId = run.stdout.trim();
    const status = JSON.parse(
      (await mtlInProcess(['sweep', 'status', sweepId, '--runs-dir', trained, '--json'])).stdout,
    ) as StatusJson;
    const ranked = [...status.trials].sort((a, b) => (a.value ?? Infinity) - (b.value ?? Infinity));
    trialIds = status.trials.map((t) => t.id);
    best = ranked[0]!.id;
    runnerUp = ranked[1]!.id;
    expect(status.best?.id).toBe(best);
  });

  /** A copy of the trained store with the best trial's meta.json replaced by `meta`. */
  function damagedStore(meta = CUT_SHORT): { store: string; trialDir: string; metaFile: string } {
    const store = path.join(tempDir('mtl-sweep-damaged-store-'), 'runs');
    cpSync(trained, store, { recursive: true });
    const trialDir = path.join(store, best);
    const metaFile = path.join(trialDir, 'meta.json');
    writeFileSync(metaFile, meta);
    return { store, trialDir, metaFile };
  }

  const note = (metaFile: string): string => `note: ${best} is damaged, listed without its details: ${metaFile}`;
  const hint = (trialDir: string): string =>
    `restore it from a backup, or delete the run and train it again (its folder: ${trialDir})`;

  it('mtl runs lists the sweep with the trial counted damaged and a note naming the file; exit 0', async () => {
    const { store, trialDir, metaFile } = damagedStore();
    const listed = await mtlInProcess(['runs', '--runs-dir', store]);
    expect(listed.code, listed.stderr).toBe(0);
    const line = listed.stdout.split('\n').find((l) => l.startsWith(sweepId));
    expect(line?.split(/\s{2,}/).slice(0, 5)).toEqual([sweepId, 'sweep', '3', '2', '1 damaged']);
    expect(line).toContain(`${runnerUp} (val mean/loss`);
    expect(listed.stderr).toContain(`${note(metaFile)} is not valid JSON`);
    expect(listed.stderr).toContain(hint(trialDir));
    expect(listed.stderr).not.toMatch(/\n\s+at /); // no stack frame

    const json = await mtlInProcess(['runs', '--runs-dir', store, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const [sweep] = JSON.parse(json.stdout) as {
      kind: string;
      counts: Record<string, number>;
      best?: { id: string };
      damagedTrials?: StatusRow[];
    }[];
    expect(sweep?.kind).toBe('sweep');
    expect(sweep?.counts).toEqual({
      completed: 2,
      diverged: 0,
      failed: 0,
      interrupted: 0,
      crashed: 0,
      damaged: 1,
      running: 0,
      pending: 0,
    });
    expect(sweep?.best?.id).toBe(runnerUp);
    expect(sweep?.damagedTrials).toEqual([
      {
        id: best,
        status: 'damaged',
        statusReason: expect.stringContaining(`${metaFile} is not valid JSON`),
        hint: expect.stringContaining(hint(trialDir)),
        dir: trialDir,
      },
    ]);
    expect(json.stderr).toContain(note(metaFile));
  });

  it('mtl sweep status lists the trial as a damaged row, never the best, with the note; exit 0', async () => {
    const { store, trialDir, metaFile } = damagedStore('{}\n');
    const text = await mtlInProcess(['sweep', 'status', sweepId, '--runs-dir', store]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('3 trials: 2 completed, 1 damaged');
    const row = text.stdout.split('\n').find((l) => l.includes(best));
    expect(row).toMatch(/\sdamaged\s/);
    expect(text.stdout).toContain(`best so far: ${runnerUp} (val mean/loss`);
    expect(text.stderr).toContain(`${note(metaFile)}: id should be a text, but it is nothing.`);
    expect(text.stderr).toContain(hint(trialDir));
    expect(text.stderr).not.toMatch(/\n\s+at /);

    const json = await mtlInProcess(['sweep', 'status', sweepId, '--runs-dir', store, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const status = JSON.parse(json.stdout) as StatusJson;
    expect(status.counts).toMatchObject({ completed: 2, damaged: 1 });
    expect(status.best?.id).toBe(runnerUp);
    const damaged = status.trials.find((t) => t.id === best);
    expect(damaged).toMatchObject({
      status: 'damaged',
      statusReason: `${metaFile}: id should be a text, but it is nothing.`,
    });
    expect(damaged?.value).toBeUndefined();
    expect(damaged?.hint).toContain(hint(trialDir));
    expect(json.stderr).toContain(note(metaFile));
  });

  for (const jobs of ['1', '2']) {
    it(`running the sweep again (--jobs ${jobs}) leaves the trial untouched, trains the others, exit 1`, async () => {
      const { store, trialDir, metaFile } = damagedStore();
      // The other trials pending, so that the sweep trains two (with --jobs 2, in worker processes).
      const others = trialIds.filter((id) => id !== best).map((id) => path.join(store, id));
      for (const other of others) rmSync(other, { recursive: true });
      const before = snapshotRun(trialDir);
      const run = await mtlInProcess(['sweep', file, '--jobs', jobs, '--runs-dir', store, '--json']);
      expect(run.code, run.stderr).toBe(1);
      expect(snapshotRun(trialDir)).toEqual(before);
      for (const other of others) expect(existsSync(path.join(other, 'summary.json'))).toBe(true);
      const rows = (JSON.parse(run.stdout) as { trials: SweepJsonRow[] }).trials;
      const damaged = rows.find((r) => r.id === best);
      expect(damaged).toMatchObject({ action: 'skipped', status: 'damaged' });
      expect(damaged?.error).toContain(`${metaFile} is not valid JSON`);
      expect(damaged?.error).toContain(hint(trialDir));
      for (const row of rows.filter((r) => r.id !== best)) {
        expect(row).toMatchObject({ action: 'trained', status: 'completed' });
      }
      // --jobs 2: a worker process was handed the damaged trial and left it as it is, as this process does.
      expect(damaged?.worker === undefined).toBe(jobs === '1');
      expect(run.stderr).toContain(`: damaged, skipped\n  ${metaFile} is not valid JSON`);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      // The text summary counts it and says what to do; sweep status agrees, and the files are still as they were.
      const again = await mtlInProcess(['sweep', file, '--jobs', jobs, '--runs-dir', store]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(
        "0 failed or diverged; 1 damaged (left untouched: restore the trial's meta.json from a backup, or delete " +
          "the trial's folder and run the sweep again to train it anew)",
      );
      expect(snapshotRun(trialDir)).toEqual(before);
      const status = JSON.parse(
        (await mtlInProcess(['sweep', 'status', sweepId, '--runs-dir', store, '--json'])).stdout,
      ) as StatusJson;
      expect(status.counts).toMatchObject({ completed: 2, damaged: 1, pending: 0 });
      // --fail-fast stops at it, as at a failed trial.
      const failFast = await mtlInProcess(['sweep', file, '--fail-fast', '--jobs', jobs, '--runs-dir', store]);
      expect(failFast.code).toBe(1);
      expect(failFast.stderr).toContain('stopped at the first failed, diverged or damaged trial (--fail-fast)');
    });
  }

  it('once its folder is deleted, running the sweep trains the trial anew; exit 0', async () => {
    const { store, trialDir } = damagedStore();
    rmSync(trialDir, { recursive: true });
    const run = await mtlInProcess(['sweep', file, '--jobs', '1', '--runs-dir', store]);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(path.join(trialDir, 'summary.json'))).toBe(true);
  });

  it('compare --sweep leaves the trial out with a note; runs merge of it refuses, naming the file', async () => {
    const { store, metaFile } = damagedStore();
    const compared = await mtlInProcess(['compare', '--sweep', sweepId, '--runs-dir', store]);
    expect(compared.code, compared.stderr).toBe(0);
    expect(compared.stderr).toContain(`1 of 3 trials left out: ${best} (damaged: ${metaFile} is not valid JSON`);
    const dest = path.join(tempDir(), 'merged');
    const merged = await mtlInProcess(['runs', 'merge', store, '--runs-dir', dest]);
    expect(merged.code).toBe(2);
    expect(merged.stderr).toContain(`mtl: ${metaFile} is not valid JSON`);
    expect(merged.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(dest)).toBe(false);
  });
});
