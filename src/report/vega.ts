import type { TopLevelSpec } from 'vega-lite';

/**
 * Renders a Vega-Lite specification to SVG in this process: vega-lite compiles it to a Vega spec and vega's View
 * draws it with its SVG string renderer (no browser, no canvas; text widths are vega's estimate). Data must be
 * inline (`data.values`): the loader is never asked for a URL, so a report makes no request. vega and vega-lite are
 * loaded on the first call, not with the CLI: ~130 ms of every `mtl` command's start that only reports need.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [{ parse, View }, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * How many marks of a kind an SVG drawn by vega holds: the children of each `<g class="mark-<kind> role-mark …">`
 * group (a line is one path per series, a point one path per datum, a rect one path per bar or cell). For tests
 * and for the report's own summary of its figures.
 */
export function countMarks(svg: string, kind: 'line' | 'symbol' | 'rect' | 'rule' | 'text' | 'area'): number {
  const opening = new RegExp(`<g class="mark-${kind} role-mark[^"]*"[^>]*>`, 'g');
  let count = 0;
  for (const match of svg.matchAll(opening)) {
    const start = (match.index ?? 0) + match[0].length;
    const end = svg.indexOf('</g>', start);
    const body = svg.slice(start, end === -1 ? undefined : end);
    count += (body.match(/<(path|line|text)\b/g) ?? []).length;
  }
  return count;
}
