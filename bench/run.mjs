#!/usr/bin/env node
/**
 * `npm run bench` — the mtl benchmark (project issue #7). Not part of `npm test`.
 *
 *   npm run bench                                   # builds dist/, then: W1–W4 + memory on wasm, PyTorch W1–W3
 *   node bench/run.mjs --workloads W1,W3 --steps 10 --windows 3
 *   node bench/run.mjs --backends wasm,cpu          # cpu (pure JS) is slow: ~1 s per W1 step
 *
 * Workloads (bench/workloads.mjs builds W1–W3 with the project's own code, bench/torch_reference.py the same in
 * PyTorch):
 *   W1  MLP trunk 784→256→128 (ReLU), two 10-way softmax heads, batch 256, Adam, equal weighting
 *   W2  W1 with PCGrad on the shared parameters (T = 2 backward passes through the trunk)
 *   W3  MMoE: 8 experts of one dense 100→64 (ReLU), a softmax gate and a 64→32→1 tower per task, two binary
 *       tasks, batch 512, Adam, equal weighting
 *   W4  `mtl train configs/quickstart.yaml` end to end (trainExperiment: data, metrics, logging, checkpoints) for
 *       --w4-epochs epochs; the time outside the training steps is split off (see measureEpochs below)
 *   MEM the quickstart for --mem-epochs epochs: live tensors and RSS after every epoch
 *   TASKS, WIDTH, BATCH, CONV, PATHS  the scaling figures of issue #20 (bench/scaling-run.mjs): ms/step against the
 *       number of tasks per strategy, against trunk width beside the GEMM peak, against the batch size, a conv step,
 *       and our two step paths
 *   With --fma auto|on, W1 and W2 also run on the FMA kernels (relaxed SIMD); the targets list judges issue #20's
 *   targets, W2's on both kernel paths.
 *
 * Every TF.js measurement runs in its own child process (so peak RSS is the workload's). Timing: after --warmup
 * untimed steps, --windows windows of --steps steps; the figure is the median over windows of the window's mean
 * ms/step (wall clock), and the same for process CPU time. Both sides run single-threaded. W1–W3 are paired
 * (bench/paired.mjs): every child of a round starts and warms up, then they take turns, one window each, --windows
 * cycles, so that a ratio (ours / PyTorch's, W2 / W1) is the median of per-cycle ratios of windows timed back to
 * back, not of figures measured seconds or minutes apart; each scaling cell's two children are paired the same way
 * (bench/scaling-run.mjs). --sequential runs them one child after the other as before, PyTorch's right after ours;
 * W4 and MEM always run alone.
 *
 * Output: a table per workload and backend on stdout, and everything as JSON in bench/results/bench-<time>.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A mistake in the command line: reported in one line, exit code 2. */
class BenchUsageError extends Error {}
import { createRequire } from 'node:module';
import { openblasCorePlan } from './blas-core.mjs';
import { pairedRatio, windowOrder } from './paired.mjs';
import { medianOfRounds } from './rounds.mjs';
import { fmaNodeFlags, judgeRatio, judgeTarget, targetLine } from './scaling.mjs';
import { printScaling, runScaling, scalingTargets } from './scaling-run.mjs';
import { fmt, printTable } from './table.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const TORCH_SCRIPT = path.join(HERE, 'torch_reference.py');
const PYTHON = '/usr/bin/python3';
const OPENBLAS_DIRS = [
  '/usr/lib/x86_64-linux-gnu/openblas-pthread',
  '/usr/lib/x86_64-linux-gnu/openblas-openmp',
  '/usr/lib/x86_64-linux-gnu/openblas-serial',
];
const STEP_WORKLOADS = ['W1', 'W2', 'W3'];
/** The workloads that also run on the FMA kernels (relaxed SIMD) when the children's Node has them. */
const FMA_WORKLOADS = ['W1', 'W2'];
const SCALING_WORKLOADS = ['TASKS', 'WIDTH', 'BATCH', 'CONV', 'PATHS'];
const ALL_WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'MEM', ...SCALING_WORKLOADS];
const ALL_STRATEGIES = ['equal', 'pcgrad', 'mgda', 'nash-mtl', 'cagrad'];
const TASKS_IN_W2 = 2;

const USAGE = `node bench/run.mjs [options]
  --workloads LIST   comma-separated, from ${ALL_WORKLOADS.join(',')} (default: all)
  --backends LIST    TF.js backends: wasm, cpu, tensorflow (default: wasm, plus tensorflow when
                     @tensorflow/tfjs-node is installed; cpu, the pure-JS backend, only when asked: ~1 s per W1 step)
  --steps N          steps per timed window (default 20)
  --rounds N         W1–W3 (every row, PyTorch's too) N times, round after round, then TASKS, WIDTH, BATCH, CONV
                     and PATHS N times; each row or cell is its median round, GEMM peaks their best (default 1)
  --windows N        timed windows (default 5); W1–W3 are timed paired: all their children (ours, FMA, PyTorch)
                     warm up, then run one window each in turn, N cycles; a ratio is the median of the
                     per-cycle ratios (bench/paired.mjs)
  --sequential       W1–W3 and the scaling cells timed the way before pairing: one child after another, each
                     all its windows, PyTorch's right after ours; a ratio is the ratio of the two medians
  --warmup N         untimed steps first (default 10)
  --w4-epochs N      epochs of the W4 end-to-end run (default 15, the quickstart's own; epoch 1 is the warm-up,
                     the target is judged on the median of epochs 2..N)
  --mem-epochs N     epochs of the memory run (default 20)
  --torch-blas WHAT  auto (OpenBLAS when installed, else the system BLAS), openblas, system, or a directory
                     holding libblas.so.3 (default auto). Where OpenBLAS falls back to pre-AVX kernels on a
                     CPU with AVX or later, the bench sets OPENBLAS_CORETYPE for PyTorch (one you set is kept)
  --fma WHAT         auto (default: W1 and W2 also on the FMA kernels when the TF.js children's Node has relaxed
                     SIMD, with --experimental-wasm-relaxed-simd on Node 20), on (those rows, failing when
                     unavailable), off (no FMA rows); every other row pins the plain kernels (backend fma: off)
  --node PATH        Node binary for the TF.js children (default: this one)
  --task-counts LIST TASKS: numbers of tasks (default 2,4,8,16)
  --strategies LIST  TASKS: strategies (default ${ALL_STRATEGIES.join(',')})
  --widths LIST      WIDTH: trunk widths (default 256,512,1024,2048)
  --gemm-size N      WIDTH: the square sgemm that measures the GEMM peak (default 2048)
  --batch-sizes LIST BATCH: batch sizes of W1 (default 32,64,128,256,512,1024)
  --scale-steps N / --scale-windows N / --scale-warmup N
                     TASKS, WIDTH, BATCH, CONV, PATHS: steps per window, windows, warm-up steps (default 10 / 5 / 5)
  --conv-warmup N    CONV: warm-up steps, both engines (default 40: ours settles after ~35, see bench/README.md)
  --no-torch         skip the PyTorch reference
  --out FILE         JSON output (default bench/results/bench-<time>.json)
  --verbose          pass the children's stderr (training logs) through`;

function parseArgs(argv) {
  const opts = {
    workloads: ALL_WORKLOADS,
    backends: undefined,
    steps: 20,
    windows: 5,
    warmup: 10,
    w4Epochs: 15,
    memEpochs: 20,
    torchBlas: 'auto',
    torch: true,
    out: undefined,
    verbose: false,
    child: undefined,
    workload: undefined,
    backend: undefined,
    fma: 'auto',
    node: undefined,
    taskCounts: [2, 4, 8, 16],
    strategies: ALL_STRATEGIES,
    widths: [256, 512, 1024, 2048],
    batchSizes: [32, 64, 128, 256, 512, 1024],
    gemmSize: 2048,
    scaleSteps: 10,
    scaleWindows: 5,
    scaleWarmup: 5,
    convWarmup: 40,
    fmaChild: 'off',
    retained: undefined,
    rounds: 1,
    gated: false,
    sequential: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new BenchUsageError(`${a} needs a value`);
      return v;
    };
    const int = (min) => {
      const v = Number(next());
      if (!Number.isInteger(v) || v < min) throw new BenchUsageError(`${a} must be an integer >= ${min}`);
      return v;
    };
    const list = () =>
      next()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    if (a === '--workloads') opts.workloads = list().map((w) => w.toUpperCase());
    else if (a === '--backends') opts.backends = list();
    else if (a === '--steps') opts.steps = int(1);
    else if (a === '--rounds') opts.rounds = int(1);
    else if (a === '--windows') opts.windows = int(1);
    else if (a === '--warmup') opts.warmup = int(1);
    else if (a === '--w4-epochs') opts.w4Epochs = int(1);
    else if (a === '--mem-epochs') opts.memEpochs = int(2);
    else if (a === '--torch-blas') opts.torchBlas = next();
    else if (a === '--no-torch') opts.torch = false;
    else if (a === '--fma') opts.fma = next();
    else if (a === '--node') opts.node = next();
    else if (a === '--task-counts') opts.taskCounts = list().map(Number);
    else if (a === '--strategies') opts.strategies = list();
    else if (a === '--widths') opts.widths = list().map(Number);
    else if (a === '--batch-sizes') opts.batchSizes = list().map(Number);
    else if (a === '--gemm-size') opts.gemmSize = int(16);
    else if (a === '--scale-steps') opts.scaleSteps = int(1);
    else if (a === '--scale-windows') opts.scaleWindows = int(1);
    else if (a === '--scale-warmup') opts.scaleWarmup = int(1);
    else if (a === '--conv-warmup') opts.convWarmup = int(1);
    else if (a === '--fma-child') opts.fmaChild = next();
    else if (a === '--retained') opts.retained = next();
    else if (a === '--gated') opts.gated = true;
    else if (a === '--sequential') opts.sequential = true;
    else if (a === '--out') opts.out = next();
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '--child') opts.child = next();
    else if (a === '--workload') opts.workload = next();
    else if (a === '--backend') opts.backend = next();
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new BenchUsageError(`unknown argument ${a}\n${USAGE}`);
  }
  for (const w of opts.workloads)
    if (!ALL_WORKLOADS.includes(w))
      throw new BenchUsageError(`unknown workload ${w} (known: ${ALL_WORKLOADS.join(', ')})`);
  if (!['auto', 'on', 'off'].includes(opts.fma)) throw new BenchUsageError(`--fma must be auto, on or off`);
  for (const [flag, xs, min] of [
    ['--task-counts', opts.taskCounts, 1],
    ['--widths', opts.widths, 1],
    ['--batch-sizes', opts.batchSizes, 1],
  ])
    if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < min))
      throw new BenchUsageError(`${flag} must be a comma-separated list of integers >= ${min}`);
  if (opts.taskCounts.length < 2 || new Set(opts.taskCounts).size < 2)
    throw new BenchUsageError('--task-counts needs at least two different numbers of tasks (the fit is a line)');
  if (new Set(opts.batchSizes).size < 2)
    throw new BenchUsageError('--batch-sizes needs at least two different batch sizes (the fit is a line)');
  for (const st of opts.strategies)
    if (!ALL_STRATEGIES.includes(st))
      throw new BenchUsageError(`unknown strategy ${st} for --strategies (known: ${ALL_STRATEGIES.join(', ')})`);
  if (opts.node !== undefined && !existsSync(opts.node))
    throw new BenchUsageError(`--node ${opts.node}: no such file (give the path of a node binary)`);
  for (const b of opts.backends ?? [])
    if (!['wasm', 'cpu', 'tensorflow'].includes(b))
      throw new BenchUsageError(`unknown backend ${b} (known: wasm, cpu, tensorflow)`);
  return opts;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, digits = 3) =>
  x === undefined || x === null || !Number.isFinite(x) ? null : Number(x.toFixed(digits));
const mb = (bytes) => round(bytes / 2 ** 20, 1);
const cpuMs = (usage) => (usage.user + usage.system) / 1000;

// ---------------------------------------------------------------------------------------------------------------
// Children: one measurement each, JSON on stdout.

async function loadTf(backend, fma = 'off') {
  const { tf } = await import('../dist/tf.js');
  const { initBackend } = await import('../dist/backend/select.js');
  // The FMA choice is initBackend's second argument from issue #20 on (ignored before); every child but the FMA ones
  // pins `off`, so the plain rows run the same kernels on every Node.
  const report = await initBackend(backend, { fma });
  if (report.name !== backend) throw new Error(`asked for ${backend}, got ${report.name}`);
  return { tf, report };
}

function backendInfo(tf, report) {
  return {
    name: report.name,
    provider: report.provider,
    kernelOverrides: report.kernelOverrides,
    wasmSimd: report.name === 'wasm' ? tf.env().getBool('WASM_HAS_SIMD_SUPPORT') : undefined,
    wasmThreads: report.name === 'wasm' ? tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') : undefined,
    fma: report.fma,
    node: process.version,
  };
}

/** W1–W3: the step of bench/workloads.mjs, timed in windows. */
async function childStep(opts) {
  const { tf, report } = await loadTf(opts.backend, opts.fmaChild);
  const { buildWorkload } = await import('./workloads.mjs');
  let stepPath;
  if (opts.retained !== undefined) {
    // The lead's switch of issue #20 point 1: `stepPaths.retainedTrunk = false` gives the T-forward path.
    const step = await import('../dist/train/step.js');
    if (!step.stepPaths || typeof step.stepPaths.retainedTrunk !== 'boolean')
      return { skipped: 'dist/train/step.js exports no stepPaths.retainedTrunk (the one-forward path is not built)' };
    step.stepPaths.retainedTrunk = opts.retained === 'on';
    stepPath = opts.retained === 'on' ? 'one forward, T backwards' : 'T forwards (the earlier path)';
  }
  const tensorsBefore = tf.memory().numTensors;
  const w = await buildWorkload(opts.workload);
  for (let s = 0; s < opts.warmup; s++) w.step();
  w.readLoss();
  const tensorsAfterWarmup = tf.memory().numTensors;
  for (const k of Object.keys(w.phases)) w.phases[k] = 0;
  w.solver.ms = 0;
  w.solver.calls = 0;
  let timedWall = 0;
  const windows = [];
  const cpuWindows = [];
  const losses = [];
  const rss = [];
  const runWindow = () => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let s = 0; s < opts.steps; s++) w.step();
    losses.push(w.readLoss()); // one sync per window (the wasm and cpu backends run eagerly anyway)
    timedWall += performance.now() - t0;
    windows.push((performance.now() - t0) / opts.steps);
    cpuWindows.push(cpuMs(process.cpuUsage(c0)) / opts.steps);
    rss.push(process.memoryUsage().rss);
  };
  if (opts.gated) {
    await gatedWindows(runWindow, () => [windows.at(-1), cpuWindows.at(-1)]);
    if (windows.length === 0) throw new Error('gated child: ended before its first window (no go): nothing was timed');
  } else for (let i = 0; i < opts.windows; i++) runWindow();
  const timedSteps = opts.steps * windows.length;
  const tensorsAtEnd = tf.memory().numTensors;
  w.dispose();
  const msPerStep = median(windows);
  return {
    kind: 'step',
    workload: opts.workload,
    description: w.description,
    backend: backendInfo(tf, report),
    strategy: w.strategy.name,
    grad_target: w.strategy.needs,
    step_path: stepPath,
    batch: w.batch,
    steps: opts.steps,
    windows: windows.length,
    // Timed taking turns with other children (bench/paired.mjs): its windows pair with theirs cycle by cycle.
    gated: opts.gated,
    warmup: opts.warmup,
    ms_per_step_median: round(msPerStep),
    window_ms_per_step: windows.map((x) => round(x)),
    cpu_ms_per_step_median: round(median(cpuWindows)),
    samples_per_second: round((w.batch * 1000) / msPerStep, 1),
    // Time inside strategy.combiner.combine per timed step, and its share of the timed steps' wall time.
    solver_ms_per_step: w.solver.calls > 0 ? round(w.solver.ms / timedSteps, 4) : null,
    solver_share: w.solver.calls > 0 ? round(w.solver.ms / timedWall, 4) : null,
    phases_ms_per_step: Object.fromEntries(Object.entries(w.phases).map(([k, v]) => [k, round(v / timedSteps)])),
    live_tensors: {
      before_build: tensorsBefore,
      after_warmup: tensorsAfterWarmup,
      at_end: tensorsAtEnd,
      after_dispose: tf.memory().numTensors,
    },
    rss_mb_per_window: rss.map(mb),
    peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
    loss_per_window: losses.map((x) => round(x, 6)),
  };
}

/**
 * A gated child's timed windows (bench/paired.mjs): after its warm-up it says `ready` on stdout, then runs one window
 * per `go` line on stdin, answering `window <ms/step> <cpu ms/step>`, until `end` or the end of stdin.
 */
async function gatedWindows(runWindow, lastWindow) {
  process.stdout.write('ready\n');
  const commands = createInterface({ input: process.stdin });
  try {
    for await (const line of commands) {
      const command = line.trim();
      if (command === 'end') break;
      if (command !== 'go') throw new Error(`gated child: unknown command "${command}" (expected go or end)`);
      runWindow();
      const [ms, cpu] = lastWindow();
      process.stdout.write(`window ${ms} ${cpu}\n`);
    }
  } finally {
    // Also when a window throws: an open stdin would keep this child alive after it printed its error.
    commands.close();
    process.stdin.destroy();
  }
}

/**
 * W4 and MEM: the real `trainExperiment` on configs/quickstart.yaml (with the CLI's non-interactive progress
 * listener, so logging is included).
 *
 * Where the time goes, per epoch: the epoch runs from the end of the previous epoch (our listener is the last one
 * called; the first epoch starts at `onStart`, after data preparation and the model build) to this epoch's
 * `onEpochEnd`, so it holds the shuffle, every batch slice, every step, validation metrics, the best checkpoint, the
 * run writer's metrics/epoch logs and the progress line. Step time is measured from epoch 2 on, exactly: the
 * trainer calls `model.setStep(step)` right after slicing a batch and calls `onBatch` right after the optimizer
 * update and the loss accumulation, so Σ (onBatch − setStep) is forward + backward + clip + optimizer; and every
 * `model.forward(x, false)` is the validation forward pass (the trainer runs inference only to validate). What is
 * left — epoch − steps − validation forward — is data, metrics, logging and checkpointing, the issue's "outside". The
 * model reaches the bench only with the first `onEpochEnd`, which is why epoch 1 (also the warm-up: JIT, XNNPACK
 * operator creation) gets only an estimate from the intervals between batches, and the W4 target takes the median
 * of epochs 2..N.
 */
async function childEpochs(opts, epochs, kind) {
  const { tf, report } = await loadTf(opts.backend);
  const { loadConfig } = await import('../dist/config/load.js');
  const { trainExperiment } = await import('../dist/api/train.js');
  const { progressListener } = await import('../dist/cli/progress.js');
  const runsDir = mkdtempSync(path.join(os.tmpdir(), 'mtl-bench-runs-'));
  const overrides = [`training.epochs=${epochs}`, 'training.early_stopping.patience=0'];
  const loaded = loadConfig(path.join(ROOT, 'configs', 'quickstart.yaml'), overrides);
  const tensorsBefore = tf.memory().numTensors;
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  let setupEnd = 0;
  let epochStart = 0;
  let stepStart = 0;
  let stepSum = 0;
  let validationForward = 0;
  let lastBatch = 0;
  // Where the outside goes (from epoch 2): before the epoch's first step (the shuffle into batches, and the `last`
  // checkpoint of the epoch before where one is due: the trainer takes it after the listeners' onEpochEnd, at most
  // once a second), between steps
  // (listeners, event-loop turns with V8's scheduled scavenges), after its last step (validation metrics on the host,
  // checkpoints, logs; the validation forward pass taken out).
  let beforeFirst = 0;
  let betweenSteps = 0;
  let stepEnd = 0;
  let firstBatchInterval = 0;
  let patched = false;
  let trainRows = 0;
  const records = [];
  // V8 garbage-collection pauses, to tell them apart from the trainer's own work between steps.
  const gcs = [];
  const { PerformanceObserver } = await import('node:perf_hooks');
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, duration: e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  const stepWindows = []; // [start, end] of every exactly timed step
  const forwardWindows = []; // [start, end] of every validation forward pass
  const epochWindows = []; // [start, end] of every epoch
  const timing = {
    onStart: (info) => {
      trainRows = info.trainRows;
      setupEnd = performance.now();
      epochStart = setupEnd;
      lastBatch = setupEnd;
    },
    onBatch: (info) => {
      const now = performance.now();
      if (patched) {
        stepSum += now - stepStart;
        stepWindows.push([stepStart, now]);
        stepEnd = now;
      } else if (info.batch === 1) firstBatchInterval = now - lastBatch;
      else stepSum += now - lastBatch; // epoch 1: intervals between batches (include the slice of the next batch)
      lastBatch = now;
    },
    onEpochEnd: (record, model) => {
      const now = performance.now();
      const seconds = (now - epochStart) / 1000;
      epochWindows.push([epochStart, now]);
      records.push({
        epoch: record.epoch,
        // Five digits (10 µs): the outside is a few ms, so rounding these to the millisecond moved its share by up to
        // a point of the epoch.
        epoch_seconds: round(seconds, 5),
        step_seconds: round(stepSum / 1000, 5),
        step_time_exact: patched,
        validation_forward_seconds: patched ? round(validationForward / 1000, 5) : null,
        outside_parts_seconds: patched
          ? {
              before_first_step: round(beforeFirst / 1000, 5),
              between_steps: round(betweenSteps / 1000, 5),
              after_last_step: round((now - stepEnd - validationForward) / 1000, 5),
            }
          : null,
        outside_step_seconds: round(seconds - stepSum / 1000, 5),
        outside_step_fraction: round(1 - stepSum / 1000 / seconds, 4),
        trainer_seconds: round(record.seconds),
        live_tensors: tf.memory().numTensors,
        rss_mb: mb(process.memoryUsage().rss),
        heap_used_mb: mb(process.memoryUsage().heapUsed),
        wasm_heap_mb: wasmHeapMb(tf),
        val_monitor: round(record.monitor.value, 4),
      });
      // MEM: at epoch 2 and at the end, also after a full garbage collection (the child runs with --expose-gc):
      // without one, RSS follows V8's lazily growing old space, not what the run keeps.
      if (kind === 'memory' && typeof globalThis.gc === 'function' && (record.epoch === 2 || record.epoch === epochs)) {
        globalThis.gc();
        const last = records[records.length - 1];
        last.rss_after_gc_mb = mb(process.memoryUsage().rss);
        last.heap_used_after_gc_mb = mb(process.memoryUsage().heapUsed);
      }
      if (!patched) {
        // From now on time each step exactly (see above).
        const setStep = model.setStep.bind(model);
        model.setStep = (step) => {
          stepStart = performance.now();
          if (stepEnd === 0) beforeFirst += stepStart - epochStart;
          else betweenSteps += stepStart - stepEnd;
          setStep(step);
        };
        // The trainer runs the model in inference mode only to validate: that is the validation forward pass.
        const forward = model.forward.bind(model);
        model.forward = (x, training) => {
          if (training) return forward(x, training);
          const from = performance.now();
          try {
            return forward(x, training);
          } finally {
            const to = performance.now();
            validationForward += to - from;
            forwardWindows.push([from, to]);
          }
        };
        patched = true;
      }
      stepSum = 0;
      validationForward = 0;
      beforeFirst = 0;
      betweenSteps = 0;
      stepEnd = 0;
      epochStart = performance.now();
      lastBatch = epochStart;
    },
  };
  let summary;
  try {
    summary = await trainExperiment(loaded, {
      runsDir,
      backend: opts.backend,
      listeners: [progressListener({ interactive: false }), timing],
      command: ['bench', kind],
    });
  } finally {
    rmSync(runsDir, { recursive: true, force: true });
  }
  const total = (performance.now() - t0) / 1000;
  await new Promise((resolve) => setImmediate(resolve)); // let the last gc entries arrive
  observer.disconnect();
  records.forEach((r, i) => {
    const [from, to] = epochWindows[i];
    const inEpoch = gcs.filter((g) => g.start >= from && g.start < to);
    const within = (windows) => (g) => windows.some(([a, b]) => g.start >= a && g.start < b);
    const inSteps = inEpoch.filter(within(stepWindows));
    const inForward = inEpoch.filter(within(forwardWindows));
    const sum = (xs) => xs.reduce((acc, g) => acc + g.duration, 0) / 1000;
    r.gc_seconds = round(sum(inEpoch));
    if (!r.step_time_exact) return;
    // The issue's measure: what is neither a forward pass (training or validation), a backward pass nor the optimizer.
    r.outside_seconds = round(r.outside_step_seconds - r.validation_forward_seconds, 5);
    r.outside_fraction = round(r.outside_seconds / r.epoch_seconds, 4);
    r.gc_outside_seconds = round(sum(inEpoch) - sum(inSteps) - sum(inForward), 5);
    r.outside_excluding_gc_fraction = round((r.outside_seconds - r.gc_outside_seconds) / r.epoch_seconds, 4);
  });
  const last = records[records.length - 1];
  // Steady state: epochs 2..N (epoch 1 is the warm-up: JIT compilation, first kernel calls).
  const steady = records.filter((r) => r.step_time_exact);
  /** The median over the steady epochs of what `get` reads (null where none has it). */
  const medianOf = (get, digits = 4) => {
    const values = steady
      .map(get)
      .filter((v) => typeof v === 'number')
      .sort((a, b) => a - b);
    if (values.length === 0) return null;
    const mid = values.length >> 1;
    return values.length % 2 === 1 ? values[mid] : round((values[mid - 1] + values[mid]) / 2, digits);
  };
  const median = (key) => medianOf((r) => r[key]);
  const range = (key) => {
    const values = steady.map((r) => r[key]).filter((v) => typeof v === 'number');
    return values.length === 0 ? null : [Math.min(...values), Math.max(...values)];
  };
  return {
    kind,
    workload: kind === 'epoch' ? 'W4' : 'MEM',
    description: `mtl train configs/quickstart.yaml (${epochs} epochs, trainExperiment end to end)`,
    backend: backendInfo(tf, report),
    config: { overrides, batch_size: loaded.config.training.batch_size },
    status: summary.status,
    run_seconds: round(total),
    setup_seconds: round((setupEnd - t0) / 1000),
    after_training_seconds: round(total - (setupEnd - t0) / 1000 - records.reduce((s, r) => s + r.epoch_seconds, 0)),
    epoch1_first_batch_interval_seconds: round(firstBatchInterval / 1000),
    epochs: records,
    steady_epochs: steady.map((r) => r.epoch),
    epoch_seconds_median: median('epoch_seconds'),
    outside_fraction: median('outside_fraction'),
    outside_fraction_range: range('outside_fraction'),
    outside_excluding_gc_fraction: median('outside_excluding_gc_fraction'),
    outside_step_fraction: median('outside_step_fraction'),
    outside_step_fraction_range: range('outside_step_fraction'),
    outside_parts_median_seconds: Object.fromEntries(
      ['before_first_step', 'between_steps', 'after_last_step'].map((part) => [
        part,
        medianOf((r) => r.outside_parts_seconds?.[part], 5),
      ]),
    ),
    train_rows: trainRows,
    samples_per_second: last ? round(trainRows / last.epoch_seconds, 1) : null,
    test: summary.test,
    live_tensors: { before: tensorsBefore, after_run: tf.memory().numTensors },
    rss_mb: { before: mb(rssBefore), after_run: mb(process.memoryUsage().rss) },
    peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
  };
}

function wasmHeapMb(tf) {
  const bytes = tf.getBackend() === 'wasm' ? tf.backend().wasm?.HEAPU8?.buffer?.byteLength : undefined;
  return bytes === undefined ? null : mb(bytes);
}

/**
 * The best GEMM rate of our kernel: tf.matMul of two n×n float32 matrices (n = --gemm-size) on the backend, one
 * warm-up product then three timed ones (best of three: the peak, as PyTorch's side reports it).
 */
async function childGemm(opts) {
  const { tf, report } = await loadTf(opts.backend, opts.fmaChild);
  const n = opts.gemmSize;
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const times = [];
  for (let rep = 0; rep < 4; rep++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    times.push(performance.now() - t0);
    c.dispose();
  }
  a.dispose();
  b.dispose();
  const best = Math.min(...times.slice(1));
  return {
    kind: 'gemm',
    size: n,
    backend: backendInfo(tf, report),
    ms: times.map((t) => round(t)),
    best_ms: round(best),
    gflops: round((2 * n ** 3) / (best * 1e6), 2),
  };
}

async function runChild(opts) {
  let result;
  try {
    if (opts.child === 'gemm') result = await childGemm(opts);
    else if (opts.child === 'step') result = await childStep(opts);
    else if (opts.child === 'epoch') result = await childEpochs(opts, opts.w4Epochs, 'epoch');
    else if (opts.child === 'memory') result = await childEpochs(opts, opts.memEpochs, 'memory');
    else throw new Error(`unknown child ${opts.child}`);
  } catch (error) {
    const details = Array.isArray(error?.details) ? ` ${error.details.join('; ')}` : '';
    result = { error: `${String(error?.message ?? error).split('\n')[0]}${details}` };
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: orchestration, PyTorch, table, JSON.

function spawnJson(command, args, { env, verbose, label }) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (verbose) process.stderr.write(d);
    });
    child.on('close', (code) => resolve(childResult(stdout.trim().split('\n'), code, stderr, label)));
  });
}

/** A child's result: its last line of stdout as JSON, or an error naming the child, its exit and its stderr's end. */
function childResult(lines, code, stderr, label) {
  const line = lines.filter(Boolean).pop();
  try {
    return JSON.parse(line ?? '');
  } catch {
    return { error: `${label}: exit ${code}, no JSON result`, stderr: stderr.trim().split('\n').slice(-5).join('\n') };
  }
}

/**
 * A gated child (bench/paired.mjs): `ready()` waits for its warm-up (false if it ended first, e.g. failed),
 * `window()` has it time one window ({ ms, cpu } per step, or null if it ended), `finish()` ends it and gives its
 * JSON result.
 */
function spawnGated(command, args, { env, verbose, label }) {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  /** Every line of stdout (the last is the result), lines not yet read, readers waiting (null: it has ended). */
  const seen = [];
  const lines = [];
  const readers = [];
  let partial = '';
  let stderr = '';
  let ended = false;
  const deliver = () => {
    while (readers.length > 0 && (lines.length > 0 || ended)) readers.shift()(lines.length > 0 ? lines.shift() : null);
  };
  const closed = new Promise((resolve) =>
    child.on('close', (code) => {
      if (partial !== '') {
        lines.push(partial);
        seen.push(partial);
        partial = '';
      }
      ended = true;
      deliver();
      resolve(code);
    }),
  );
  child.stdout.on('data', (d) => {
    partial += d;
    for (let at = partial.indexOf('\n'); at >= 0; at = partial.indexOf('\n')) {
      lines.push(partial.slice(0, at));
      seen.push(partial.slice(0, at));
      partial = partial.slice(at + 1);
    }
    deliver();
  });
  child.stderr.on('data', (d) => {
    stderr += d;
    if (verbose) process.stderr.write(d);
  });
  child.stdin.on('error', () => {}); // the child ended before reading: its result says why
  const nextLine = () =>
    new Promise((resolve) => {
      readers.push(resolve);
      deliver();
    });
  return {
    // Other lines (something a library printed) are skipped; the result line comes only as the child ends.
    async ready() {
      for (let line = await nextLine(); line !== null; line = await nextLine()) if (line === 'ready') return true;
      return false;
    },
    async window() {
      if (ended) return null;
      child.stdin.write('go\n');
      for (let line = await nextLine(); line !== null; line = await nextLine()) {
        const match = /^window (\S+) (\S+)$/.exec(line);
        if (match) return { ms: Number(match[1]), cpu: Number(match[2]) };
        if (line.startsWith('{')) return null; // its result: it failed and is ending
      }
      return null;
    },
    async finish() {
      if (!ended) child.stdin.end('end\n');
      return childResult(seen, await closed, stderr, label);
    },
  };
}

function childArgs(opts, child, extra) {
  return [
    fileURLToPath(import.meta.url),
    '--child',
    child,
    '--steps',
    String(opts.steps),
    '--windows',
    String(opts.windows),
    '--warmup',
    String(opts.warmup),
    '--w4-epochs',
    String(opts.w4Epochs),
    '--mem-epochs',
    String(opts.memEpochs),
    ...extra,
  ];
}

/** The TF.js children's Node: its version, from the binary itself. */
async function childNodeInfo(nodeBin) {
  try {
    const version = execFileSync(nodeBin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    return { bin: nodeBin, version };
  } catch (error) {
    throw new BenchUsageError(`--node ${nodeBin}: cannot run it (${String(error?.message ?? error).split('\n')[0]})`);
  }
}

/**
 * Whether to run W1 and W2 on the FMA kernels too, with which Node flags: relaxed SIMD is probed in the children's Node
 * with those flags (WebAssembly.validate on a one-instruction module, bench/scaling.mjs).
 */
async function fmaPlan(choice, childNode) {
  const flags = fmaNodeFlags(childNode.version, choice);
  if (choice === 'off') return { run: false, flags, available: null, why: 'off (--fma off)' };
  const scalingModule = JSON.stringify(path.join(HERE, 'scaling.mjs'));
  const probe = `import(${scalingModule}).then((m) => console.log(m.relaxedSimdAvailable()))`;
  let available = false;
  try {
    available = execFileSync(childNode.bin, [...flags, '-e', probe], { encoding: 'utf8' }).trim() === 'true';
  } catch {
    available = false;
  }
  const how = flags.length > 0 ? ` with ${flags.join(' ')}` : '';
  if (!available && choice === 'on')
    throw new BenchUsageError(
      `--fma on: Node ${childNode.version}${how} has no WebAssembly relaxed SIMD; use --fma auto or off, or --node`,
    );
  return {
    run: available,
    flags,
    available,
    why: available
      ? `W1 and W2 also on the FMA kernels (Node ${childNode.version}${how}: relaxed SIMD available)`
      : `none: Node ${childNode.version}${how} has no relaxed SIMD`,
  };
}

/**
 * One round of W1–W3, paired (bench/paired.mjs): every child of the round (ours on each backend, ours on the FMA
 * kernels, PyTorch's, for each step workload) starts and warms up at once, then the parent lets one child at a time
 * time one window, `--windows` cycles through all of them. Results go where the sequential rounds put theirs, and
 * every window's ms/step, by cycle, into info.paired.windows_ms.
 */
async function pairedRound({ nodeBin, opts, info, blas, log }, roundNumber) {
  const workloads = opts.workloads.filter((w) => STEP_WORKLOADS.includes(w));
  const members = [];
  for (const workload of workloads) {
    const tfArgs = (backend, extra = []) =>
      childArgs(opts, 'step', ['--workload', workload, '--backend', backend, '--gated', ...extra]);
    for (const backend of opts.backends)
      members.push({ id: `${workload}/${backend}`, workload, list: 'results', backend, args: tfArgs(backend) });
    if (FMA_WORKLOADS.includes(workload) && info.fma.run && opts.backends.includes('wasm'))
      members.push({
        id: `${workload}/fma`,
        workload,
        list: 'fma_results',
        backend: 'wasm',
        args: [...info.fma.flags, ...tfArgs('wasm', ['--fma-child', 'on'])],
      });
    if (opts.torch) {
      const args = [TORCH_SCRIPT, '--workload', workload, '--steps', String(opts.steps), '--warmup'];
      args.push(String(opts.warmup), '--windows', String(opts.windows), '--gated', '--json');
      members.push({ id: `${workload}/torch`, workload, list: 'torch', args });
    }
  }
  const which = opts.rounds > 1 ? `round ${roundNumber} of ${opts.rounds}: ` : '';
  log(`bench: ${which}${workloads.join(', ')} paired: ${members.map((m) => m.id).join(', ')} …`);
  const { results, windows } = await timeTogether(
    members.map((m) => ({
      ...m,
      command: m.list === 'torch' ? PYTHON : nodeBin,
      env: m.list === 'torch' ? blas?.env : undefined,
    })),
    opts.windows,
    opts.verbose,
  );
  members.forEach((m, i) => {
    const r = results[i];
    r.workload ??= m.workload;
    r.round = roundNumber;
    r.load_average_after = os.loadavg().map((x) => round(x, 2));
    if (m.list !== 'torch') r.requested_backend = m.backend;
    if (m.list === 'fma_results') r.variant = 'fma';
    info[m.list].push(r);
    info.paired.windows_ms[m.id] = [...(info.paired.windows_ms[m.id] ?? []), ...windows[i]];
    if (r.error) log(`bench: ${m.id} failed: ${r.error}${r.stderr ? `\n${r.stderr}` : ''}`);
  });
}

/**
 * Gated children timed together (bench/paired.mjs): all start and warm up, then each in turn times one window, for
 * `cycles` cycles (members of one `workload` back to back). Returns each member's JSON result and its window ms/step
 * by cycle (null where it did not run).
 */
async function timeTogether(members, cycles, verbose) {
  const children = members.map((m) => spawnGated(m.command, m.args, { env: m.env, verbose, label: m.id }));
  const ready = await Promise.all(children.map((c) => c.ready()));
  const running = members.filter((_, i) => ready[i]);
  const windows = members.map(() => Array(cycles).fill(null));
  for (let cycle = 0; cycle < cycles; cycle++)
    for (const id of windowOrder(running, cycle)) {
      const at = members.findIndex((m) => m.id === id);
      const timed = await children[at].window();
      windows[at][cycle] = timed ? round(timed.ms, 4) : null;
    }
  const results = [];
  for (const child of children) results.push(await child.finish());
  return { results, windows };
}

/** Which BLAS the PyTorch child loads, and why. */
function chooseBlas(choice) {
  const openblas = OPENBLAS_DIRS.find((d) => existsSync(path.join(d, 'libblas.so.3')));
  if (choice === 'system') return { env: {}, how: 'system: the libblas.so.3 the Debian alternatives point at' };
  if (choice === 'openblas' || choice === 'auto') {
    if (openblas)
      return {
        env: { LD_LIBRARY_PATH: [openblas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') },
        how: `${choice}: LD_LIBRARY_PATH=${openblas} (libopenblas0 installed)`,
      };
    if (choice === 'openblas')
      throw new BenchUsageError(
        `--torch-blas openblas: none of ${OPENBLAS_DIRS.join(', ')} exists; apt-get install -y libopenblas0-pthread`,
      );
    return {
      env: {},
      how:
        'auto: no OpenBLAS installed, so the system libblas.so.3 (on Debian the slow reference BLAS unless ' +
        'libopenblas0 is installed)',
    };
  }
  if (!existsSync(path.join(choice, 'libblas.so.3')))
    throw new BenchUsageError(`--torch-blas ${choice}: no libblas.so.3 there`);
  return {
    env: { LD_LIBRARY_PATH: [choice, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') },
    how: `LD_LIBRARY_PATH=${choice} (given)`,
  };
}

/** /proc/cpuinfo's text, or '' off Linux. */
function readCpuinfo() {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

function machineInfo() {
  let lscpuModel;
  try {
    lscpuModel = execFileSync('lscpu', { encoding: 'utf8' })
      .split('\n')
      .find((l) => l.startsWith('Model name:'))
      ?.split(':')[1]
      ?.trim();
  } catch {
    lscpuModel = undefined;
  }
  return {
    cpu_model: lscpuModel ?? os.cpus()[0]?.model,
    cores: os.cpus().length,
    memory_gb: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.child) return runChild(opts);
  // The children's Node and whether it has relaxed SIMD: a --node that does not run is a usage error, said first.
  const nodeBin = opts.node ?? process.execPath;
  const childNode = await childNodeInfo(nodeBin);
  const fma = await fmaPlan(opts.fma, childNode);

  const { tf } = await import('../dist/tf.js');
  const startedAt = new Date();
  let nativeNote;
  if (!opts.backends) {
    opts.backends = ['wasm'];
    try {
      createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
      opts.backends.push('tensorflow');
    } catch {
      nativeNote = 'tensorflow backend not measured: @tensorflow/tfjs-node is not installed (optional dependency)';
    }
  }
  const info = {
    started_at: startedAt.toISOString(),
    machine: machineInfo(),
    load_average_before: os.loadavg().map((x) => round(x, 2)),
    versions: { tfjs: tf.version.tfjs, node: process.version },
    settings: {
      steps: opts.steps,
      windows: opts.windows,
      warmup: opts.warmup,
      w4_epochs: opts.w4Epochs,
      mem_epochs: opts.memEpochs,
      backends: opts.backends,
      workloads: opts.workloads,
    },
    notes: nativeNote ? [nativeNote] : [],
    torch_blas_choice: undefined,
    results: [],
    fma_results: [],
    torch: [],
    targets: [],
  };
  let blas;
  if (opts.torch) {
    blas = chooseBlas(opts.torchBlas);
    info.torch_blas_choice = blas.how;
    const core = openblasCorePlan(PYTHON, blas.env, readCpuinfo());
    blas.env = core.env;
    info.torch_blas_core = core.how ? { core: core.core, detected: core.detected ?? core.core, how: core.how } : null;
  }
  const log = (line) => process.stderr.write(`${line}\n`);
  log(
    `bench: ${info.machine.cpu_model}, ${info.machine.cores} cores, load ${info.load_average_before.join(' ')}; ` +
      `steps ${opts.steps} × windows ${opts.windows} after ${opts.warmup} warm-up`,
  );
  for (const note of info.notes) log(`bench: ${note}`);
  if (info.torch_blas_core) log(`bench: PyTorch's BLAS: ${info.torch_blas_core.how}`);

  info.versions.child_node = childNode.version;
  info.fma = fma;
  log(`bench: TF.js children on Node ${childNode.version} (${nodeBin}); FMA row: ${info.fma.why}`);
  const spawnTf = (child, extra, label, nodeFlags = []) =>
    spawnJson(nodeBin, [...nodeFlags, ...childArgs(opts, child, extra)], { verbose: opts.verbose, label });
  const spawnTorch = (args, label) =>
    spawnJson(PYTHON, [TORCH_SCRIPT, ...args, '--json'], { env: blas?.env, verbose: opts.verbose, label });

  // W1–W3 run --rounds times, round after round (each round: every row of every step workload, PyTorch's right after
  // ours), so that a slow minute on this shared machine lands in one round instead of in one row; W4 and MEM once.
  const rounds = [];
  for (let roundNumber = 1; roundNumber <= opts.rounds; roundNumber++)
    for (const workload of opts.workloads.filter((w) => !SCALING_WORKLOADS.includes(w)))
      if (roundNumber === 1 || STEP_WORKLOADS.includes(workload)) rounds.push({ roundNumber, workload });
  const paired = !opts.sequential && opts.workloads.some((w) => STEP_WORKLOADS.includes(w));
  if (paired) info.paired = { cycles_per_round: opts.windows, windows_ms: {} };
  const gated = { nodeBin, opts, info, blas, log };
  for (const { roundNumber, workload } of rounds) {
    if (paired && STEP_WORKLOADS.includes(workload)) {
      // Every step workload of the round at once, paired window by window (bench/paired.mjs).
      if (workload === opts.workloads.find((w) => STEP_WORKLOADS.includes(w))) await pairedRound(gated, roundNumber);
      continue;
    }
    if (opts.rounds > 1 && STEP_WORKLOADS.includes(workload)) log(`bench: round ${roundNumber} of ${opts.rounds}`);
    const before = [info.results.length, info.fma_results.length, info.torch.length];
    if (FMA_WORKLOADS.includes(workload) && info.fma.run && opts.backends.includes('wasm')) {
      log(`bench: ${workload} on wasm with the FMA kernels …`);
      const args = ['--workload', workload, '--backend', 'wasm', '--fma-child', 'on'];
      const r = await spawnTf('step', args, `${workload}/fma`, [...info.fma.flags]);
      r.workload ??= workload;
      r.variant = 'fma';
      r.requested_backend = 'wasm';
      r.load_average_after = os.loadavg().map((x) => round(x, 2));
      info.fma_results.push(r);
      if (r.error) log(`bench: ${workload} with FMA failed: ${r.error}`);
    }
    for (const backend of opts.backends) {
      const child = STEP_WORKLOADS.includes(workload) ? 'step' : workload === 'W4' ? 'epoch' : 'memory';
      log(`bench: ${workload} on ${backend} …`);
      const nodeFlags = child === 'memory' ? ['--expose-gc'] : [];
      const r = await spawnTf(
        child,
        ['--workload', workload, '--backend', backend],
        `${workload}/${backend}`,
        nodeFlags,
      );
      r.workload ??= workload;
      r.requested_backend = backend;
      r.load_average_after = os.loadavg().map((x) => round(x, 2));
      info.results.push(r);
      if (r.error) log(`bench: ${workload} on ${backend} skipped: ${r.error}`);
    }
    if (opts.torch && STEP_WORKLOADS.includes(workload)) {
      log(`bench: ${workload} on PyTorch …`);
      const args = [
        TORCH_SCRIPT,
        '--workload',
        workload,
        '--steps',
        String(opts.steps),
        '--windows',
        String(opts.windows),
        '--warmup',
        String(opts.warmup),
        '--json',
      ];
      const r = await spawnJson(PYTHON, args, { env: blas.env, verbose: opts.verbose, label: `${workload}/torch` });
      r.workload ??= workload;
      r.load_average_after = os.loadavg().map((x) => round(x, 2));
      info.torch.push(r);
      if (r.error) log(`bench: PyTorch ${workload} failed: ${r.error}${r.stderr ? `\n${r.stderr}` : ''}`);
    }
    [info.results, info.fma_results, info.torch].forEach((list, k) => {
      for (const r of list.slice(before[k])) r.round = roundNumber;
    });
  }
  if (opts.rounds > 1) {
    info.rounds_raw = { results: info.results, fma_results: info.fma_results, torch: info.torch };
    info.results = medianOfRounds(info.results, STEP_WORKLOADS);
    info.fma_results = medianOfRounds(info.fma_results, STEP_WORKLOADS);
    info.torch = medianOfRounds(info.torch, STEP_WORKLOADS);
  }
  // The scaling cells timed paired too: a cell's two children (ours and PyTorch's, or PATHS's two step paths) take
  // turns, one window each. `--sequential` times them one after the other.
  const together = opts.sequential
    ? undefined
    : async (specs) => {
        const members = specs.map((spec) =>
          spec.torch
            ? {
                id: spec.label,
                workload: 'cell',
                command: PYTHON,
                args: [TORCH_SCRIPT, ...spec.torch, '--gated', '--json'],
                env: blas?.env,
              }
            : {
                id: spec.label,
                workload: 'cell',
                command: nodeBin,
                args: childArgs(opts, 'step', [...spec.tf, '--gated']),
              },
        );
        return (await timeTogether(members, opts.scaleWindows, opts.verbose)).results;
      };
  await runScaling({ opts, info, spawnTf, spawnTorch, together, log });
  info.load_average_after = os.loadavg().map((x) => round(x, 2));
  info.versions.torch = info.torch.find((t) => t.torch_version)?.torch_version;
  info.versions.python = info.torch.find((t) => t.python_version)?.python_version;
  info.torch_blas_loaded = info.torch.find((t) => t.blas)?.blas;

  // Table: step workloads.
  const torchOf = (w) => info.torch.find((t) => t.workload === w && !t.error);
  /** The paired ratio of two members' windows (bench/paired.mjs), kept in the JSON; null in a sequential run. */
  const pairedOf = (numerator, denominator) => {
    const windows = info.paired?.windows_ms;
    if (!windows?.[numerator] || !windows[denominator]) return null;
    const p = pairedRatio(windows[numerator], windows[denominator]);
    if (p.ratio === null) return null;
    info.paired.ratios ??= {};
    info.paired.ratios[`${numerator} / ${denominator}`] = {
      ratio: round(p.ratio),
      quartiles: p.quartiles?.map((q) => round(q)),
      cycles: p.cycles,
    };
    return p;
  };
  const stepRows = [];
  for (const workload of STEP_WORKLOADS.filter((w) => opts.workloads.includes(w))) {
    const batch = { W1: 256, W2: 256, W3: 512 }[workload];
    for (const r of [...info.results, ...info.fma_results].filter((x) => x.workload === workload)) {
      if (r.error) {
        stepRows.push([workload, r.requested_backend, 'skipped', '', '', '', '', '', r.error.slice(0, 90)]);
        continue;
      }
      const t = torchOf(workload);
      const lt = r.live_tensors;
      const vsTorch = pairedOf(`${workload}/${r.variant === 'fma' ? 'fma' : r.requested_backend}`, `${workload}/torch`);
      stepRows.push([
        workload,
        r.variant === 'fma' ? `${r.backend.name} FMA (${r.backend.fma?.path ?? 'path not reported'})` : r.backend.name,
        fmt(r.ms_per_step_median),
        fmt(r.cpu_ms_per_step_median),
        fmt(r.samples_per_second, 0),
        vsTorch?.ratio ? `${fmt(vsTorch.ratio)}×` : t ? `${fmt(r.ms_per_step_median / t.ms_per_step_median)}×` : '—',
        fmt(r.peak_rss_mb, 0),
        `${lt.after_warmup} → ${lt.at_end}`,
        `fwd+bwd ${fmt(r.phases_ms_per_step.forwardBackward)} / opt ${fmt(r.phases_ms_per_step.optimizer)}`,
      ]);
    }
    const t = torchOf(workload);
    if (t)
      stepRows.push([
        workload,
        'pytorch',
        fmt(t.ms_per_step_median),
        fmt(t.cpu_ms_per_step_median),
        fmt((batch * 1000) / t.ms_per_step_median, 0),
        '1.00×',
        fmt(t.peak_rss_mb, 0),
        '—',
        '',
      ]);
  }
  if (stepRows.length > 0) {
    console.log(
      `\nW1–W3: median ms/step over ${opts.windows} windows × ${opts.steps} steps (after ${opts.warmup} warm-up)` +
        `${opts.rounds > 1 ? `, the median round of ${opts.rounds}` : ''}, ` +
        `single-threaded` +
        (info.paired
          ? '; vs PyTorch: paired, the median of the per-cycle ratios (children timed in turn, bench/paired.mjs)'
          : '; vs PyTorch: the two medians (--sequential)'),
    );
    printTable(
      [
        'workload',
        'backend',
        'ms/step',
        'cpu ms/step',
        'samples/s',
        'vs PyTorch',
        'peak RSS MB',
        'live tensors',
        'split',
      ],
      stepRows,
    );
    if (info.paired) {
      const pairs = [];
      for (const w of STEP_WORKLOADS) {
        for (const ours of [...opts.backends, 'fma']) pairs.push([`${w}/${ours}`, `${w}/torch`]);
      }
      pairs.push(['W2/wasm', 'W1/wasm'], ['W2/fma', 'W1/fma']);
      console.log(`  paired ratios: median of the per-cycle ratios [quartiles] (cycles; ${opts.windows} a round):`);
      for (const [numerator, denominator] of pairs) {
        const p = pairedOf(numerator, denominator);
        if (p)
          console.log(
            `    ${numerator} / ${denominator}: ${fmt(p.ratio)}× [${fmt(p.quartiles[0])}–${fmt(p.quartiles[1])}] ` +
              `(${p.cycles})`,
          );
      }
    }
    if (opts.rounds > 1) {
      console.log('  every round, in order (ms/step):');
      for (const r of [...info.results, ...info.fma_results, ...info.torch].filter((x) => x.rounds_ms)) {
        const name = r.variant === 'fma' ? 'wasm FMA' : (r.backend?.name ?? 'pytorch');
        console.log(`    ${r.workload} ${name}: ${r.rounds_ms.map((x) => fmt(x)).join(' ')}`);
      }
    }
  }

  const w4 = info.results.filter((x) => x.workload === 'W4' && !x.error);
  if (w4.length > 0) {
    console.log(
      `\nW4: mtl train configs/quickstart.yaml, ${opts.w4Epochs} epochs (trainExperiment end to end; steps and ` +
        `validation forward timed exactly from epoch 2)\n` +
        '    outside = epoch − training steps (forward, backward, clip, optimizer) − validation forward = data, ' +
        'metrics, logging, checkpointing, GC pauses there',
    );
    const rows = [];
    const pct = (x) => `${fmt(x * 100, 1)} %`;
    for (const r of w4) {
      for (const e of r.epochs) {
        const exact = e.step_time_exact;
        rows.push([
          `epoch ${e.epoch}`,
          r.backend.name,
          fmt(e.epoch_seconds, 3),
          fmt(e.step_seconds, 3),
          exact ? fmt(e.validation_forward_seconds, 4) : '—',
          exact ? fmt(e.outside_seconds, 4) : '—',
          exact ? pct(e.outside_fraction) : '—',
          exact ? fmt(e.gc_outside_seconds, 4) : '—',
          exact ? pct(e.outside_excluding_gc_fraction) : '—',
          `${pct(e.outside_step_fraction)}${exact ? '' : ' (est.)'}`,
          fmt(r.peak_rss_mb, 0),
          String(e.live_tensors),
        ]);
      }
      if (r.steady_epochs.length > 0) {
        const [low, high] = r.outside_fraction_range;
        const [stepLow, stepHigh] = r.outside_step_fraction_range;
        rows.push([
          `median ${r.steady_epochs[0]}–${r.steady_epochs[r.steady_epochs.length - 1]}`,
          r.backend.name,
          fmt(r.epoch_seconds_median, 3),
          '',
          '',
          '',
          `${pct(r.outside_fraction)} (${fmt(low * 100, 1)}–${fmt(high * 100, 1)})`,
          '',
          pct(r.outside_excluding_gc_fraction),
          `${pct(r.outside_step_fraction)} (${fmt(stepLow * 100, 1)}–${fmt(stepHigh * 100, 1)})`,
          '',
          '',
        ]);
      }
      rows.push([
        'whole run',
        r.backend.name,
        fmt(r.run_seconds, 3),
        '',
        '',
        '',
        `setup ${fmt(r.setup_seconds, 2)} s, after ${fmt(r.after_training_seconds, 2)} s`,
        '',
        '',
        '',
        '',
        '',
      ]);
    }
    printTable(
      [
        '',
        'backend',
        'epoch s',
        'steps s',
        'val fwd s',
        'outside s',
        'outside %',
        'GC there s',
        'excl. GC',
        'all but steps',
        'peak RSS MB',
        'live tensors',
      ],
      rows,
    );
    for (const r of w4) {
      const parts = r.outside_parts_median_seconds;
      if (!parts || parts.after_last_step === null) continue;
      const ms = (x) => `${fmt(x * 1000, 2)} ms`;
      console.log(
        `  outside, median per epoch: ${ms(parts.before_first_step)} before the first step (the shuffle into ` +
          `batches; the previous epoch's 'last' checkpoint, once a second), ${ms(parts.between_steps)} between ` +
          'steps (listeners, ' +
          `event-loop turns with the scavenges V8 schedules there), ${ms(parts.after_last_step)} after the last ` +
          'step (validation metrics on the host, ' +
          'checkpoints, logs, progress line)',
      );
    }
  }
  const mem = info.results.filter((x) => x.workload === 'MEM' && !x.error);
  for (const r of mem) {
    const e = r.epochs;
    const at = (n) => e.find((x) => x.epoch === n);
    const second = at(2);
    const lastE = e[e.length - 1];
    console.log(`\nMEM (${r.backend.name}): quickstart for ${e.length} epochs`);
    console.log(
      `  live tensors after each epoch: ${e.map((x) => x.live_tensors).join(' ')}; after the run ` +
        `${r.live_tensors.after_run} (before ${r.live_tensors.before})`,
    );
    console.log(
      `  RSS MB as it comes: epoch 2 ${fmt(second?.rss_mb, 1)}, epoch ${lastE.epoch} ${fmt(lastE.rss_mb, 1)} (Δ ` +
        `${fmt(lastE.rss_mb - (second?.rss_mb ?? NaN), 1)}); ` +
        `JS heap used ${fmt(second?.heap_used_mb, 1)} → ${fmt(lastE.heap_used_mb, 1)}; wasm heap ` +
        `${fmt(second?.wasm_heap_mb, 0)} → ${fmt(lastE.wasm_heap_mb, 0)}`,
    );
    console.log(
      `  after a full GC: RSS ${fmt(second?.rss_after_gc_mb, 1)} → ${fmt(lastE.rss_after_gc_mb, 1)} (Δ ` +
        `${fmt(lastE.rss_after_gc_mb - (second?.rss_after_gc_mb ?? NaN), 1)}), ` +
        `JS heap used ${fmt(second?.heap_used_after_gc_mb, 1)} → ${fmt(lastE.heap_used_after_gc_mb, 1)}`,
    );
  }

  printScaling(info, opts);

  // Targets.
  const wasmOf = (w) => info.results.find((x) => x.workload === w && x.backend?.name === 'wasm' && !x.error);
  const target = (name, value, limit, detail) => {
    const met = value === undefined || value === null || !Number.isFinite(value) ? null : value <= limit;
    info.targets.push({ target: name, value: round(value, 6), limit, met, detail });
  };
  const ms = (r) => r?.ms_per_step_median;
  /**
   * A ratio target: the paired ratio of the two members' windows where the run was paired (the medians beside it),
   * else the ratio of the two medians; judged "n/a" (not met) when a side was not measured.
   */
  const ratioTarget = (name, [numerator, numeratorRow], [denominator, denominatorRow], limit, detail) => {
    const p = pairedOf(numerator, denominator);
    if (!p) return judgeRatio(name, ms(numeratorRow), ms(denominatorRow), limit, { detail });
    const [low, high] = p.quartiles.map((q) => fmt(q));
    const spread = `paired: median of ${p.cycles} per-cycle ratios, quartiles ${low}–${high}`;
    return judgeTarget(name, p.ratio, limit, {
      numerator: ms(numeratorRow) ?? null,
      denominator: ms(denominatorRow) ?? null,
      detail: `${detail}; ${spread}`,
    });
  };
  if (wasmOf('W1') && torchOf('W1'))
    info.targets.push(
      ratioTarget('W1 wasm / PyTorch ≤ 3', ['W1/wasm', wasmOf('W1')], ['W1/torch', torchOf('W1')], 3, 'same run'),
    );
  if (wasmOf('W1') && wasmOf('W2'))
    info.targets.push(
      ratioTarget(
        `W2 / W1 on wasm ≤ T+0.5 = ${TASKS_IN_W2 + 0.5}`,
        ['W2/wasm', wasmOf('W2')],
        ['W1/wasm', wasmOf('W1')],
        TASKS_IN_W2 + 0.5,
        'same backend',
      ),
    );
  // Issue #20's targets, each with both numbers.
  if (opts.workloads.includes('W1') && opts.workloads.includes('W2'))
    info.targets.push(
      ratioTarget(
        'W2 ≤ 1.6× W1 on wasm',
        ['W2/wasm', wasmOf('W2')],
        ['W1/wasm', wasmOf('W1')],
        1.6,
        'same run, plain kernels',
      ),
    );
  if (opts.workloads.includes('W2') && opts.torch)
    info.targets.push(
      ratioTarget('W2 wasm ≤ 1.5× PyTorch W2', ['W2/wasm', wasmOf('W2')], ['W2/torch', torchOf('W2')], 1.5, 'same run'),
    );
  // The same ratios on the FMA kernels: judged where the rows ran on the FMA path, n/a (with why) otherwise.
  const fmaOf = (w) => info.fma_results.find((r) => r.workload === w && !r.error);
  const fmaTarget = (name, rows, [denominatorId, denominatorRow], limit) => {
    const notFma = rows.some((r) => r && !r.backend?.fma);
    if (!info.fma.run || notFma)
      return {
        target: name,
        value: null,
        limit,
        met: null,
        detail: notFma
          ? 'this build has no FMA kernels (initBackend reports no fma path; the row ran plain)'
          : `not applicable here: ${info.fma.why}`,
      };
    const path = rows[0]?.backend?.fma?.path ?? 'unknown';
    const detail = `relaxed SIMD on Node ${info.versions.child_node}; path ${path}`;
    return ratioTarget(name, [`${rows[0]?.workload}/fma`, rows[0]], [denominatorId, denominatorRow], limit, detail);
  };
  const fmaMeasured = opts.backends.includes('wasm');
  if (fmaMeasured && opts.workloads.includes('W1') && opts.torch)
    info.targets.push(fmaTarget('W1 wasm with FMA ≤ 1.5× PyTorch W1', [fmaOf('W1')], ['W1/torch', torchOf('W1')], 1.5));
  if (fmaMeasured && opts.workloads.includes('W1') && opts.workloads.includes('W2'))
    info.targets.push(
      fmaTarget('W2 ≤ 1.6× W1 on wasm with FMA', [fmaOf('W2'), fmaOf('W1')], ['W1/fma', fmaOf('W1')], 1.6),
    );
  if (fmaMeasured && opts.workloads.includes('W2') && opts.torch)
    info.targets.push(fmaTarget('W2 wasm with FMA ≤ 1.5× PyTorch W2', [fmaOf('W2')], ['W2/torch', torchOf('W2')], 1.5));
  info.targets.push(...scalingTargets(info));
  if (wasmOf('W3') && torchOf('W3'))
    info.targets.push(
      ratioTarget('W3 wasm / PyTorch ≤ 3', ['W3/wasm', wasmOf('W3')], ['W3/torch', torchOf('W3')], 3, 'same run'),
    );
  if (wasmOf('W4')) {
    const r = wasmOf('W4');
    const epochs = `median of epochs ${r.steady_epochs[0]}–${r.steady_epochs[r.steady_epochs.length - 1]}`;
    target(
      'W4 time outside forward/backward/optimizer ≤ 5 % of the epoch',
      r.outside_fraction,
      0.05,
      `${epochs}; data, metrics, logging, checkpointing, GC pauses there`,
    );
    info.targets.push({
      target: 'W4 the same without those GC pauses',
      value: round(r.outside_excluding_gc_fraction, 3),
      met: null,
      detail: epochs,
    });
    info.targets.push({
      target: 'W4 everything but the training steps (the validation forward pass counted outside too)',
      value: round(r.outside_step_fraction, 3),
      met: null,
      detail: epochs,
    });
  }
  if (wasmOf('MEM')) {
    const e = wasmOf('MEM').epochs;
    const flat = e.every((x) => x.live_tensors === e[1]?.live_tensors);
    info.targets.push({
      target: 'MEM live tensors flat from epoch 2 on',
      value: e.map((x) => x.live_tensors),
      met: flat,
    });
    info.targets.push({
      target: 'MEM RSS growth epoch 2 → last, as it comes (MB, reported)',
      value: round(e[e.length - 1].rss_mb - e[1].rss_mb, 1),
      met: null,
    });
    info.targets.push({
      target: 'MEM RSS growth epoch 2 → last, after a full GC (MB, reported)',
      value: round(e[e.length - 1].rss_after_gc_mb - e[1].rss_after_gc_mb, 1),
      met: null,
    });
  }
  if (info.targets.length > 0) {
    console.log('\nTargets');
    for (const t of info.targets) console.log(`  ${targetLine(t)}`);
  }
  for (const note of info.notes) console.log(`\nNote: ${note}`);
  console.log(
    `\nMachine: ${info.machine.cpu_model}, ${info.machine.cores} cores; Node ${info.versions.node}` +
      (info.versions.child_node === process.versions.node
        ? ''
        : ` (TF.js children: Node ${info.versions.child_node})`) +
      ', TF.js ' +
      `${info.versions.tfjs}` +
      (info.versions.torch
        ? `; PyTorch ${info.versions.torch} (Python ${info.versions.python}), BLAS ${info.torch_blas_loaded} ` +
          `[${info.torch_blas_choice}]` +
          (info.torch_blas_core ? `; ${info.torch_blas_core.how}` : '')
        : '') +
      `; load average ${info.load_average_before.join(' ')} before, ${info.load_average_after.join(' ')} after`,
  );

  const out = opts.out ?? path.join(HERE, 'results', `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(info, null, 2)}\n`);
  console.log(`JSON: ${path.relative(process.cwd(), out)}`);
}

main().catch((error) => {
  // Exit codes as the mtl CLI's: 2 for a usage mistake (no stack trace), 1 for a failed run.
  console.error(`bench: ${error?.message ?? error}`);
  process.exit(error instanceof BenchUsageError ? 2 : 1);
});
