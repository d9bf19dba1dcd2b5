#!/usr/bin/env node
// Reference results for the built-in datasets (datasets/README.md, "Reference results").
//
// Run from the repository root, after a build:
//
//   npm run build && node scripts/reference-results.mjs
//   node scripts/reference-results.mjs --datasets penguins,adult-income --seeds 0,1 --runs-dir /tmp/ref-runs
//
// For every configs/reference/<dataset>.yaml and every seed it trains, one after the other, through the CLI
// (`node bin/mtl.js train CONFIG --set seed=N --json --quiet --runs-dir DIR`):
//   - hard sharing: the config as it is;
//   - the single-task baseline (default `--baseline separate`): one run per task, the same config with only that task
//     (`--set tasks=[…]`) and the inputs pinned to those of the hard-sharing run (`--set data.features=[…]`; without
//     it the other task's target column would become an input). Each such run is the same trunk + head trained on one
//     task, with its own early stopping and best checkpoint. Same seed = same split and the same test rows.
//   - or, with `--baseline towers`: one run with `--set model.architecture=soft-sharing --set model.coupling=none`
//     (independent towers of the trunk's layer sizes, one per task; nothing shared, no penalty). Under `equal`
//     weighting each tower gets exactly its single-task gradient, but early stopping and the best checkpoint follow
//     the mean of both tasks.
// It then prints Markdown on stdout: per dataset, each task's test metrics as mean ± sample std over the seeds for
// the single-task baseline and for hard sharing, and Δm of hard sharing against the single-task baseline (Maninis et
// al. 2019, the definition `mtl compare` uses: mean over tasks of the mean over the task's metrics of the signed
// relative change; computed per seed on paired runs, then mean ± std over seeds). Progress goes to stderr.
//
// Options:
//   --datasets a,b      reference configs to run (default: every configs/reference/*.yaml)
//   --seeds 0,1,2       seeds (default 0,1,2)
//   --runs-dir DIR      run store (default runs/reference)
//   --baseline separate|towers   how the single-task baseline is trained (default separate)
//   --set k=v           extra override for every run (repeatable), e.g. --set training.epochs=2 for a smoke test
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const configDir = path.join(root, 'configs', 'reference');
const cli = path.join(root, 'bin', 'mtl.js');

function usage(message) {
  if (message) process.stderr.write(`reference-results: ${message}\n`);
  process.stderr.write(
    'usage: node scripts/reference-results.mjs [--datasets a,b] [--seeds 0,1,2] [--runs-dir DIR] ' +
      '[--baseline separate|towers] [--set k=v]…\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const available = readdirSync(configDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
  const options = {
    datasets: available,
    seeds: [0, 1, 2],
    runsDir: path.join(root, 'runs', 'reference'),
    baseline: 'separate',
    sets: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${arg} needs a value`);
      return v;
    };
    if (arg === '--datasets') {
      options.datasets = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const d of options.datasets)
        if (!available.includes(d)) usage(`no configs/reference/${d}.yaml (have: ${available.join(', ')})`);
    } else if (arg === '--seeds') {
      options.seeds = value()
        .split(',')
        .map((s) => Number(s.trim()));
      if (options.seeds.some((s) => !Number.isInteger(s) || s < 0))
        usage('--seeds takes non-negative integers, e.g. 0,1,2');
    } else if (arg === '--runs-dir') {
      options.runsDir = path.resolve(value());
    } else if (arg === '--baseline') {
      options.baseline = value();
      if (!['separate', 'towers'].includes(options.baseline)) usage('--baseline is separate or towers');
    } else if (arg === '--set') {
      options.sets.push(value());
    } else if (arg === '-h' || arg === '--help') {
      usage();
    } else {
      usage(`unknown argument ${arg}`);
    }
  }
  if (options.datasets.length === 0 || options.seeds.length === 0) usage('nothing to run');
  return options;
}

/** Runs `mtl train` and returns its JSON summary plus the wall time; throws with the CLI's stderr on failure. */
function train(configFile, overrides, runsDir) {
  const args = [
    cli,
    'train',
    configFile,
    ...overrides.flatMap((o) => ['--set', o]),
    '--json',
    '--quiet',
    '--runs-dir',
    runsDir,
  ];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) {
        reject(new Error(`mtl train exited with ${code}:\n  node ${args.map(quote).join(' ')}\n${err.trim()}`));
        return;
      }
      try {
        resolve({ summary: JSON.parse(out), seconds });
      } catch (error) {
        reject(new Error(`mtl train printed no JSON summary (${error.message}):\n${out}\n${err}`));
      }
    });
  });
}

function quote(s) {
  return /^[\w./=,:-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** Input columns a finished run was trained on, from its stored preprocessing. */
function inputColumns(mtlLibrary, runDir) {
  return mtlLibrary.readPreprocessing(runDir).features.map((f) => f.column);
}

/** Per-task metric keys of a summary (`<task>/<metric>`, without losses and means), in summary order. */
function taskMetricKeys(summary, tasks) {
  return Object.keys(summary.test).filter(
    (k) => !k.endsWith('/loss') && tasks.includes(k.slice(0, k.lastIndexOf('/'))),
  );
}

function mean(values) {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
/** Sample standard deviation (n − 1); 0 for a single value. */
function std(values) {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

/** Digits to show for a metric: more for [0,1] scores, fewer for values in units (UPDRS points, grams). */
function format(values, metric) {
  const m = mean(values);
  const s = std(values);
  const scale = Math.max(Math.abs(m), 1e-12);
  const digits =
    scale >= 100 ? 0 : scale >= 10 ? 1 : scale >= 1 && !['accuracy', 'macro-f1', 'auc', 'r2'].includes(metric) ? 2 : 3;
  return values.length > 1 ? `${m.toFixed(digits)} ± ${s.toFixed(digits)}` : m.toFixed(digits);
}

/**
 * Δm of `mtl` (hard sharing) against `base` (single task) over the given per-task keys: the library's (mtl compare's).
 */
function deltaM(mtlLibrary, mtl, base, keys, directions) {
  const terms = keys.map((key) => ({
    task: key.slice(0, key.lastIndexOf('/')),
    metric: key.slice(key.lastIndexOf('/') + 1),
    value: mtl[key],
    baseline: base[key],
    higherIsBetter: directions[key],
  }));
  return mtlLibrary.deltaM(terms);
}

function pct(x) {
  return `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)} %`;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(path.join(root, 'dist', 'index.js'))) usage('dist/ is missing: run `npm run build` first');
  const mtlLibrary = await import(pathToFileURL(path.join(root, 'dist', 'index.js')).href);
  const startedAll = process.hrtime.bigint();
  const backends = new Set();
  const sections = [];
  const perRun = options.baseline === 'separate' ? 3 : 2;
  const total = options.datasets.length * options.seeds.length * perRun;
  let done = 0;
  const log = (line) => process.stderr.write(`${line}\n`);

  for (const dataset of options.datasets) {
    const configFile = path.join(configDir, `${dataset}.yaml`);
    const relConfig = path.relative(root, configFile);
    const raw = parseYaml(readFileSync(configFile, 'utf8'));
    const tasks = raw.tasks;
    const taskNames = tasks.map((t) => t.name);
    const rows = []; // per seed: { hs, st } summaries' test metrics
    let directions = {};
    let keys = [];
    const seconds = { hs: 0, st: 0 };
    const epochs = { hs: [], st: [] };
    const params = { hs: 0, st: 0 };

    for (const seed of options.seeds) {
      const common = [`seed=${seed}`, ...options.sets];
      const hs = await train(configFile, common, options.runsDir);
      done++;
      log(
        `[${done}/${total}] ${dataset} seed ${seed} hard sharing: ${hs.summary.status}, ${hs.summary.epochs} epochs ` +
          `(best ${hs.summary.bestEpoch}), ${hs.seconds.toFixed(1)} s, ${hs.summary.backend}, run ${hs.summary.id}`,
      );
      backends.add(hs.summary.backend);
      seconds.hs += hs.seconds;
      epochs.hs.push(hs.summary.epochs);
      params.hs = hs.summary.parameterCount.total;
      directions = hs.summary.directions;
      keys = taskMetricKeys(hs.summary, taskNames);

      const stTest = {};
      if (options.baseline === 'towers') {
        const st = await train(
          configFile,
          [...common, 'model.architecture=soft-sharing', 'model.coupling=none'],
          options.runsDir,
        );
        done++;
        log(
          `[${done}/${total}] ${dataset} seed ${seed} single-task (towers): ${st.summary.status}, ` +
            `${st.summary.epochs} epochs (best ${st.summary.bestEpoch}), ${st.seconds.toFixed(1)} s, run ` +
            `${st.summary.id}`,
        );
        backends.add(st.summary.backend);
        seconds.st += st.seconds;
        epochs.st.push(st.summary.epochs);
        params.st = st.summary.parameterCount.total;
        Object.assign(stTest, st.summary.test);
      } else {
        const features = inputColumns(mtlLibrary, hs.summary.dir);
        params.st = 0;
        for (const task of tasks) {
          const stopping = raw.training?.early_stopping?.metric;
          const extra = [];
          // An early-stopping metric of another task does not exist in a one-task run: fall back to the loss.
          if (
            typeof stopping === 'string' &&
            !stopping.startsWith('mean/') &&
            stopping !== 'loss' &&
            !stopping.startsWith(`${task.name}/`)
          ) {
            extra.push('training.early_stopping.metric=loss');
          }
          const st = await train(
            configFile,
            [
              ...common,
              `name=${raw.name ?? dataset}-single-${task.name}`,
              `tasks=${JSON.stringify([task])}`,
              `data.features=${JSON.stringify(features)}`,
              ...extra,
            ],
            options.runsDir,
          );
          done++;
          log(
            `[${done}/${total}] ${dataset} seed ${seed} single-task ${task.name}: ${st.summary.status}, ` +
              `${st.summary.epochs} epochs (best ${st.summary.bestEpoch}), ${st.seconds.toFixed(1)} s, run ` +
              `${st.summary.id}`,
          );
          backends.add(st.summary.backend);
          seconds.st += st.seconds;
          epochs.st.push(st.summary.epochs);
          params.st += st.summary.parameterCount.total;
          for (const [k, v] of Object.entries(st.summary.test)) if (k.startsWith(`${task.name}/`)) stTest[k] = v;
        }
      }
      rows.push({ seed, hs: hs.summary.test, st: stTest });
    }

    const lines = [];
    lines.push(`### ${dataset}`, '');
    lines.push(
      `\`${relConfig}\`, seeds ${options.seeds.join(', ')}; test split, best checkpoint; mean ± std over seeds.`,
      '',
    );
    lines.push('| task | metric | single-task | hard sharing |', '| --- | --- | --- | --- |');
    for (const key of keys) {
      const task = key.slice(0, key.lastIndexOf('/'));
      const metric = key.slice(key.lastIndexOf('/') + 1);
      const arrow = directions[key] ? '↑' : '↓';
      lines.push(
        `| ${task} | ${metric} ${arrow} | ${format(
          rows.map((r) => r.st[key]),
          metric,
        )} | ${format(
          rows.map((r) => r.hs[key]),
          metric,
        )} |`,
      );
    }
    const deltas = rows.map((r) => deltaM(mtlLibrary, r.hs, r.st, keys, directions));
    lines.push('');
    lines.push(
      `Δm of hard sharing vs single-task: **${pct(mean(deltas))}** ± ${(std(deltas) * 100).toFixed(2)} % ` +
        `(per seed: ${deltas.map(pct).join(', ')}). Parameters: single-task ${params.st.toLocaleString('en-US')} ` +
        `(${options.baseline === 'towers' ? 'towers' : 'sum of the one-task models'}), hard sharing ` +
        `${params.hs.toLocaleString('en-US')}. ` +
        `Epochs run (early stopping): single-task ${epochs.st.join(', ')}; hard sharing ${epochs.hs.join(', ')}. ` +
        `Train time: single-task ${seconds.st.toFixed(0)} s, hard sharing ${seconds.hs.toFixed(0)} s in all.`,
    );
    lines.push('');
    sections.push(lines.join('\n'));
  }

  const wall = Number(process.hrtime.bigint() - startedAll) / 1e9;
  const cpus = os.cpus();
  const header = [
    `## Reference results`,
    '',
    `Command: \`node scripts/reference-results.mjs --datasets ${options.datasets.join(',')} --seeds ` +
      `${options.seeds.join(',')}` +
      `${options.baseline === 'separate' ? '' : ` --baseline ${options.baseline}`}` +
      `${options.sets.map((s) => ` --set ${quote(s)}`).join('')}\``,
    `Date: ${new Date().toISOString().slice(0, 10)}. Backend: ${[...backends].join(', ')}. Machine: ${cpus.length} ` +
      `× ${cpus[0]?.model?.trim() ?? 'unknown CPU'}, ` +
      `Node ${process.version}, ${os.platform()} ${os.arch()}. Wall time: ${(wall / 60).toFixed(1)} min for ` +
      `${total} runs.`,
    `Single-task baseline: ${
      options.baseline === 'separate'
        ? 'one run per task (the same config with only that task and the same inputs)'
        : 'independent towers in one run (soft-sharing, coupling none)'
    }. ↑ higher is better, ↓ lower is better. Δm > 0: hard sharing better on average.`,
    '',
  ];
  process.stdout.write(`${header.join('\n')}\n${sections.join('\n')}`);
}

main().catch((error) => {
  process.stderr.write(`reference-results: ${error.message}\n`);
  process.exit(1);
});
