// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell and GitHub Actions text; ${…} is theirs
/**
 * `mtl sweep --emit github-matrix|slurm|k8s`: each emitted specification is parsed, its per-job command run for every
 * index with the scheduler's variable set (matrix value, SLURM_ARRAY_TASK_ID 1..N, JOB_COMPLETION_INDEX 0..N−1 after
 * Kubernetes' own `$(VAR)` expansion), each job in its own checkout and store; `mtl runs merge` of the job stores is
 * the whole sweep, each trial once, as the dry run lists it. Bad --emit / --shards exit 2 and print nothing.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempDir } from './helpers.js';
import { snapshotRun } from './helpers/run-snapshot.js';
import { fakeRun } from './helpers/runs.js';
import {
  checkout,
  copyCheckout,
  copyFolder,
  dryRun,
  mtlIn,
  shell,
  SMALL_SWEEP,
  trialsOnDisk,
  type PlannedTrialRow,
} from './helpers/emit.js';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  jobs: {
    sweep: { strategy: { 'fail-fast': boolean; matrix: { shard: number[] } }; steps: Step[] };
    merge: { needs: string; if: string; steps: Step[] };
  };
}
interface IndexedJob {
  spec: {
    completionMode: string;
    completions: number;
    parallelism: number;
    template: {
      spec: {
        containers: { workingDir: string; command: string[]; volumeMounts: { mountPath: string }[] }[];
      };
    };
  };
}

/** Kubernetes' expansion of a container command: `$$` is `$`, `$(NAME)` a defined variable's value, else kept. */
function kubernetesExpand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([^)]*)\)/g, (match, name: string | undefined) =>
    match === '$$' ? '$' : name !== undefined && name in env ? (env[name] ?? '') : match,
  );
}

describe('mtl sweep --emit (github-matrix, slurm, k8s)', () => {
  const repo = checkout(SMALL_SWEEP);
  let planned: PlannedTrialRow[] = [];
  let sweepId = '';

  beforeAll(async () => {
    const plan = await dryRun(repo);
    planned = plan.trials;
    sweepId = plan.id;
    expect(planned).toHaveLength(3);
  });

  async function emit(form: string): Promise<string> {
    const result = await mtlIn(repo, ['sweep', 'sweep.yaml', '--emit', form, '--shards', '2']);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  }

  /** The merged store holds every planned trial once, completed and trained once. */
  async function expectWholeSweep(cwd: string, runsDir: string): Promise<void> {
    const trials = trialsOnDisk(path.join(cwd, runsDir, sweepId));
    expect([...trials.keys()]).toEqual(planned.map((t) => t.hash).sort());
    expect([...trials.values()].map((t) => [t.status, t.resumes])).toEqual(Array(3).fill(['completed', 0]));
    const listed = await dryRun(cwd, runsDir);
    expect(listed.trials.map((t) => [t.id, t.status])).toEqual(planned.map((t) => [t.id, 'completed']));
  }

  it('github-matrix: matrix jobs run their shards, upload their sweep folders; a merge job gathers them', async () => {
    const workflow = parse(await emit('github-matrix')) as Workflow;
    const { sweep, merge } = workflow.jobs;
    expect(sweep.strategy['fail-fast']).toBe(false);
    expect(sweep.strategy.matrix.shard).toEqual([1, 2]);
    expect(sweep.steps.map((s) => s.uses ?? s.run?.trim())).toEqual([
      'actions/checkout@v4',
      'actions/setup-node@v4',
      'npm ci',
      '$MTL sweep sweep.yaml --runs-dir runs --shard "${{ matrix.shard }}/2"',
      'actions/upload-artifact@v4',
    ]);
    const run = sweep.steps[3]?.run ?? '';
    const upload = sweep.steps[4]?.with ?? {};
    expect(upload['path']).toBe(`runs/${sweepId}`);
    const mergeDir = copyCheckout(repo);
    await Promise.all(
      sweep.strategy.matrix.shard.map(async (shard) => {
        const job = copyCheckout(repo);
        const result = await shell(job, run.replaceAll('${{ matrix.shard }}', String(shard)));
        expect(result.code, result.stderr).toBe(0);
        // upload-artifact of that folder, then download-artifact with `pattern` into `path`/<artifact name>.
        const name = String(upload['name']).replaceAll('${{ matrix.shard }}', String(shard));
        copyFolder(path.join(job, String(upload['path'])), path.join(mergeDir, 'shards', name));
      }),
    );
    expect(merge.needs).toBe('sweep');
    const download = merge.steps.find((s) => s.uses === 'actions/download-artifact@v4');
    expect(download?.with).toEqual({ pattern: `${sweepId}-shard-*`, path: 'shards' });
    const mergeRun = merge.steps.at(-1)?.run ?? '';
    expect(mergeRun).toContain('$MTL runs merge shards/* --runs-dir runs');
    const merged = await shell(mergeDir, mergeRun);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toContain('merged into runs: 3 copied, 0 identical (skipped), 0 left out');
    expect(merged.stdout).toContain('3 trials: 3 completed');
    await expectWholeSweep(mergeDir, 'runs');
  });

  it('slurm: an array 1-2 whose task runs shard $SLURM_ARRAY_TASK_ID in the submit directory', async () => {
    const script = await emit('slurm');
    const lines = script.split('\n');
    expect(lines[0]).toBe('#!/bin/sh');
    expect(lines).toContain('#SBATCH --array=1-2');
    expect(lines).toContain(`#SBATCH --job-name=mtl-${sweepId}`);
    // sbatch reads #SBATCH lines only before the first command.
    const firstCommand = lines.findIndex((l) => l !== '' && !l.startsWith('#'));
    const directives = lines.flatMap((line, i) => (line.startsWith('#SBATCH') ? [i] : []));
    expect(Math.max(...directives)).toBeLessThan(firstCommand);
    const stores: string[] = [];
    await Promise.all(
      [1, 2].map(async (task) => {
        const job = copyCheckout(repo);
        writeFileSync(path.join(job, 'sweep.sbatch'), script);
        // As Slurm starts it: in some folder, with the submit directory and the task id in the environment.
        const result = await shell(
          tempDir(),
          path.join(job, 'sweep.sbatch'),
          {
            SLURM_ARRAY_TASK_ID: String(task),
            SLURM_SUBMIT_DIR: job,
          },
          { file: true },
        );
        expect(result.code, result.stderr).toBe(0);
        stores.push(path.join(job, 'runs'));
      }),
    );
    // Started outside Slurm (no task id): it says so and trains nothing.
    const outside = copyCheckout(repo);
    writeFileSync(path.join(outside, 'sweep.sbatch'), script);
    const missing = await shell(outside, 'sweep.sbatch', {}, { file: true });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('submit this script with sbatch: it is a job array');
    const target = copyCheckout(repo);
    const merged = await mtlIn(target, ['runs', 'merge', ...stores, '--runs-dir', 'runs']);
    expect(merged.code, merged.stderr).toBe(0);
    await expectWholeSweep(target, 'runs');
  });

  it('k8s: an Indexed Job whose pod k runs shard k+1, the runs folder a mounted claim', async () => {
    const manifest = parse(await emit('k8s')) as IndexedJob;
    expect(manifest.spec.completionMode).toBe('Indexed');
    expect([manifest.spec.completions, manifest.spec.parallelism]).toEqual([2, 2]);
    const [container] = manifest.spec.template.spec.containers;
    expect(container?.workingDir).toBe('/work');
    expect(container?.volumeMounts[0]?.mountPath).toBe('/work/runs');
    const [shellName, flag, script] = container?.command ?? [];
    expect([shellName, flag]).toEqual(['sh', '-c']);
    const stores: string[] = [];
    await Promise.all(
      [0, 1].map(async (index) => {
        const job = copyCheckout(repo);
        const env = { JOB_COMPLETION_INDEX: String(index) };
        const result = await shell(job, kubernetesExpand(script ?? '', env), env);
        expect(result.code, result.stderr).toBe(0);
        const shown = JSON.parse(readFileSync(path.join(job, 'runs', sweepId, 'sweep.json'), 'utf8')) as {
          id: string;
        };
        expect(shown.id).toBe(sweepId);
        stores.push(path.join(job, 'runs', sweepId));
      }),
    );
    const target = copyCheckout(repo);
    const merged = await mtlIn(target, ['runs', 'merge', ...stores, '--runs-dir', 'runs', '--json']);
    expect(merged.code, merged.stderr).toBe(0);
    const report = JSON.parse(merged.stdout) as { copied: { id: string }[]; sweeps: { counts: object }[] };
    expect(report.copied.map((c) => c.id).sort()).toEqual(planned.map((t) => t.id).sort());
    expect(report.sweeps[0]?.counts).toEqual({ completed: 3 });
    await expectWholeSweep(target, 'runs');
  });

  it('refuses an unknown form, --shards beyond the 256-job matrix, and flags that do not go with --emit', async () => {
    const cases: [string[], string][] = [
      [['--emit', 'pbs'], '--emit "pbs": expected one of github-matrix, slurm, k8s, shell.'],
      [['--emit', 'github-matrix', '--shards', '257'], 'a GitHub Actions matrix runs at most 256 jobs'],
      [['--emit', 'slurm', '--shards', '0'], '--shards "0": expected a whole number ≥ 1'],
      [['--emit', 'slurm', '--shard', '1/2'], '--shard does not go with --emit'],
      [['--shards', '4'], '--shards goes with --emit'],
    ];
    // A run made before: no bad --emit touches it, nor creates anything in the store.
    const earlier = fakeRun(path.join(repo, 'runs'), 'earlier', { test: { 'y1/mse': 1 } });
    const before = snapshotRun(earlier);
    for (const [flags, message] of cases) {
      const result = await mtlIn(repo, ['sweep', 'sweep.yaml', ...flags]);
      expect([result.code, result.stdout], flags.join(' ')).toEqual([2, '']);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(snapshotRun(earlier)).toEqual(before);
    expect(readdirSync(path.join(repo, 'runs'))).toEqual(['earlier']);
    const wide = await mtlIn(repo, ['sweep', 'sweep.yaml', '--emit', 'slurm', '--shards', '5']);
    expect(wide.code).toBe(0);
    expect(wide.stdout).toContain('#SBATCH --array=1-5');
    expect(wide.stderr).toContain('5 shards for 3 trials: shards 4–5 have none');
    const defaults = await mtlIn(repo, ['sweep', 'sweep.yaml', '--emit', 'github-matrix']);
    expect((parse(defaults.stdout) as Workflow).jobs.sweep.strategy.matrix.shard).toEqual([1, 2, 3]);
  });
});
