// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell and GitHub Actions text; ${…} is theirs
/**
 * `mtl sweep --emit shell` for real: the script runs 2 shards of a 4-trial sweep on this machine (background jobs;
 * GNU parallel too where Debian's `parallel` is installed), every trial completes once (one folder each, no
 * resume) with the same metrics as a plain `mtl sweep` in another store; its exit status is the first
 * failing shard's.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkout,
  copyCheckout,
  dryRun,
  FOUR_TRIALS,
  mtlIn,
  shell,
  trialsOnDisk,
  type PlannedTrialRow,
  type TrialOnDisk,
} from './helpers/emit.js';

const gnuParallel = (spawnSync('parallel', ['--version'], { encoding: 'utf8' }).stdout ?? '').includes('GNU parallel');

describe('mtl sweep --emit shell', () => {
  const repo = checkout(FOUR_TRIALS);
  let script = '';
  let planned: PlannedTrialRow[] = [];
  let sweepId = '';
  let reference = new Map<string, TrialOnDisk>();

  beforeAll(async () => {
    const emitted = await mtlIn(repo, ['sweep', 'sweep.yaml', '--emit', 'shell', '--shards', '2']);
    expect(emitted.code, emitted.stderr).toBe(0);
    script = emitted.stdout;
    const plan = await dryRun(repo);
    planned = plan.trials;
    sweepId = plan.id;
    // The same sweep, one plain process, in another store: what the shards must reproduce.
    const plain = await mtlIn(repo, ['sweep', 'sweep.yaml', '--runs-dir', 'reference']);
    expect(plain.code, plain.stderr).toBe(0);
    reference = trialsOnDisk(path.join(repo, 'reference', sweepId));
  });

  it('is a sh script: 2 shards, the sweep file and runs folder as given, both runners, exit status rule', () => {
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script).toContain('$MTL sweep sweep.yaml --runs-dir runs --shard "$shard/2" &');
    expect(script).toContain('parallel -q --jobs 2');
    expect(script).toContain('MTL=${MTL:-npx mtl}');
    expect(reference.size).toBe(4);
  });

  for (const runner of ['background', ...(gnuParallel ? ['parallel'] : [])]) {
    it(`runs every trial once (${runner}), with the metrics of a plain sweep`, async () => {
      const job = copyCheckout(repo);
      writeFileSync(path.join(job, 'sweep.sh'), script);
      const result = await shell(job, 'sweep.sh', { MTL_SHARD_RUNNER: runner }, { file: true });
      expect(result.code, result.stderr).toBe(0);
      // Each shard printed its sweep id on stdout: two shards ran.
      expect(result.stdout.trim().split('\n')).toEqual([sweepId, sweepId]);
      const trials = trialsOnDisk(path.join(job, 'runs', sweepId));
      expect([...trials.keys()]).toEqual(planned.map((t) => t.hash).sort());
      expect([...trials.values()].map((t) => [t.status, t.resumes])).toEqual(Array(4).fill(['completed', 0]));
      // Once each: one folder per trial, never resumed (a second process would have found it started). Start times
      // are no proof: each shard runs worker processes, and two trials can start in the same millisecond.
      for (const [hash, trial] of trials) {
        expect(trial.test).toEqual(reference.get(hash)?.test);
        expect(trial.val).toEqual(reference.get(hash)?.val);
      }
      const after = await dryRun(job);
      expect(after.trials.map((t) => t.status)).toEqual(Array(4).fill('completed'));
    });
  }

  for (const runner of ['background', ...(gnuParallel ? ['parallel'] : [])]) {
    it(`exits with the first failing shard's code, in shard order (${runner})`, async () => {
      const job = copyCheckout(repo);
      writeFileSync(path.join(job, 'sweep.sh'), script);
      // A stand-in for mtl: shard 1 fails late with 4, shard 2 fails at once with 3; then only shard 2 fails.
      const fake = path.join(job, 'fake-mtl');
      writeFileSync(fake, '#!/bin/sh\ncase "$*" in *"1/2"*) sleep 0.3; exit "$ONE";; *) exit 3;; esac\n');
      chmodSync(fake, 0o755);
      const both = await shell(job, 'sweep.sh', { MTL: fake, ONE: '4', MTL_SHARD_RUNNER: runner }, { file: true });
      expect(both.code).toBe(4);
      const second = await shell(job, 'sweep.sh', { MTL: fake, ONE: '0', MTL_SHARD_RUNNER: runner }, { file: true });
      expect(second.code).toBe(3);
    });
  }
});
