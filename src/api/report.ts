import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { replaceDirAtomic, writeUserFileAtomic } from '../runs/atomic.js';
import { outputFileError } from '../runs/fs-errors.js';
import { readSweepMeta } from '../runs/sweeps.js';
import { openRun, resolveRunsDir } from '../runs/store.js';
import { reportHtml } from '../report/html.js';
import { countMarks, renderSvg } from '../report/vega.js';
import type { RenderedFigure, ReportDocument } from '../report/types.js';
import { seedGroupSummary } from './groups.js';
import { resolveGroupNotRun } from './runs.js';
import { groupDocument, readRunForReport, runDocument, runsDocument, sweepDocument } from './report-sources.js';
import { makeDirectories } from '../runs/make-dirs.js';

export interface ReportOptions {
  runsDir?: string;
  /** A seed group instead of runs. */
  group?: string;
  /** A sweep instead of runs. */
  sweep?: string;
  /** The two metrics (`<task>/<metric>`) of the trade-off figure; default: the first two tasks' main metrics. */
  axes?: readonly [string, string];
  /** A sweep's compared metric name for every task instead of its main metric (as `mtl compare --sweep --metric`). */
  metric?: string;
  /** The HTML file to write; its figures go to `<name>-figures/` beside it. Default: `<runs>/reports/<id>.html`. */
  output?: string;
}

export interface ReportFigureFile {
  id: string;
  title: string;
  svg: string;
  spec: string;
  /** Marks drawn, by kind (lines, points, bars/cells, rules): what a reader of the SVG sees. */
  marks: { line: number; symbol: number; rect: number; rule: number };
}

export interface ReportResult {
  html: string;
  figureDir: string;
  title: string;
  sections: { id: string; title: string; figures: number }[];
  figures: ReportFigureFile[];
}

/**
 * `mtl report`: one self-contained HTML file for runs, a seed group or a sweep (report/ draws, this reads and
 * writes), each figure also as SVG and as its Vega-Lite spec in `<name>-figures/`. The figure folder is replaced
 * whole and the HTML written atomically, so a report is never half old and half new; nothing else is written.
 */
export async function writeReport(runs: readonly string[], options: ReportOptions = {}): Promise<ReportResult> {
  const store = resolveRunsDir(options.runsDir);
  const targets = (runs.length > 0 ? 1 : 0) + (options.group ? 1 : 0) + (options.sweep ? 1 : 0);
  if (targets !== 1) {
    throw new UsageError(
      targets === 0
        ? 'mtl report needs something to report on: runs, --group ID or --sweep ID.'
        : 'mtl report takes one kind of target at a time: runs, --group or --sweep.',
      ['mtl report RUN [RUN…] | mtl report --group ID | mtl report --sweep ID'],
    );
  }
  // Flags for a figure the report does not draw are refused rather than ignored.
  if (options.metric !== undefined && !options.sweep) {
    throw new UsageError(`--metric ${options.metric}: only a sweep's report (--sweep ID) compares a metric per task.`, [
      'leave --metric out; a run report draws every metric its run logged',
    ]);
  }
  if (options.axes !== undefined && !options.sweep && runs.length < 2) {
    throw new UsageError(
      '--axes picks the two metrics of the trade-off figure, which a report of two or more runs or of a sweep draws.',
      ['leave --axes out, or report on more runs: mtl report RUN RUN… --axes A,B'],
    );
  }
  const { document, id } = await readTarget(runs, options, store);
  const html = path.resolve(options.output ?? path.join(store, 'reports', `${id}.html`));
  if (!html.endsWith('.html')) {
    throw new UsageError(`-o ${options.output}: expected a file name ending in .html.`, ['e.g. -o report.html']);
  }
  const figureDir = html.replace(/\.html$/, '-figures');
  const rendered = new Map<string, RenderedFigure>();
  const files: Record<string, string> = {};
  const figures: ReportFigureFile[] = [];
  for (const figure of document.sections.flatMap((s) => s.figures)) {
    const svg = await renderSvg(figure.spec);
    rendered.set(figure.id, { ...figure, svg });
    files[`${figure.id}.svg`] = svg;
    files[`${figure.id}.vl.json`] = `${JSON.stringify(figure.spec, null, 2)}\n`;
    figures.push({
      id: figure.id,
      title: figure.title,
      svg: path.join(figureDir, `${figure.id}.svg`),
      spec: path.join(figureDir, `${figure.id}.vl.json`),
      marks: {
        line: countMarks(svg, 'line'),
        symbol: countMarks(svg, 'symbol'),
        rect: countMarks(svg, 'rect'),
        rule: countMarks(svg, 'rule'),
      },
    });
  }
  if (existsSync(html) && statSync(html).isDirectory()) {
    // What writing there would meet, worded as runs/fs-errors.ts words it for `mtl features -o DIR`; nothing written.
    throw new UsageError(`Cannot write ${html}: it is a folder, not a file (EISDIR).`, [
      'choose another file with -o, e.g. -o report.html',
    ]);
  }
  try {
    makeDirectories(path.dirname(html));
    replaceDirAtomic(figureDir, files);
  } catch (error) {
    throw outputFileError(error, `${figureDir} (the report's figures)`, '-o');
  }
  writeUserFileAtomic(html, reportHtml(document, rendered, path.basename(figureDir)), '-o');
  return {
    html,
    figureDir,
    title: document.title,
    sections: document.sections.map((s) => ({ id: s.id, title: s.title, figures: s.figures.length })),
    figures,
  };
}

async function readTarget(
  runs: readonly string[],
  options: ReportOptions,
  store: string,
): Promise<{ document: ReportDocument; id: string }> {
  if (options.sweep) {
    // Loaded for a sweep only: its baseline may be a config, read through config/load.ts (registries, TF.js).
    const { compareSweep } = await import('./compare-sweep.js');
    const comparison = compareSweep(options.sweep, {
      runsDir: store,
      ...(options.metric ? { metric: options.metric } : {}),
    });
    const halving = readSweepMeta(comparison.sweep.dir).halving;
    return { document: sweepDocument(comparison, halving, options.axes), id: comparison.sweep.id };
  }
  if (options.group) {
    const group = resolveGroupNotRun(options.group, store, (run) => ({
      what: '--group reports a seed group',
      hint: `report the run without --group: mtl report ${run}`,
    }));
    return { document: groupDocument(group, seedGroupSummary(group.dir)), id: group.id };
  }
  const opened = runs.map((reference) => openRun(reference, store));
  const data = opened.map((run) => readRunForReport(run.id, run.dir));
  if (data.length === 1) return { document: runDocument(data[0]!), id: safeName(opened[0]!.id) };
  return {
    document: runsDocument(data, options.axes),
    id: `compare-${opened
      .map((r) => safeName(r.id))
      .join('-')
      .slice(0, 120)}`,
  };
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}
