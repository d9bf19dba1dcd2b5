/**
 * The scaling part of `npm run bench` (issue #20, point 3), driven by bench/run.mjs: children and PyTorch runs,
 * tables, and the growth figures that go into the targets list. Everything lands in the JSON under `scaling`.
 *
 *   TASKS  ms/step against the number of tasks T for each strategy (registry, default options, grad_target auto),
 *          ours and PyTorch's (a retained graph, T backward passes, the same solver), each side's time inside the
 *          solver, and the fit ms/step = a + b·T per strategy and engine.
 *   WIDTH  ms/step and achieved GFLOP/s of the trunk 784→w→w (two 10-way heads, batch 256, equal weights) beside the
 *          GEMM peak of both engines (one n×n sgemm, single thread, in this invocation).
 *   BATCH  ms/step and samples/s of W1 (784→256→128, two 10-way heads, equal weights) against the batch size B, ours
 *          and PyTorch's, and the fit ms/step = a + b·B per engine: a is what a step costs whatever its size (the
 *          engine's and our per-kernel overhead), b what each row adds.
 *   CONV   one training step of configs/multi-digits-conv.yaml's model, ours and PyTorch's.
 *   PATHS  W2 (PCGrad, parameter gradients), MGDA at T = 2 (representation gradients), W3's MMoE with PCGrad (the
 *          experts recorded), and on TF.js's kept tape the conv model with PCGrad, W2 on cross-stitch, GradNorm's
 *          norms at T = 2 (from the step's own forward pass) and W2 with an adversarial task, with the
 *          one-forward step path and with the earlier T-forward path (`stepPaths.retainedTrunk`), when dist/ exports
 *          the switch.
 * All on wasm with the plain kernels.
 */
import { batchFit, denseStepFlops, gflopsPerSecond, linearFit, widthModelLayers } from './scaling.mjs';
import { mergeScalingRounds, widestSpread } from './rounds.mjs';
import { fmt, printTable } from './table.mjs';

const WIDTH_BATCH = 256;

const round = (x, digits = 3) => (typeof x === 'number' && Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
const pct = (x) => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : '—');
const ok = (r) => r && !r.error && !r.skipped;

/** PATHS: the workloads timed on both step paths, and how the table names them. */
const PATH_WORKLOADS = [
  'W2',
  'TASKS:mgda:2',
  'W3:pcgrad',
  'CONV:pcgrad',
  'W2:cross-stitch',
  'TASKS:gradnorm:2',
  'W2:adversary',
];
const PATH_LABELS = {
  W2: 'W2 (pcgrad, params)',
  'TASKS:mgda:2': 'mgda T=2 (representation)',
  'W3:pcgrad': 'W3 MMoE + pcgrad (experts)',
  'CONV:pcgrad': 'CONV + pcgrad (kept TF.js tape)',
  'W2:cross-stitch': 'W2 on cross-stitch (kept TF.js tape)',
  'TASKS:gradnorm:2': 'gradnorm T=2 (norms from the step)',
  'W2:adversary': 'W2 + adversarial task (kept TF.js tape)',
};

/** A batch fit as `a ms + b µs·B` (b in µs per row; a negative b, from a noisy run, with its minus sign). */
const batchLine = (f) => `${fmt(f.a)} ms ${f.b < 0 ? '−' : '+'} ${fmt(Math.abs(f.b) * 1000, 2)} µs·B`;

/**
 * Runs the selected scaling workloads `opts.rounds` times, round after round (so that a slow minute of a shared
 * machine lands in one round of many cells rather than in every round of one), and fills `info.scaling` with each
 * cell's median round (bench/rounds.mjs), the fits and rates computed from those.
 */
export async function runScaling({ opts, info, spawnTf, spawnTorch, together, log }) {
  const wanted = (w) => opts.workloads.includes(w);
  if (!['TASKS', 'WIDTH', 'BATCH', 'CONV', 'PATHS'].some(wanted)) return;
  const rounds = [];
  for (let roundNumber = 1; roundNumber <= opts.rounds; roundNumber++) {
    if (opts.rounds > 1) log(`bench: scaling round ${roundNumber} of ${opts.rounds}`);
    rounds.push(await measureScalingRound({ opts, wanted, spawnTf, spawnTorch, together, log }));
  }
  const scaling = {
    settings: {
      steps: opts.scaleSteps,
      windows: opts.scaleWindows,
      warmup: opts.scaleWarmup,
      rounds: opts.rounds,
      backend: 'wasm',
      paired: Boolean(together),
    },
    ...mergeScalingRounds(rounds),
  };
  if (opts.rounds > 1) scaling.rounds_raw = rounds;
  if (scaling.tasks) scaling.task_fits = taskFits(scaling.tasks);
  for (const row of scaling.widths ?? []) {
    const rate = (r) => (ok(r) ? round(gflopsPerSecond(row.flops.total, r.ms_per_step_median), 2) : null);
    row.gflops = { ours: rate(row.ours), torch: rate(row.torch) };
  }
  if (scaling.batches) scaling.batch_fit = batchFit(scaling.batches);
  info.scaling = scaling;
}

/**
 * One round of the selected scaling workloads: their tables, cells as the children report them. With `together`
 * (bench/run.mjs; not with --sequential) a cell's two children take turns, one window each (bench/paired.mjs).
 */
async function measureScalingRound({ opts, wanted, spawnTf, spawnTorch, together, log }) {
  const timing = ['--steps', opts.scaleSteps, '--windows', opts.scaleWindows, '--warmup', opts.scaleWarmup].map(String);
  const tfArgs = (workload, extra) => [...timing, '--workload', workload, '--backend', 'wasm', ...extra];
  const ours = (workload, extra = []) => spawnTf('step', tfArgs(workload, extra), workload);
  const torch = (args, label) => (opts.torch ? spawnTorch([...args, ...timing], label) : Promise.resolve(null));
  /** Ours and PyTorch's of one cell: [ours, PyTorch's or null]. */
  const cell = async (workload, extra, torchArgs) => {
    const torchLabel = `${workload}/torch`;
    if (!together)
      return [
        await ours(workload, extra),
        opts.torch ? await spawnTorch([...torchArgs, ...timing, ...extra], torchLabel) : null,
      ];
    const specs = [{ label: workload, tf: tfArgs(workload, extra) }];
    if (opts.torch) specs.push({ label: torchLabel, torch: [...torchArgs, ...timing, ...extra] });
    const [mine, theirs = null] = await together(specs);
    return [mine, theirs];
  };
  /** Our two step paths of one PATHS workload: [one forward, T forwards]. */
  const paths = async (workload, extra) => {
    const on = ['--retained', 'on', ...extra];
    const off = ['--retained', 'off', ...extra];
    if (!together) return [await ours(workload, on), await ours(workload, off)];
    const specs = [on, off].map((args, i) => ({
      label: `${workload} ${i ? 'off' : 'on'}`,
      tf: tfArgs(workload, args),
    }));
    return together(specs);
  };
  const scaling = {};
  if (wanted('TASKS')) {
    scaling.tasks = [];
    for (const strategy of opts.strategies)
      for (const count of opts.taskCounts) {
        log(`bench: TASKS ${strategy} T=${count} …`);
        const torchArgs = ['--workload', 'TASKS', '--strategy', strategy, '--tasks', String(count)];
        const [mine, theirs] = await cell(`TASKS:${strategy}:${count}`, [], torchArgs);
        scaling.tasks.push({ strategy, tasks: count, ours: mine, torch: theirs });
      }
  }
  if (wanted('WIDTH')) {
    log(`bench: GEMM peak, ${opts.gemmSize}² …`);
    const n = String(opts.gemmSize);
    scaling.gemm_peak = {
      size: opts.gemmSize,
      ours: await spawnTf('gemm', ['--gemm-size', n, '--backend', 'wasm'], 'gemm'),
      torch: await torch(['--workload', 'PEAK', '--size', n], 'gemm/torch'),
    };
    scaling.widths = [];
    for (const width of opts.widths) {
      log(`bench: WIDTH ${width} …`);
      const flops = denseStepFlops(WIDTH_BATCH, widthModelLayers(width));
      const [mine, theirs] = await cell(`WIDTH:${width}`, [], ['--workload', 'WIDTH', '--width', String(width)]);
      scaling.widths.push({ width, flops, ours: mine, torch: theirs });
    }
  }
  if (wanted('BATCH')) {
    scaling.batches = [];
    for (const batch of opts.batchSizes) {
      log(`bench: BATCH ${batch} …`);
      const [mine, theirs] = await cell(`BATCH:${batch}`, [], ['--workload', 'BATCH', '--batch', String(batch)]);
      scaling.batches.push({ batch, ours: mine, torch: theirs });
    }
  }
  if (wanted('CONV')) {
    log('bench: CONV …');
    // Its own warm-up: the conv step's JS (TF.js's convolution gradients and ours) takes ~35 steps to be optimised.
    const warmup = ['--warmup', String(opts.convWarmup)];
    const [mine, theirs] = await cell('CONV', warmup, ['--workload', 'CONV']);
    scaling.conv = { warmup: opts.convWarmup, ours: mine, torch: theirs };
  }
  if (wanted('PATHS')) {
    scaling.paths = [];
    for (const workload of PATH_WORKLOADS) {
      log(`bench: PATHS ${workload}, one forward and T forwards …`);
      // The conv model gets CONV's warm-up (see above).
      const warmup = workload.startsWith('CONV') ? ['--warmup', String(opts.convWarmup)] : [];
      const [on, off] = await paths(workload, warmup);
      scaling.paths.push({ workload, retained: 'on', ours: on }, { workload, retained: 'off', ours: off });
    }
  }
  return scaling;
}

/** ms/step = a + b·T per strategy and engine (least squares over the measured T). */
export function taskFits(rows) {
  const fits = {};
  for (const strategy of [...new Set(rows.map((r) => r.strategy))]) {
    const mine = rows.filter((r) => r.strategy === strategy);
    const fitOf = (side) => {
      const points = mine.filter((r) => ok(r[side]));
      if (points.length < 2 || new Set(points.map((r) => r.tasks)).size < 2) return null;
      const { a, b, r2 } = linearFit(
        points.map((r) => r.tasks),
        points.map((r) => r[side].ms_per_step_median),
      );
      return { a: round(a), b: round(b), r2: round(r2, 4) };
    };
    fits[strategy] = { ours: fitOf('ours'), torch: fitOf('torch') };
  }
  return fits;
}

/** The scaling figures as "info" lines of the targets list (no limits: the issue asks for the growth, stated). */
export function scalingTargets(info) {
  const s = info.scaling;
  if (!s) return [];
  const out = [];
  for (const [strategy, fit] of Object.entries(s.task_fits ?? {})) {
    const side = (f) => (f ? `${fmt(f.a)} + ${fmt(f.b)}·T ms (R² ${fmt(f.r2, 3)})` : 'not measured');
    out.push({
      target: `TASKS ${strategy}: ms/step = a + b·T`,
      value: null,
      detail: `ours ${side(fit.ours)}; PyTorch ${side(fit.torch)}`,
      fit,
    });
  }
  if (s.batch_fit) {
    const side = (f) => (f ? `${batchLine(f)} (R² ${fmt(f.r2, 3)})` : 'not measured');
    out.push({
      target: 'BATCH W1: ms/step = a + b·B',
      value: null,
      detail: `ours ${side(s.batch_fit.ours)}; PyTorch ${side(s.batch_fit.torch)}`,
      fit: s.batch_fit,
    });
  }
  for (const workload of PATH_WORKLOADS) {
    const on = s.paths?.find((r) => r.workload === workload && r.retained === 'on')?.ours;
    const off = s.paths?.find((r) => r.workload === workload && r.retained === 'off')?.ours;
    const paired = s.paths_paired?.[workload];
    if (ok(on) && ok(off))
      out.push({
        target: `PATHS ${workload}: one forward / T forwards (reported)`,
        value: round(paired ? paired.ratio : on.ms_per_step_median / off.ms_per_step_median),
        numerator: on.ms_per_step_median,
        denominator: off.ms_per_step_median,
        ...(paired ? { detail: `paired: median of ${paired.cycles} per-cycle ratios` } : {}),
      });
  }
  const peak = s.gemm_peak;
  if (peak && ok(peak.ours) && ok(peak.torch) && peak.ours.gflops > 0)
    // What the matrix-product-bound workloads' PyTorch ratios stand on: 128-bit WebAssembly SIMD against the CPU's
    // widest FMA units, which the BLAS uses (2.7× on the Zen 4 VM, 5.8× on the AVX-512 Xeon).
    out.push({
      target: 'GEMM peak PyTorch / ours (reported)',
      value: round(peak.torch.gflops / peak.ours.gflops),
      detail: `${fmt(peak.torch.gflops, 1)} vs ${fmt(peak.ours.gflops, 1)} GFLOP/s, ${peak.size}² sgemm, one thread`,
    });
  if (s.conv && ok(s.conv.ours) && ok(s.conv.torch))
    out.push({
      target: 'CONV wasm / PyTorch (reported)',
      value: round(cellRatio(s.conv)),
      numerator: s.conv.ours.ms_per_step_median,
      denominator: s.conv.torch.ms_per_step_median,
      ...(s.conv.paired ? { detail: `paired: median of ${s.conv.paired.cycles} per-cycle ratios` } : {}),
    });
  return out;
}

/**
 * A cell's ours / PyTorch's: the paired ratio (median of per-cycle ratios, bench/paired.mjs) where the cell was timed
 * taking turns, else the ratio of the two medians.
 * @param {Record<string, any>} cell
 */
function cellRatio(cell) {
  if (cell.paired) return cell.paired.ratio;
  return ok(cell.ours) && ok(cell.torch) ? cell.ours.ms_per_step_median / cell.torch.ms_per_step_median : null;
}

/** @param {Record<string, any>} cell */
const ratioCell = (cell) => {
  const ratio = cellRatio(cell);
  return ratio === null ? '—' : `${fmt(ratio)}×`;
};

/** The scaling tables on stdout. */
export function printScaling(info, opts) {
  const s = info.scaling;
  if (!s) return;
  const ms = (r) => (ok(r) ? fmt(r.ms_per_step_median) : r?.skipped ? 'skipped' : r?.error ? 'failed' : '—');
  const rounds = s.settings.rounds > 1 ? `; each cell its median round of ${s.settings.rounds}` : '';
  const { windows, steps, warmup } = s.settings;
  const paired = s.settings.paired
    ? '; ratios paired: the median of per-cycle ratios, the two children taking turns'
    : '';
  const timing = `median of ${windows} windows × ${steps} steps after ${warmup}${rounds}${paired}`;
  if (s.tasks) {
    console.log(
      `\nTASKS: ms/step against the number of tasks (W1's trunk, T 10-way heads, batch 256, Adam; wasm, ${timing})` +
        '\n  solver = time inside the combiner (Gram matrix, solve, combination) per step, and its share of the step',
    );
    const rows = s.tasks.map((r) => [
      r.strategy,
      String(r.tasks),
      ok(r.ours) ? r.ours.grad_target : '',
      ms(r.ours),
      ok(r.ours) ? fmt(r.ours.solver_ms_per_step, 3) : '',
      ok(r.ours) ? pct(r.ours.solver_share) : '',
      ms(r.torch),
      ok(r.torch) ? fmt(r.torch.solver_ms_per_step, 3) : '',
      ok(r.torch) ? pct(r.torch.solver_share) : '',
      ratioCell(r),
    ]);
    printTable(
      ['strategy', 'T', 'target', 'ms/step', 'solver ms', 'solver %', 'torch ms', 'torch solver', 'torch %', 'ratio'],
      rows,
    );
    for (const [strategy, fit] of Object.entries(s.task_fits ?? {})) {
      const side = (f) => (f ? `${fmt(f.a)} + ${fmt(f.b)}·T (R² ${fmt(f.r2, 3)})` : '—');
      console.log(`  fit ${strategy.padEnd(9)} ours ${side(fit.ours)}   PyTorch ${side(fit.torch)}`);
    }
  }
  if (s.widths) {
    const peak = s.gemm_peak;
    console.log(
      `\nWIDTH: trunk 784→w→w (ReLU), two 10-way heads, batch ${WIDTH_BATCH}, Adam, equal (wasm, ${timing})` +
        '\n  FLOPs = the matrix products of forward + backward: 2·B·in·out per dense layer forward, as much for its ' +
        'weight gradient,\n  as much again for its input gradient except the first layer (the input needs none)' +
        `\n  GEMM peak, ${opts.gemmSize}×${opts.gemmSize} sgemm, one thread: ours ` +
        `${ok(peak?.ours) ? `${fmt(peak.ours.gflops, 1)} GFLOP/s` : '—'}, PyTorch ` +
        `${ok(peak?.torch) ? `${fmt(peak.torch.gflops, 1)} GFLOP/s` : '—'}`,
    );
    const share = (g, r) => (g !== null && ok(r) ? pct(g / r.gflops) : '—');
    printTable(
      ['width', 'GFLOP/step', 'ms/step', 'GFLOP/s', 'of our peak', 'torch ms', 'torch GFLOP/s', 'of its peak', 'ratio'],
      s.widths.map((r) => [
        String(r.width),
        fmt(r.flops.total / 1e9, 3),
        ms(r.ours),
        fmt(r.gflops.ours, 1),
        share(r.gflops.ours, peak?.ours),
        ms(r.torch),
        fmt(r.gflops.torch, 1),
        share(r.gflops.torch, peak?.torch),
        ratioCell(r),
      ]),
    );
  }
  if (s.batches) {
    console.log(`\nBATCH: W1 (784→256→128, two 10-way heads, Adam, equal) against the batch size (wasm, ${timing})`);
    const perSecond = (r, batch) => (ok(r) ? fmt((batch * 1000) / r.ms_per_step_median, 0) : '—');
    printTable(
      ['batch', 'ms/step', 'samples/s', 'torch ms', 'torch samples/s', 'ratio'],
      s.batches.map((r) => [
        String(r.batch),
        ms(r.ours),
        perSecond(r.ours, r.batch),
        ms(r.torch),
        perSecond(r.torch, r.batch),
        ratioCell(r),
      ]),
    );
    const side = (f) => (f ? `${batchLine(f)} (R² ${fmt(f.r2, 3)})` : '—');
    console.log(`  fit ms/step  ours ${side(s.batch_fit?.ours)}   PyTorch ${side(s.batch_fit?.torch)}`);
  }
  if (s.conv) {
    const { ours, torch } = s.conv;
    const convTiming = `median of ${windows} windows × ${steps} steps after ${s.conv.warmup ?? warmup}${rounds}`;
    console.log(
      `\nCONV: one step of configs/multi-digits-conv.yaml's model (batch 64, Adam; wasm, ${convTiming}): ours ` +
        `${ms(ours)} ms, PyTorch ${ms(torch)} ms` +
        (cellRatio(s.conv) === null ? '' : ` (${ratioCell(s.conv)}${s.conv.paired ? ', paired' : ''})`),
    );
  }
  const skipped = s.paths?.find((r) => r.ours?.skipped);
  if (skipped) console.log(`\nPATHS: skipped: ${skipped.ours.skipped}`);
  else if (s.paths) {
    console.log(`\nPATHS: our step paths (wasm, ${timing})`);
    printTable(
      ['workload', 'path', 'ms/step', 'target'],
      s.paths.map((r) => [
        PATH_LABELS[r.workload] ?? r.workload,
        ok(r.ours) ? r.ours.step_path : `retained ${r.retained}`,
        ok(r.ours) ? fmt(r.ours.ms_per_step_median) : r.ours?.skipped ? `skipped: ${r.ours.skipped}` : 'failed',
        ok(r.ours) ? r.ours.grad_target : '',
      ]),
    );
    for (const [workload, p] of Object.entries(s.paths_paired ?? {}))
      if (p)
        console.log(
          `  ${PATH_LABELS[workload] ?? workload}: one forward / T forwards ${fmt(p.ratio)} paired ` +
            `[${fmt(p.quartiles?.[0])}–${fmt(p.quartiles?.[1])}] (${p.cycles} cycles)`,
        );
  }
  const widest = widestSpread(s);
  if (widest)
    console.log(
      `\nscaling rounds: the widest spread of a cell's ${s.settings.rounds} rounds is ${fmt(widest.spread)}× ` +
        `(${widest.label}: ${widest.rounds_ms.map((v) => fmt(v)).join(', ')} ms/step); every round is in the JSON`,
    );
}
