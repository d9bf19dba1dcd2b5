import type { TopLevelSpec } from 'vega-lite';

/** One figure of a report: a Vega-Lite specification with its data inline, saved beside the HTML as it is drawn. */
export interface Figure {
  /** File stem of its `.svg` and `.vl.json` (letters, digits, `-`), unique in the report. */
  id: string;
  title: string;
  /** What it shows and by which rule (the best epoch, what a conflict is, what the front is). */
  caption: string;
  spec: TopLevelSpec;
}

export interface RenderedFigure extends Figure {
  svg: string;
}

export interface ReportTable {
  caption: string;
  header: string[];
  rows: string[][];
}

export interface ReportSection {
  /** Anchor in the page (`#curves`). */
  id: string;
  title: string;
  figures: Figure[];
  tables: ReportTable[];
  /** Plain sentences shown under the title (what is missing and why, rules). */
  notes: string[];
  /** A preformatted block (the resolved config). */
  code?: string;
}

export interface ReportDocument {
  title: string;
  subtitle: string;
  sections: ReportSection[];
}

export function section(id: string, title: string, parts: Partial<Omit<ReportSection, 'id' | 'title'>>): ReportSection {
  return { id, title, figures: parts.figures ?? [], tables: parts.tables ?? [], notes: parts.notes ?? [], ...parts };
}

/** A figure id from free text: task and run names may hold any character. */
export function figureId(...parts: string[]): string {
  return parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
