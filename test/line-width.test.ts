/**
 * No source line is longer than the formatter's width. Biome wraps code but cannot break comments or string
 * literals, so this keeps those within `formatter.lineWidth` of biome.json (the one place the width is set).
 * Width is counted in columns as Biome counts them, not in bytes or UTF-16 units: a wide (CJK) character takes
 * two, a combining mark none, any other character one (so `·`, `×` or `Σ`, two or three bytes each, count one).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const width = (JSON.parse(readFileSync(path.join(root, 'biome.json'), 'utf8')) as { formatter: { lineWidth: number } })
  .formatter.lineWidth;

/** Two-column code points: the East Asian Wide and Fullwidth blocks (Hangul, CJK, kana, fullwidth forms, emoji). */
const wideRanges: [number, number][] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];
/** Zero-column characters: combining marks and the zero-width space and joiners. */
const zero = /[\p{Mn}\p{Me}\u200B-\u200D]/u;

function columns(line: string): number {
  let count = 0;
  for (const character of line) {
    const code = character.codePointAt(0)!;
    if (zero.test(character)) continue;
    count += wideRanges.some(([low, high]) => code >= low && code <= high) ? 2 : 1;
  }
  return count;
}

/** Tracked and untracked-but-not-ignored source files: what a commit would hold. */
function sourceFiles(): string[] {
  const listed = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', 'src', 'test', 'bench', 'scripts', 'bin'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  return listed.split('\n').filter((file) => /\.(ts|js|mjs)$/.test(file));
}

describe('line width', () => {
  it(`keeps every source line within the formatter's width (${width} columns)`, () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(100); // the listing found the tree
    const long: string[] = [];
    for (const file of files) {
      readFileSync(path.join(root, file), 'utf8')
        .split('\n')
        .forEach((line, index) => {
          const length = columns(line);
          if (length > width) long.push(`${file}:${index + 1} (${length} columns)`);
        });
    }
    expect(long).toEqual([]);
  });

  it('counts columns as the formatter does', () => {
    expect(columns('x'.repeat(width))).toBe(width);
    expect(columns('Σ ‖g‖² · w×h → ∂L/∂x')).toBe(20); // two or three bytes each, one column each
    expect(columns('正交梯度投影')).toBe(12); // wide: two columns each
    expect(columns('g\u0302')).toBe(1); // g and a combining circumflex
    expect(columns('𝒢')).toBe(1); // outside the BMP, two UTF-16 units
  });
});
