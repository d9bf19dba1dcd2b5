// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell and GitHub Actions text; ${…} is theirs
import path from 'node:path';
import { UsageError } from '../errors.js';
import { shellWord } from '../util/shell.js';

/**
 * `mtl sweep SWEEP.yaml --emit FORM [--shards N]` (issue #16, "Beyond one machine"): a job specification for a
 * scheduler people already run, in which job i of N runs `mtl sweep SWEEP.yaml --shard i/N` (api/sweep.ts
 * `shardTrials`: the trials whose index mod N is i − 1), so the N jobs cover the sweep, each trial once. Nothing is
 * trained when it is printed.
 *
 * - `github-matrix`: a GitHub Actions workflow: a `sweep` job with `strategy.matrix.shard: [1..N]` and `fail-fast:
 *   false`, each uploading its sweep folder as an artifact, and a `merge` job that downloads them, `mtl runs merge`s
 *   them into one store and prints `mtl sweep status`. GitHub allows at most 256 jobs per matrix: N > 256 is refused.
 * - `slurm`: an sbatch script with `#SBATCH --array=1-N`; each array task runs shard `$SLURM_ARRAY_TASK_ID` in the
 *   submit directory, all of them in one runs folder on the shared file system (the trial locks keep them apart).
 * - `k8s`: a Kubernetes Indexed Job (`completionMode: Indexed`, `completions: N`, `parallelism: N`); the container
 *   runs `sh -c` with shard = `$JOB_COMPLETION_INDEX` + 1 (the index is 0-based, shards 1-based); the image and a
 *   ReadWriteMany claim mounted at the runs folder are placeholders.
 * - `shell`: a POSIX sh script for one machine: GNU parallel when `parallel --version` says it is GNU parallel, else
 *   N background jobs (`&`, then `wait` for each); `MTL_SHARD_RUNNER=background|parallel` forces one. It exits 0 when
 *   every shard did, else with the exit code of the first failing shard (in shard order).
 *
 * The paths are written as the user gave them (the sweep file, `--runs-dir` or `MTL_RUNS_DIR`, else `runs`): a
 * relative path resolves from the directory the job runs in, which must be the one `--emit` ran in (the repository
 * root for GitHub and Kubernetes, the submit directory for Slurm, the current directory for the shell script). Every
 * form calls mtl as `$MTL`, so a machine where mtl is called otherwise sets MTL; its default is {@link EmitRequest}
 * `mtl`.
 */
export const EMIT_FORMS = ['github-matrix', 'slurm', 'k8s', 'shell'] as const;
export type EmitForm = (typeof EMIT_FORMS)[number];

/** GitHub Actions runs at most 256 jobs per matrix. */
export const GITHUB_MATRIX_LIMIT = 256;
/** Shards when `--shards` is not given (never more than the trials): a size most clusters and CI plans take. */
export const DEFAULT_SHARDS = 20;

export interface EmitRequest {
  form: EmitForm;
  /** The sweep file as it is to be named in the jobs (see above). */
  sweepPath: string;
  runsDir: string;
  sweepId: string;
  trials: number;
  shards: number;
  /** Flags every shard takes too (`--jobs 4`, `--backend wasm`, `--retry-failed`, `--fail-fast`), split into words. */
  passThrough: readonly string[];
  /** The command line that emitted it, for the header. */
  emittedBy: string;
  /**
   * How the jobs call mtl where MTL is not set (default {@link NPX_MTL}). The CLI gives `node <its entry point>` when
   * that lies inside the folder it emits from: node then gets a scheduler's SIGTERM itself. npx does not pass signals
   * on, and Kubernetes sends SIGTERM to a pod's first process only, so under npx the trials were killed at the end of
   * the grace period instead of ending `interrupted` with their checkpoints.
   */
  mtl?: string;
}

/** The default way to call mtl in the jobs where nothing better is known. */
export const NPX_MTL = 'npx mtl';

export function parseEmitForm(text: string): EmitForm {
  const form = EMIT_FORMS.find((known) => known === text);
  if (form === undefined) {
    throw new UsageError(`--emit "${text}": expected one of ${EMIT_FORMS.join(', ')}.`, [
      'github-matrix: a GitHub Actions workflow; slurm: an sbatch job-array script; k8s: a Kubernetes Indexed Job; ' +
        'shell: a script that runs the shards on this machine',
    ]);
  }
  return form;
}

/**
 * `--shards N`: a whole number ≥ 1 (at most 256 for github-matrix); default min(trials, 20), for shell min(trials,
 * cores). More shards than trials is allowed (the extra jobs find nothing to do), and said on stderr by the CLI.
 */
export function emitShards(form: EmitForm, text: string | undefined, trials: number, cores: number): number {
  if (text === undefined) {
    const wanted = form === 'shell' ? cores : DEFAULT_SHARDS;
    return Math.max(1, Math.min(trials, wanted, form === 'github-matrix' ? GITHUB_MATRIX_LIMIT : Infinity));
  }
  const shards = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(shards) || shards < 1) {
    throw new UsageError(`--shards "${text}": expected a whole number ≥ 1, e.g. --shards 4.`);
  }
  if (form === 'github-matrix' && shards > GITHUB_MATRIX_LIMIT) {
    throw new UsageError(
      `--shards ${shards}: a GitHub Actions matrix runs at most ${GITHUB_MATRIX_LIMIT} jobs, so --emit github-matrix ` +
        `takes --shards ${GITHUB_MATRIX_LIMIT} or fewer.`,
      ['each job then runs several trials of its shard, one after the other'],
    );
  }
  return shards;
}

export function emitJobs(request: EmitRequest): string {
  switch (request.form) {
    case 'github-matrix':
      return githubMatrix(request);
    case 'slurm':
      return slurmScript(request);
    case 'k8s':
      return kubernetesJob(request);
    case 'shell':
      return shellScript(request);
  }
}

/** `$MTL sweep FILE --runs-dir DIR [flags] --shard SHARD/N`, SHARD being shell text (a variable). */
function shardCommand(request: EmitRequest, shard: string): string {
  const words = ['sweep', request.sweepPath, '--runs-dir', request.runsDir, ...request.passThrough].map(shellWord);
  return `$MTL ${words.join(' ')} --shard "${shard}/${request.shards}"`;
}

function header(request: EmitRequest, comment: string): string[] {
  return [
    `${comment} Generated by: ${request.emittedBy}`,
    `${comment} Sweep ${request.sweepId}: ${request.trials} trials in ${request.shards} shards; job i runs ` +
      `\`mtl sweep … --shard i/${request.shards}\`.`,
    `${comment} Paths are relative to the directory mtl --emit ran in; MTL is how mtl is called (default: ` +
      `${mtlOf(request)}).`,
  ];
}

function mtlOf(request: EmitRequest): string {
  return request.mtl ?? NPX_MTL;
}

function githubMatrix(request: EmitRequest): string {
  const shards = Array.from({ length: request.shards }, (_, i) => i + 1).join(', ');
  const artifact = `${request.sweepId}-shard`;
  const sweepFolder = path.posix.join(request.runsDir, request.sweepId);
  const setup = [
    '      - uses: actions/checkout@v4',
    '      - uses: actions/setup-node@v4',
    '        with:',
    '          node-version: 20',
    '          cache: npm',
    '      - run: npm ci',
  ];
  return [
    ...header(request, '#'),
    '# Save as .github/workflows/sweep.yml (or copy the jobs into a workflow). The paths are relative to the',
    '# repository root. The merge job gathers the shards into one store; add your gate after it, e.g.',
    "# $MTL compare BASE NEW --fail-on-regression, or --fail-if 'TASK/METRIC < VALUE'.",
    `name: sweep ${request.sweepId}`,
    'on:',
    '  workflow_dispatch:',
    'env:',
    `  MTL: ${mtlOf(request)}`,
    'jobs:',
    '  sweep:',
    '    runs-on: ubuntu-latest',
    '    strategy:',
    '      fail-fast: false',
    '      matrix:',
    `        shard: [${shards}]`,
    '    steps:',
    ...setup,
    `      - name: shard \${{ matrix.shard }}/${request.shards}`,
    '        run: |',
    `          ${shardCommand(request, '${{ matrix.shard }}')}`,
    '      - uses: actions/upload-artifact@v4',
    '        if: always()',
    '        with:',
    `          name: ${artifact}-\${{ matrix.shard }}`,
    `          path: ${sweepFolder}`,
    '          if-no-files-found: ignore',
    '  merge:',
    '    needs: sweep',
    '    if: always()',
    '    runs-on: ubuntu-latest',
    '    steps:',
    ...setup,
    '      - uses: actions/download-artifact@v4',
    '        with:',
    `          pattern: ${artifact}-*`,
    '          path: shards',
    '      - run: |',
    `          $MTL runs merge shards/* --runs-dir ${shellWord(request.runsDir)}`,
    `          $MTL sweep status ${shellWord(request.sweepPath)} --runs-dir ${shellWord(request.runsDir)}`,
    '',
  ].join('\n');
}

function slurmScript(request: EmitRequest): string {
  return [
    '#!/bin/sh',
    ...header(request, '#'),
    '# Submit from that directory: sbatch THIS-FILE. Every array task uses the same runs folder, which must be on a',
    '# file system all nodes share (the trial locks keep the tasks apart). Slurm caps arrays at MaxArraySize.',
    `#SBATCH --job-name=mtl-${request.sweepId}`,
    `#SBATCH --array=1-${request.shards}`,
    '#SBATCH --output=slurm-%x-%A_%a.out',
    '# Resources each shard needs: remove one # to use a line.',
    '##SBATCH --time=01:00:00',
    '##SBATCH --cpus-per-task=2',
    '##SBATCH --mem=4G',
    '##SBATCH --partition=PARTITION',
    'set -eu',
    'cd "${SLURM_SUBMIT_DIR:-.}"',
    ': "${SLURM_ARRAY_TASK_ID:?submit this script with sbatch: it is a job array}"',
    `MTL=\${MTL:-${mtlOf(request)}}`,
    `exec ${shardCommand(request, '${SLURM_ARRAY_TASK_ID}')}`,
    '',
  ].join('\n');
}

function kubernetesJob(request: EmitRequest): string {
  const workingDir = '/work';
  const mount = path.posix.isAbsolute(request.runsDir) ? request.runsDir : path.posix.join(workingDir, request.runsDir);
  return [
    ...header(request, '#'),
    '# Placeholders to set: the image (Node.js ≥ 20.19, your repository at workingDir, `npm ci` done) and the',
    '# claim mtl-runs (ReadWriteMany, shared by the pods; the trial locks keep the shards apart). kubectl apply -f …',
    '# JOB_COMPLETION_INDEX is 0-based, the shards 1-based: the shell adds one.',
    'apiVersion: batch/v1',
    'kind: Job',
    'metadata:',
    `  name: mtl-${request.sweepId}`,
    'spec:',
    '  completionMode: Indexed',
    `  completions: ${request.shards}`,
    `  parallelism: ${request.shards}`,
    `  backoffLimit: ${request.shards}`,
    '  template:',
    '    spec:',
    '      restartPolicy: Never',
    '      containers:',
    '        - name: shard',
    '          image: IMAGE # placeholder',
    `          workingDir: ${workingDir}`,
    '          env:',
    '            - name: MTL',
    `              value: ${mtlOf(request)}`,
    '          command:',
    '            - sh',
    '            - -c',
    '            - |',
    '              set -eu',
    '              shard=$((JOB_COMPLETION_INDEX + 1))',
    `              exec ${shardCommand(request, '$shard')}`,
    '          volumeMounts:',
    '            - name: runs',
    `              mountPath: ${mount}`,
    '      volumes:',
    '        - name: runs',
    '          persistentVolumeClaim:',
    '            claimName: mtl-runs # placeholder',
    '',
  ].join('\n');
}

function shellScript(request: EmitRequest): string {
  const n = request.shards;
  return [
    '#!/bin/sh',
    ...header(request, '#'),
    `# Runs the ${n} shards on this machine, in one runs folder: with GNU parallel when it is installed, else as`,
    '# background jobs (MTL_SHARD_RUNNER=background|parallel chooses). Exits 0 when every shard did, else with the',
    '# exit code of the first shard that failed.',
    'set -u',
    `MTL=\${MTL:-${mtlOf(request)}}`,
    'runner=${MTL_SHARD_RUNNER:-}',
    'if [ -z "$runner" ]; then',
    '  runner=background',
    "  if parallel --version 2>/dev/null | grep -q 'GNU parallel'; then runner=parallel; fi",
    'fi',
    'status=0',
    'if [ "$runner" = parallel ]; then',
    '  joblog=$(mktemp)',
    // -q: parallel quotes each word, so they reach mtl as this shell split them; {} is still replaced.
    `  seq 1 ${n} | parallel -q --jobs ${n} --line-buffer --joblog "$joblog" ${shardCommand(request, '{}')}`,
    // The joblog (tab-separated, a header line) has the job's sequence number (= its shard) in column 1 and its exit
    // value in column 7, in the order the jobs ended: sorted by shard, the first non-zero.
    `  status=$(awk -F '\\t' 'NR > 1 && $7 != 0 { print $1 "\\t" $7 }' "$joblog" | sort -n | head -n 1 | cut -f 2)`,
    '  rm -f "$joblog"',
    '  exit "${status:-0}"',
    'fi',
    'pids=',
    'shard=1',
    `while [ "$shard" -le ${n} ]; do`,
    `  ${shardCommand(request, '$shard')} &`,
    '  pids="$pids $!"',
    '  shard=$((shard + 1))',
    'done',
    'for pid in $pids; do',
    '  wait "$pid"',
    '  code=$?',
    '  if [ "$status" -eq 0 ] && [ "$code" -ne 0 ]; then status=$code; fi',
    'done',
    'exit "$status"',
    '',
  ].join('\n');
}
