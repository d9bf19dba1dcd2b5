/** The bench's plain-text tables, shared by bench/run.mjs and bench/scaling-run.mjs. */

/** A number with `digits` decimals, or — for anything that is not a finite number. */
export const fmt = (x, digits = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '—');

/** Header, a rule, then the rows; the first two columns left-aligned, the rest right-aligned. */
export function printTable(header, rows) {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells) =>
    cells.map((cell, c) => (c < 2 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
