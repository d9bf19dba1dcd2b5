#!/usr/bin/env node
// Reference results for the built-in datasets (datasets/README.md, "Reference results"): a thin use of
// `mtl train --seeds … --baselines …`, formatted as Markdown.
//
// Run from the repository root, after a build:
//
//   npm run build && node scripts/reference-results.mjs
//   node scripts/reference-results.mjs --datasets penguins,adult-income --seeds 0,1 --runs-dir /tmp/ref-runs
//
// For every configs/reference/<dataset>.yaml it runs, through the CLI,
//   node bin/mtl.js train CONFIG --seeds 0,1,2 --baselines single-task --json --quiet --runs-dir DIR
// which trains, per seed, the config (hard sharing) and its single-task baselines (one run per task with the same
// trunk, head, inputs, budget, seed and split; or, with `--baseline towers`, one run of unshared towers), as one seed
// group, and prints the group summary (group-summary.json). The script only formats that summary: per task and
// metric the single-task and hard-sharing test metrics as mean ± sample std over the seeds, the relative gain and the
// negative-transfer verdict per task (the rule is printed), and Δm of hard sharing against the baseline (Maninis et
// al. 2019, as `mtl compare`: per seed on paired runs, then mean ± std over seeds, with a paired t-test). Progress
// goes to stderr.
//
// `--summary FILE` formats a group summary already written (`mtl train … --seeds … --json` output, or a group's
// group-summary.json) without training anything.
//
// Options:
//   --datasets a,b      reference configs to run (default: every configs/reference/*.yaml)
//   --seeds 0,1,2       seeds (default 0,1,2)
//   --runs-dir DIR      run store (default runs/reference)
//   --baseline single-task|towers   the baseline (default single-task; `separate` is accepted for single-task)
//   --set k=v           extra override for every run (repeatable), e.g. --set training.epochs=2 for a smoke test
//   --summary FILE      format this group summary instead of training (repeatable; the dataset is the group's name)
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const configDir = path.join(root, 'configs', 'reference');
const cli = path.join(root, 'bin', 'mtl.js');

function usage(message) {
  if (message) process.stderr.write(`reference-results: ${message}\n`);
  process.stderr.write(
    'usage: node scripts/reference-results.mjs [--datasets a,b] [--seeds 0,1,2] [--runs-dir DIR] ' +
      '[--baseline single-task|towers] [--set k=v]… [--summary FILE]…\n',
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
    seeds: '0,1,2',
    runsDir: path.join(root, 'runs', 'reference'),
    baseline: 'single-task',
    sets: [],
    summaries: [],
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
      options.seeds = value(); // checked by mtl train --seeds
    } else if (arg === '--runs-dir') {
      options.runsDir = path.resolve(value());
    } else if (arg === '--baseline') {
      const baseline = value();
      options.baseline = baseline === 'separate' ? 'single-task' : baseline;
      if (!['single-task', 'towers'].includes(options.baseline)) usage('--baseline is single-task or towers');
    } else if (arg === '--set') {
      options.sets.push(value());
    } else if (arg === '--summary') {
      options.summaries.push(path.resolve(value()));
    } else if (arg === '-h' || arg === '--help') {
      usage();
    } else {
      usage(`unknown argument ${arg}`);
    }
  }
  if (options.datasets.length === 0) usage('nothing to run');
  return options;
}

/** `mtl train CONFIG --seeds … --baselines … --json`: the group summary it prints, and the wall time. */
function trainGroup(configFile, options) {
  const args = [
    cli,
    'train',
    configFile,
    '--seeds',
    options.seeds,
    '--baselines',
    options.baseline,
    ...options.sets.flatMap((o) => ['--set', o]),
    '--json',
    '--quiet',
    '--runs-dir',
    options.runsDir,
  ];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      for (const line of String(d).split('\n')) if (/^(group|seed|status) /.test(line)) log(`  ${line}`);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Exit 1 with a summary: a seed diverged, which the summary reports; anything else without one failed.
      let printed;
      try {
        printed = JSON.parse(out);
      } catch {
        reject(new Error(`mtl train exited with ${code}:\n  node ${args.map(quote).join(' ')}\n${err.trim()}`));
        return;
      }
      resolve({ summary: printed.summary ?? printed, seconds });
    });
  });
}

function log(line) {
  process.stderr.write(`${line}\n`);
}

function quote(s) {
  return /^[\w./=,:-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** Digits to show for a metric: more for [0,1] scores, fewer for values in units (UPDRS points, grams). */
function format(stat, metric) {
  if (!stat || stat.n === 0) return '—';
  const scale = Math.max(Math.abs(stat.mean), 1e-12);
  const digits =
    scale >= 100 ? 0 : scale >= 10 ? 1 : scale >= 1 && !['accuracy', 'macro-f1', 'auc', 'r2'].includes(metric) ? 2 : 3;
  return stat.n > 1 && stat.std !== null
    ? `${stat.mean.toFixed(digits)} ± ${stat.std.toFixed(digits)}`
    : stat.mean.toFixed(digits);
}

function pct(x) {
  if (x === null || x === undefined) return 'n/a';
  return `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)} %`;
}

function pctStat(stat) {
  if (!stat || stat.n === 0) return 'n/a';
  return stat.n > 1 && stat.std !== null ? `${pct(stat.mean)} ± ${(stat.std * 100).toFixed(2)} %` : pct(stat.mean);
}

/** One dataset's section from its group summary (GroupSummary, src/analysis/group-summary.ts). */
function section(title, configName, summary, seconds) {
  const transfer = summary.transfer;
  const lines = [`### ${title}`, ''];
  if (!transfer) {
    lines.push(`Group ${summary.group} has no baselines (its members carry no transfer.json).`, '');
    return lines.join('\n');
  }
  lines.push(
    `\`${configName}\`, seeds ${transfer.seeds.join(', ')}; ${transfer.split} split, best checkpoint; ` +
      'mean ± std over seeds.',
    '',
    `| task | metric | ${transfer.baseline} | hard sharing | relative gain | verdict |`,
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const task of transfer.tasks) {
    for (const m of task.metrics) {
      lines.push(
        `| ${task.task} | ${m.metric} ${m.higherIsBetter ? '↑' : '↓'} | ${format(m.single, m.metric)} | ` +
          `${format(m.mtl, m.metric)} | ${pctStat(m.relativeGain)} | ${task.verdict ?? '—'} |`,
      );
    }
  }
  const test = transfer.deltaMTest;
  lines.push(
    '',
    `Δm of hard sharing vs ${transfer.baseline}: **${pctStat(transfer.deltaM)}** (per seed: ` +
      `${transfer.deltaM.perSeed.map(pct).join(', ')}` +
      `${test ? `; paired t-test t = ${test.t?.toFixed(2) ?? '∞'}, df ${test.df}, p = ${test.p.toFixed(3)}` : ''}).` +
      `${seconds === undefined ? '' : ` Train time ${seconds.toFixed(0)} s for the group.`}`,
    '',
  );
  for (const warning of summary.warnings ?? []) lines.push(`Note: ${warning}.`, '');
  return lines.join('\n');
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const sections = [];
  let rule;
  if (options.summaries.length > 0) {
    for (const file of options.summaries) {
      const printed = JSON.parse(readFileSync(file, 'utf8'));
      const summary = printed.summary ?? printed;
      rule ??= summary.transfer?.rule;
      sections.push(section(summary.name, summary.name, summary));
    }
    process.stdout.write(`${sections.join('\n')}${rule ? `\nNegative-transfer rule: ${rule}\n` : ''}`);
    return;
  }
  const startedAll = process.hrtime.bigint();
  for (const [i, dataset] of options.datasets.entries()) {
    const configFile = path.join(configDir, `${dataset}.yaml`);
    log(`[${i + 1}/${options.datasets.length}] ${dataset}: seeds ${options.seeds}, baseline ${options.baseline}`);
    const { summary, seconds } = await trainGroup(configFile, options);
    rule ??= summary.transfer?.rule;
    sections.push(section(dataset, path.relative(root, configFile), summary, seconds));
  }
  const wall = Number(process.hrtime.bigint() - startedAll) / 1e9;
  const cpus = os.cpus();
  const header = [
    '## Reference results',
    '',
    `Command: \`node scripts/reference-results.mjs --datasets ${options.datasets.join(',')} --seeds ` +
      `${options.seeds}${options.baseline === 'single-task' ? '' : ` --baseline ${options.baseline}`}` +
      `${options.sets.map((s) => ` --set ${quote(s)}`).join('')}\` (each dataset: \`mtl train CONFIG --seeds ` +
      `${options.seeds} --baselines ${options.baseline}\`).`,
    `Date: ${new Date().toISOString().slice(0, 10)}. Machine: ${cpus.length} × ` +
      `${cpus[0]?.model?.trim() ?? 'unknown CPU'}, Node ${process.version}, ${os.platform()} ${os.arch()}. ` +
      `Wall time: ${(wall / 60).toFixed(1)} min.`,
    `Baseline: ${
      options.baseline === 'single-task'
        ? 'one run per task (the same config with only that task and the same inputs)'
        : 'independent towers in one run (no sharing)'
    }. ↑ higher is better, ↓ lower is better. Relative gain and Δm > 0: hard sharing better.`,
    '',
  ];
  process.stdout.write(
    `${header.join('\n')}\n${sections.join('\n')}${rule ? `\nNegative-transfer rule: ${rule}\n` : ''}`,
  );
}

main().catch((error) => {
  process.stderr.write(`reference-results: ${error.message}\n`);
  process.exit(1);
});
