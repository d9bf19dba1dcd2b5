import { spawn } from 'node:child_process';
import { writeReport } from '../api/report.js';
import { ExitCode, UsageError } from '../errors.js';
import type { CommonFlags } from './commands.js';
import { log, out, printJson } from './output.js';

export interface ReportFlags extends CommonFlags {
  group?: string;
  sweep?: string;
  output?: string;
  open?: boolean;
  axes?: string;
  metric?: string;
}

/**
 * `mtl report RUN… | --group ID | --sweep ID`: writes the HTML report and its figure folder; prints the report's
 * path on stdout (`--json`: what was written, each figure with its mark counts), what it holds on stderr.
 */
export async function reportCommand(runs: string[], flags: ReportFlags): Promise<number> {
  const axes = flags.axes?.split(',').map((key) => key.trim());
  if (axes !== undefined && (axes.length !== 2 || axes.some((key) => key === '' || !key.includes('/')))) {
    throw new UsageError(`--axes "${flags.axes}": expected two metrics, TASK/METRIC,TASK/METRIC.`, [
      'e.g. --axes left/accuracy,right/accuracy',
    ]);
  }
  const result = await writeReport(runs, {
    ...(axes ? { axes: [axes[0] ?? '', axes[1] ?? ''] as const } : {}),
    ...(flags.metric ? { metric: flags.metric } : {}),
    ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
    ...(flags.group ? { group: flags.group } : {}),
    ...(flags.sweep ? { sweep: flags.sweep } : {}),
    ...(flags.output ? { output: flags.output } : {}),
  });
  if (flags.json) printJson(result);
  else {
    out(result.html);
    log(
      `${result.title}: ${counted(result.sections.length, 'section')}, ${counted(result.figures.length, 'figure')} ` +
        `(SVG and Vega-Lite specs in ${result.figureDir})`,
    );
  }
  if (flags.open) openInBrowser(result.html);
  return ExitCode.ok;
}

/** Hands the file to the desktop's opener; where there is none (a server, CI) it says so and goes on. */
function openInBrowser(file: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [file], { detached: true, stdio: 'ignore' });
  child.on('error', () => log(`--open: no ${opener} here; open ${file} in a browser`));
  child.unref();
}

function counted(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
