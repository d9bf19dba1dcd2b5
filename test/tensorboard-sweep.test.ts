/**
 * The TensorBoard switch is no part of a sweep trial's identity (issue #19): `logging:` does not change what a trial
 * computes, so a sweep whose base config turns the event files off (or on) plans the trials it planned before, with
 * the same hashes, and a sweep grid over it finds duplicates.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSweep } from '../src/api/sweep.js';
import { tempDir } from './helpers.js';
import { TWO_DIGIT_TASKS } from './helpers/configs.js';

async function trialHashes(dir: string, logging: string, space: string): Promise<{ hashes: string[]; dup: number }> {
  writeFileSync(path.join(dir, 'base.yaml'), `${TWO_DIGIT_TASKS}${logging}`);
  const sweep = path.join(dir, 'sweep.yaml');
  writeFileSync(sweep, `base: base.yaml\nsearch: grid\nspace:\n  training.lr: [0.001, 0.002]\n${space}`);
  const plan = await planSweep(sweep);
  return { hashes: plan.trials.map((trial) => trial.hash), dup: plan.duplicates.length };
}

describe('logging.tensorboard and sweep trial hashes', () => {
  it('the same trials, with the same hashes, whatever logging says', async () => {
    const dir = tempDir('mtl-tb-sweep-');
    const none = await trialHashes(dir, '', '');
    expect(none.hashes).toHaveLength(2);
    expect(await trialHashes(dir, 'logging: { tensorboard: false }\n', '')).toEqual(none);
    expect(await trialHashes(dir, 'logging: { tensorboard: true }\n', '')).toEqual(none);
    expect(await trialHashes(dir, '', '  logging.tensorboard: [true, false]\n')).toEqual({ ...none, dup: 2 });
  });
});
