/**
 * A data error of a task's own source (multi-input MTL, issue #17) names the config line of that source:
 * `exp.yaml:7:…: tasks[1].data.csv (the data of z): …`, from `mtl train` and `mtl validate` alike (exit 2, no run).
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { mtl } from './helpers/cli.js';
import { configText, writeSources } from './helpers/multi-input.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('mtl-multi-errors-');
  writeSources(dir);
});

describe("a task's own data source that does not fit", () => {
  it('train and validate: exit 2 at the config line of tasks[1].data.csv, and no run folder', () => {
    const file = path.join(dir, 'exp.yaml');
    // source.csv has no column z (the task's target).
    writeFileSync(file, configText('csv: source.csv, split: { train: 0.5, val: 0.25, test: 0.25 }'));
    const runsDir = path.join(dir, 'runs');
    for (const command of [
      ['train', file, '--runs-dir', runsDir],
      ['validate', file],
    ]) {
      const result = mtl(command);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(
        new RegExp(`^mtl: ${escaped(file)}:7:\\d+: tasks\\[1\\]\\.data\\.csv \\(the data of z\\): `),
      );
      // The field the error blames as the config writes it: task z (tasks[1]) gives no target, so its target.
      expect(result.stderr).toContain('(the data of z): tasks[1].target: column "z" is not in');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(runsDir)).toBe(false);
  }, 60_000);

  it('a source written by --set is blamed on the flag', () => {
    const file = path.join(dir, 'exp2.yaml');
    writeFileSync(file, configText());
    const result = mtl(['validate', file, '--set', 'tasks.1.data.csv=source.csv']);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(
      /^mtl: --set tasks\.1\.data\.csv=source\.csv: tasks\[1\]\.data\.csv \(the data of z\): /,
    );
  }, 30_000);
});

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
