#!/usr/bin/env node
/**
 * Throughput of `mtl sweep --jobs N` against `--jobs 1` (issue #16: with 2 workers on 2 cores ≥ 1.8× one worker on
 * small configs). With --ceiling, also the machine's own ceiling for the same work: N in-process shards (`--jobs 1
 * --shard i/N`) started at once, no coordinator and no workers — what N independent processes reach on this
 * machine's cores, whatever `--jobs` does. The same sweep — the quickstart (wasm, a few epochs) over training.lr ×
 * seeds — is trained into a fresh temporary store with --jobs 1 and with --jobs N, alternating which goes first, for
 * several rounds; each is the built CLI (bin/mtl.js → dist/: run `npx tsc -p tsconfig.json` first) timed wall-clock
 * from start to exit, so a worker's start-up counts. Prints trials/s per round and the median ratio, with the
 * machine. Not part of npm test.
 *
 *   node bench/sweep-jobs.mjs [--jobs 2] [--rounds 3] [--trials 12] [--epochs 3] [--ceiling] [--json]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin', 'mtl.js');

function usage(message) {
  process.stderr.write(
    `bench: ${message}\nusage: node bench/sweep-jobs.mjs [--jobs N] [--rounds R] [--trials T] ` +
      '[--epochs E] [--ceiling] [--json]\n',
  );
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      trials: { type: 'string', default: '12' },
      epochs: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      ceiling: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  usage(error.message);
}
if (values.help) usage('times mtl sweep --jobs 1 against --jobs N');
const whole = (name, min) => {
  const n = Number(values[name]);
  if (!Number.isSafeInteger(n) || n < min) usage(`--${name} "${values[name]}": expected a whole number ≥ ${min}`);
  return n;
};
const jobs = whole('jobs', 2);
const rounds = whole('rounds', 1);
const trials = whole('trials', 2);
const epochs = whole('epochs', 1);

// The sweep: the quickstart on wasm (single-threaded, so N workers are N busy cores), `trials` lr × seed points.
const dir = mkdtempSync(path.join(os.tmpdir(), 'mtl-bench-sweep-'));
const quickstart = readFileSync(path.join(root, 'configs', 'quickstart.yaml'), 'utf8');
writeFileSync(
  path.join(dir, 'base.yaml'),
  quickstart
    .replace(/^backend: .*$/m, 'backend: wasm')
    .replace(/^ {2}epochs: .*$/m, `  epochs: ${epochs}`)
    .replace(/^# yaml-language-server.*\n/m, ''),
);
const seeds = Math.ceil(trials / 2);
const lrs = trials > 1 ? [0.001, 0.002] : [0.001];
const points = lrs.length * seeds;
writeFileSync(
  path.join(dir, 'sweep.yaml'),
  `name: bench\nbase: base.yaml\nspace:\n  training.lr: [${lrs.join(', ')}]\n` +
    `seeds: [${Array.from({ length: seeds }, (_, i) => i).join(', ')}]\n`,
);

/** The trials a finished `mtl sweep --json` trained; exits the bench when the command failed. */
function trainedBy(result, what) {
  if (result.status !== 0) {
    process.stderr.write(result.stderr.slice(-4000));
    process.stderr.write(`bench: mtl sweep ${what} exited ${result.status}\n`);
    process.exit(1);
  }
  return JSON.parse(result.stdout).trials.filter((t) => t.action === 'trained').length;
}

const sweepArgs = (store, extra) => [
  bin,
  'sweep',
  path.join(dir, 'sweep.yaml'),
  ...extra,
  '--json',
  '--runs-dir',
  store,
];
const childOptions = { cwd: root, encoding: 'utf8', env: { ...process.env, CI: 'true' }, maxBuffer: 64 << 20 };

/** One sweep into a fresh store: seconds, trials trained. */
function timeSweep(n) {
  const store = mkdtempSync(path.join(dir, `store-j${n}-`));
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, sweepArgs(store, ['--jobs', String(n)]), childOptions);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const trained = trainedBy(result, `--jobs ${n}`);
  rmSync(store, { recursive: true, force: true });
  return { seconds, trained, trialsPerSecond: trained / seconds };
}

/** `n` in-process shards of the sweep started together into one fresh store: seconds until the last exits. */
async function timeShards(n) {
  const store = mkdtempSync(path.join(dir, `store-s${n}-`));
  const start = process.hrtime.bigint();
  const results = await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, sweepArgs(store, ['--jobs', '1', '--shard', `${i + 1}/${n}`]), {
            cwd: root,
            env: childOptions.env,
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d) => (stdout += d));
          child.stderr.on('data', (d) => (stderr += d));
          child.on('close', (status) => resolve({ status, stdout, stderr }));
        }),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const trained = results.reduce((sum, r, i) => sum + trainedBy(r, `--shard ${i + 1}/${n}`), 0);
  rmSync(store, { recursive: true, force: true });
  return { seconds, trained, trialsPerSecond: trained / seconds };
}

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const machine = {
  cores: os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? 'unknown',
  node: process.version,
  platform: `${os.platform()} ${os.arch()}`,
  loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
};
process.stderr.write(
  `sweep of ${points} trials (quickstart, wasm, ${epochs} epochs), --jobs 1 vs --jobs ${jobs}, ${rounds} rounds; ` +
    `${machine.cores} cores (${machine.cpu}), node ${machine.node}, load ${machine.loadavg.join(' ')}\n`,
);
const results = [];
for (let round = 1; round <= rounds; round++) {
  // Alternate which goes first, so a slow start of the machine weighs on both alike.
  const order = round % 2 ? [1, jobs] : [jobs, 1];
  const timed = {};
  for (const n of order) timed[n] = timeSweep(n);
  const ratio = timed[jobs].trialsPerSecond / timed[1].trialsPerSecond;
  const shards = values.ceiling ? await timeShards(jobs) : undefined;
  const ceiling = shards ? shards.trialsPerSecond / timed[1].trialsPerSecond : undefined;
  results.push({ round, one: timed[1], many: timed[jobs], ratio, ...(shards ? { shards, ceiling } : {}) });
  process.stderr.write(
    `round ${round}: --jobs 1 ${timed[1].trialsPerSecond.toFixed(2)} trials/s (${timed[1].seconds.toFixed(1)} s), ` +
      `--jobs ${jobs} ${timed[jobs].trialsPerSecond.toFixed(2)} trials/s (${timed[jobs].seconds.toFixed(1)} s), ` +
      `ratio ${ratio.toFixed(2)}` +
      (shards
        ? `; ${jobs} shards at once ${shards.trialsPerSecond.toFixed(2)} trials/s, ceiling ${ceiling.toFixed(2)}`
        : '') +
      '\n',
  );
}
rmSync(dir, { recursive: true, force: true });
const summary = {
  trials: points,
  epochs,
  jobs,
  rounds: results,
  median: {
    one: median(results.map((r) => r.one.trialsPerSecond)),
    many: median(results.map((r) => r.many.trialsPerSecond)),
    ratio: median(results.map((r) => r.ratio)),
    ...(values.ceiling ? { ceiling: median(results.map((r) => r.ceiling)) } : {}),
  },
  machine: { ...machine, loadavgAfter: os.loadavg().map((x) => Number(x.toFixed(2))) },
};
if (values.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
else {
  process.stdout.write(
    `median trials/s: --jobs 1 ${summary.median.one.toFixed(2)}, --jobs ${jobs} ${summary.median.many.toFixed(2)}; ` +
      `median ratio ${summary.median.ratio.toFixed(2)} (${rounds} rounds, ${points} trials each)` +
      (values.ceiling ? `; ${jobs} shards at once: ratio ${summary.median.ceiling.toFixed(2)}` : '') +
      '\n' +
      `machine: ${machine.cores} cores, ${machine.cpu}, node ${machine.node}, ${machine.platform}, ` +
      `load before ${machine.loadavg.join(' ')}, after ${summary.machine.loadavgAfter.join(' ')}\n`,
  );
}
