import path from 'node:path';
import { analyzeRun } from '../api/analyze.js';
import type { AnalysisReport, PairValues } from '../analysis/types.js';
import type { BackendChoice } from '../config/types.js';
import { checkCheckpointName } from '../api/evaluate.js';
import { ExitCode } from '../errors.js';
import { runFile } from '../runs/layout.js';
import { resolveRun, resolveRunsDir } from '../runs/store.js';
import { lockMessages, type CommonFlags } from './commands.js';
import { bestCells, formatNumber, formatPercent, log, out, printJson, table } from './output.js';

/** One row per pair: the pair, then each column's value for it (— where a measure lacks the pair). */
function pairTable(pairs: readonly string[], columns: readonly [string, PairValues | undefined][]): string {
  // On a terminal, each column's highest value (the most related, or most conflicting, pair) is marked.
  const highest = columns.map(([, values]) =>
    bestCells(
      pairs.map((pair) => values?.[pair]),
      true,
    ),
  );
  return table(
    ['pair', ...columns.map(([name]) => name)],
    pairs.map((pair) => [pair.replace('|', ' + '), ...columns.map(([, values]) => formatNumber(values?.[pair], 3))]),
    { best: pairs.map((_pair, r) => [false, ...highest.map((column) => column[r] === true)]) },
  );
}

function symmetricPairs(tasks: readonly string[]): string[] {
  return tasks.flatMap((a, i) => tasks.slice(i + 1).map((b) => `${a}|${b}`));
}

/** The report as text (`print`: stdout; `note`: stderr): a table per family of measures, grouping, warnings. */
export function printAnalysis(report: AnalysisReport, print: (line?: string) => void = out, note = log): void {
  const pairs = symmetricPairs(report.tasks);
  if (report.performance) {
    const p = report.performance;
    print(`performance (MTL against ${p.baseline} baselines, ${p.split} split; gain > 0: MTL better)`);
    print(
      table(
        ['task', 'gain', 'verdict'],
        p.tasks.map((t) => [t.task, formatPercent(t.gain ?? undefined), t.verdict ?? '—']),
        {
          best: bestCells(
            p.tasks.map((t) => t.gain ?? undefined),
            true,
          ).map((b) => [false, b, false]),
        },
      ),
    );
    print(`Δm ${formatPercent(p.deltaM ?? undefined)}`);
    if (p.pairs) {
      print();
      print('performance by pair (gain of task i in the run of {i, j} over its single-task run)');
      print(
        table(
          ['j → i', 'gain of i'],
          Object.entries(p.pairs.gains).map(([key, gain]) => [key.replace('>', ' → '), formatPercent(gain)]),
        ),
      );
    }
    print();
  }
  if (report.gradient) {
    const g = report.gradient;
    const where = g.source === 'training-log' ? 'logged during training' : `from the ${g.checkpoint} checkpoint`;
    print(`gradients (${g.target}, ${where}, ${g.steps} steps)`);
    if (g.source === 'checkpoint-pass') {
      note('note: at a trained checkpoint the tasks’ shared gradients balance each other, so cosines lean negative');
    }
    print(
      pairTable(pairs, [
        ['mean cosine', g.meanCosine],
        ['conflict', g.conflictFraction],
      ]),
    );
    print();
  }
  if (report.affinity) {
    const a = report.affinity;
    print(`inter-task affinity Z(i→j) (${a.steps} steps, every ${a.everySteps})`);
    const directed = report.tasks.flatMap((i) => report.tasks.map((j) => `${i}>${j}`));
    print(
      table(
        ['from > to', 'Z'],
        directed.map((key) => [key.replace('>', ' → '), formatNumber(a.affinity[key], 4)]),
      ),
    );
    print();
  }
  if (report.model) {
    const m = report.model;
    print(`model (${m.checkpoint} checkpoint, epoch ${m.epoch}; linear CKA)`);
    print(
      pairTable(pairs, [
        ...m.parameters.map((p): [string, PairValues] => [p.layer, p.cka]),
        ['outputs', m.representationCka],
      ]),
    );
    print();
  }
  if (report.data) {
    const d = report.data;
    print(`data (training split, ${d.rows} rows)`);
    print(
      pairTable(pairs, [
        ['association', d.association],
        ['MI (nats)', d.mutualInformation],
        ['NMI', d.normalisedMutualInformation],
      ]),
    );
    const pairRows = d.pairRows;
    if (pairRows) {
      const counts = pairs.map((pair) => `${pair.replace('|', ' + ')} ${pairRows[pair] ?? 0}`).join(', ');
      print(`measured on the rows both tasks label: ${counts} (a pair with fewer than 2 is not measured)`);
    }
    print();
  }
  if (report.grouping) {
    const g = report.grouping;
    print(`suggested grouping (from ${g.source}): ${g.groups.map((group) => `{${group.join(', ')}}`).join(' ')}`);
    // The groups never hold a warned pair; say which pairs that split, or the grouping reads as the score's own.
    const apart = (g.keptApart ?? []).map((pair) => pair.join(' + '));
    if (apart.length > 0) {
      const which = apart.length === 1 ? 'the pair' : 'each pair';
      print(`kept apart: ${apart.join(', ')} (flagged below; by ${g.source} alone ${which} would share a group)`);
    }
  }
  for (const warning of report.warnings) print(`warning: ${warning.tasks.join(' + ')}: ${warning.reason}`);
  for (const [measure, why] of Object.entries(report.unavailable)) note(`${measure}: ${why}`);
}

export async function analyzeCommand(
  run: string,
  flags: CommonFlags & { checkpoint?: string; backend?: BackendChoice },
): Promise<number> {
  const checkpoint = flags.checkpoint ? checkCheckpointName(flags.checkpoint, '--checkpoint') : undefined;
  const report = await analyzeRun(run, {
    ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
    ...(checkpoint ? { checkpoint } : {}),
    ...(flags.backend ? { backend: flags.backend } : {}),
    lock: lockMessages(),
    // One line per step on stderr, terminal or not (--quiet is not an analyze flag; --json keeps stdout clean).
    onStep: (step) => log(`analyze: ${step}…`),
  });
  if (flags.json) {
    printJson(report);
    return ExitCode.ok;
  }
  log(`run ${report.run}: ${report.tasks.length} tasks`);
  printAnalysis(report);
  const { dir } = resolveRun(run, resolveRunsDir(flags.runsDir));
  log(`saved ${path.relative(process.cwd(), runFile(dir, 'analysis'))}`);
  return ExitCode.ok;
}
