/**
 * A run inside a sweep's trial (`<sweep>/<trial>/baselines/<task>`, a trial trained with baselines) is looked up in
 * the trial as in any run: a run missing there is told among the trial's own runs, as for a seed group's member (a
 * missing trial among the sweep's trials).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { resolveRun } from '../src/runs/store.js';
import { tempDir } from './helpers.js';
import { fakeRun } from './helpers/runs.js';

const SWEEP = '20261207-110000-sweep-lr-0a1b2c3d';
const TRIAL = 'e1440c56e5a2';

let store: string;
beforeAll(() => {
  store = tempDir('mtl-sweep-refs-');
  const sweepDir = path.join(store, SWEEP);
  fakeRun(sweepDir, TRIAL);
  fakeRun(sweepDir, '798f7bf56809');
  writeFileSync(path.join(sweepDir, 'sweep.json'), '{}\n');
  fakeRun(path.join(sweepDir, TRIAL, 'baselines'), 'y1');
  fakeRun(path.join(sweepDir, TRIAL, 'baselines'), 'y2');
});

/** The UsageError `resolveRun` throws, as `mtl` prints it. */
function refusal(reference: string): string {
  try {
    resolveRun(reference, store);
  } catch (error) {
    if (error instanceof UsageError) return error.format();
    throw error;
  }
  throw new Error(`${reference} resolved`);
}

describe('a run inside a sweep trial', () => {
  it('resolves by the sweep and trial prefixes, then the path inside the trial', () => {
    expect(resolveRun('20261207-110000-sweep/e14/baselines/y2', store)).toEqual({
      id: `${SWEEP}/${TRIAL}/baselines/y2`,
      dir: path.join(store, SWEEP, TRIAL, 'baselines', 'y2'),
    });
  });

  it("a run the trial lacks is told among the trial's own runs, not the sweep's trials", () => {
    const message = refusal(`${SWEEP}/e14/baselines/y3`);
    expect(message).toContain(`Run ${SWEEP}/${TRIAL} has no run "baselines/y3"`);
    expect(message).toContain(`the runs inside it: ${SWEEP}/${TRIAL}/baselines/y1, ${SWEEP}/${TRIAL}/baselines/y2`);
    expect(message).not.toContain('its trials');
  });

  it("a trial the sweep lacks is still told among the sweep's trials", () => {
    const message = refusal(`${SWEEP}/ffff`);
    expect(message).toContain(`Sweep ${SWEEP} has no run "ffff".`);
    expect(message).toContain(`its trials: ${SWEEP}/798f7bf56809, ${SWEEP}/${TRIAL}`);
  });

  it('refuses .. inside a trial', () => {
    expect(refusal(`${SWEEP}/e14/../798f7bf56809`)).toContain('expected <run>/baselines/<task> or a path');
  });
});
