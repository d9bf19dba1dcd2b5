/**
 * No source line is longer than the formatter's width. Biome wraps code but cannot break comments or string
 * literals, so this keeps those within `formatter.lineWidth` of biome.json (the one place the width is set).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const width = (JSON.parse(readFileSync(path.join(root, 'biome.json'), 'utf8')) as { formatter: { lineWidth: number } })
  .formatter.lineWidth;

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
  it(`keeps every source line within the formatter's width (${width} characters)`, () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(100); // the listing found the tree
    const long: string[] = [];
    for (const file of files) {
      readFileSync(path.join(root, file), 'utf8')
        .split('\n')
        .forEach((line, index) => {
          if ([...line].length > width) long.push(`${file}:${index + 1} (${[...line].length} characters)`);
        });
    }
    expect(long).toEqual([]);
  });
});
