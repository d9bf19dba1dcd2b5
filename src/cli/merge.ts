import path from 'node:path';
import { mergeRuns, type MergeEntry } from '../api/merge.js';
import { ExitCode, UsageError } from '../errors.js';
import { log, out, printJson } from './output.js';

export interface MergeFlags {
  runsDir?: string;
  json?: boolean;
  skipUnfinished?: boolean;
}

/**
 * `mtl runs merge DIR… [--runs-dir DEST] [--skip-unfinished] [--json]` (api/merge.ts): a line per run on stderr, the
 * counts on stdout (`--json`: the whole report). A conflict or an unfinished run refuses the whole merge: nothing is
 * copied, every problem is listed, exit 2.
 */
export function mergeCommand(dirs: readonly string[], flags: MergeFlags): number {
  if (dirs.length === 0) {
    throw new UsageError('mtl runs merge: name the folders to merge.', [
      'mtl runs merge shards/* --runs-dir runs: run folders, seed groups, sweep folders or run stores',
    ]);
  }
  const report = mergeRuns(dirs, {
    ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
    skipUnfinished: flags.skipUnfinished === true,
  });
  const where = path.relative(process.cwd(), report.runsDir) || '.';
  if (flags.json) printJson(report);
  if (!report.merged) {
    const conflicts = report.problems.filter((p) => p.problem === 'conflict').length;
    throw new UsageError(
      `mtl runs merge: refused, nothing copied into ${where}: ${conflicts} conflicting, ` +
        `${report.problems.length - conflicts} unfinished.`,
      [
        ...report.problems.map((p) => `${p.problem}: ${p.reason}`),
        ...(conflicts < report.problems.length
          ? ['--skip-unfinished leaves unfinished runs out (a left-out trial stays pending, to train again)']
          : []),
        // Two runs of one id with other contents: only the person knows which is right.
        ...(conflicts > 0
          ? [
              'a conflict is one id with two contents: keep the one you want (move the other copy out of the folders ' +
                'merged, or delete it from the store), then merge again',
            ]
          : []),
      ],
    );
  }
  if (!flags.json) {
    const line = (verb: string) => (entry: MergeEntry) => log(`${verb} ${entry.kind} ${entry.id} (${entry.source})`);
    report.copied.forEach(line('copied'));
    report.identical.forEach(line('identical, skipped:'));
    for (const left of report.leftOut) log(`left out (unfinished): ${left.reason}`);
    out(
      `merged into ${where}: ${report.copied.length} copied, ${report.identical.length} identical (skipped), ` +
        `${report.leftOut.length} left out`,
    );
  }
  return ExitCode.ok;
}
