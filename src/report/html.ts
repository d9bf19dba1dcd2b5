import type { RenderedFigure, ReportDocument, ReportSection, ReportTable } from './types.js';

/**
 * One self-contained HTML page: styles inline, every figure's SVG inline, no script, no font, image or link to
 * anything outside the file (test/report.test.ts checks), so it opens offline and can be mailed or archived.
 */
export function reportHtml(
  document: ReportDocument,
  figures: ReadonlyMap<string, RenderedFigure>,
  figureFolder: string,
): string {
  const toc = document.sections
    .map((s) => `<li><a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a></li>`)
    .join('');
  const body = document.sections.map((s) => sectionHtml(s, figures, figureFolder)).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(document.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(document.title)}</h1><p class="subtitle">${escapeHtml(document.subtitle)}</p>
<nav><ol>${toc}</ol></nav></header>
<main>
${body}
</main>
<footer>Written by mtl report. Each figure is also saved as SVG and as its Vega-Lite specification in
<code>${escapeHtml(figureFolder)}/</code>.</footer>
</body>
</html>
`;
}

function sectionHtml(s: ReportSection, figures: ReadonlyMap<string, RenderedFigure>, figureFolder: string): string {
  const notes = s.notes.map((n) => `<p class="note">${escapeHtml(capitalised(n))}</p>`).join('');
  const drawn = s.figures
    .map((f) => figures.get(f.id))
    .filter((f): f is RenderedFigure => f !== undefined)
    .map(
      (f) => `<figure id="fig-${escapeHtml(f.id)}"><h3>${escapeHtml(f.title)}</h3>
<div class="chart">${f.svg}</div>
<figcaption>${escapeHtml(f.caption)} <span class="files">${escapeHtml(figureFolder)}/${escapeHtml(f.id)}.svg ·
${escapeHtml(f.id)}.vl.json</span></figcaption></figure>`,
    )
    .join('\n');
  const tables = s.tables.map(tableHtml).join('\n');
  const code =
    s.code === undefined ? '' : `<details><summary>Resolved config</summary><pre>${escapeHtml(s.code)}</pre></details>`;
  return `<section id="${escapeHtml(s.id)}"><h2>${escapeHtml(s.title)}</h2>${notes}
<div class="figures">${drawn}</div>${tables}${code}</section>`;
}

function tableHtml(table: ReportTable): string {
  const header = table.header.some((h) => h !== '')
    ? `<thead><tr>${table.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`
    : '';
  const rows = table.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<table><caption>${escapeHtml(table.caption)}</caption>${header}<tbody>${rows}</tbody></table>`;
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:0;background:#fafafa}
header,main,footer{max-width:1200px;margin:0 auto;padding:0 24px}
h1{font-size:24px;margin:24px 0 4px}h2{font-size:19px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
h3{font-size:14px;margin:0 0 6px}.subtitle{color:#555;margin:0 0 12px}
nav ol{display:flex;flex-wrap:wrap;gap:4px 22px;list-style:none;padding:0;margin:0 0 8px}
.figures{display:flex;flex-wrap:wrap;gap:16px}
figure{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:12px;margin:0;max-width:100%;overflow-x:auto}
figcaption{color:#555;font-size:12px;max-width:720px;margin-top:6px}.files{color:#999;font-family:monospace}
table{border-collapse:collapse;margin:12px 0;background:#fff;font-size:13px}
caption{text-align:left;font-weight:600;padding:4px 0}
td,th{border:1px solid #e3e3e3;padding:3px 8px;text-align:left;vertical-align:top}
td:not(:first-child){font-variant-numeric:tabular-nums}
pre{background:#fff;border:1px solid #e3e3e3;padding:8px;overflow-x:auto;font-size:12px}
.note{color:#7a5b00}footer{color:#888;font-size:12px;margin:32px auto}
`;
