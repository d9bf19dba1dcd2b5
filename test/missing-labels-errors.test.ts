/**
 * Bad inputs around missing labels (docs/notes/bad-inputs-missing-labels.md), through the CLI (the first case the
 * built one, the others its `main` in this process): each exits 2 with the first stderr line naming the file or
 * field, what was expected and how to fix it, no stack frame, and leaves a run made before it exactly as it was.
 * Also: a run from before `data.missing_targets` replays under `drop`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readResolvedConfig } from '../src/runs/inputs.js';
import {
  contextFor,
  folderDigest,
  makeExistingRun,
  removeTree,
  runCase,
  type BadInputCase,
  type ExistingRun,
} from './helpers/bad-inputs.js';

/** 24 rows (16 train, 4 val, 4 test by `part`); y NA on every 5th row; c empty on training rows unless cAnywhere. */
function csv(options: { cAnywhere: boolean }): string {
  const lines = ['x0,x1,y,c,part'];
  for (let r = 0; r < 24; r++) {
    const part = r < 16 ? 'train' : r < 20 ? 'val' : 'test';
    const c = options.cAnywhere || part !== 'train' ? (r % 2 === 0 ? 'p' : 'n') : '';
    const y = r % 5 === 0 ? 'NA' : (r / 10).toFixed(2);
    lines.push(`${(r % 7) / 7},${(r % 3) / 3},${y},${c},${part}`);
  }
  return `${lines.join('\n')}\n`;
}

const config = (data: string, task = '') => `name: bad
backend: wasm
data: { csv: data.csv, split: { column: part }${data} }
tasks:
  - { name: y, type: regression${task} }
  - { name: c, type: binary, positive: p }
training: { epochs: 1 }
`;

const cases: (BadInputCase & { csv: { cAnywhere: boolean }; config: string })[] = [
  {
    does: 'trains with a task that has no label on any training row',
    csv: { cAnywhere: false },
    config: config(''),
    args: () => [],
    exitCode: 2,
    message: /data\.csv: no training row has a label for task "c" \(column "c"\); fill in labels, or remove the task\./,
  },
  {
    does: 'sets tasks[].max_train_rows with data.missing_targets: drop',
    csv: { cAnywhere: true },
    config: config(', missing_targets: drop, missing: drop', ', max_train_rows: 3'),
    args: () => [],
    exitCode: 2,
    message:
      /tasks\[0\]\.max_train_rows: a row budget masks the labels of the rows beyond it, and data\.missing_targets/,
  },
  {
    does: 'sets tasks[].max_train_rows: 0',
    csv: { cAnywhere: true },
    config: config('', ', max_train_rows: 0'),
    args: () => [],
    exitCode: 2,
    message: /tasks\[0\]\.max_train_rows: must be >= 1/,
  },
  {
    does: 'leaves a label empty with data.missing_targets: drop and data.missing: error (the default)',
    csv: { cAnywhere: true },
    config: config(', missing_targets: drop'),
    args: () => [],
    exitCode: 2,
    message: /data\.csv has \d+ missing values? \(data\.missing is "error"\):/,
  },
];

let existing: ExistingRun;
beforeAll(() => {
  existing = makeExistingRun();
}, 120_000);
afterAll(() => removeTree(existing.base));

describe('bad inputs with missing labels: exit 2, a message, the existing run untouched', () => {
  // The first case through the built CLI, the others through its `main` in this process (the same messages).
  for (const [index, testCase] of cases.entries()) {
    it(testCase.does, async () => {
      const context = contextFor(existing);
      const before = folderDigest(existing.runDir);
      context.file('data.csv', csv(testCase.csv));
      const file = context.file('exp.yaml', testCase.config);
      const result = await runCase(testCase, ['train', file, '--runs-dir', existing.runsDir], index > 0);
      expect(result.code, result.stderr).toBe(testCase.exitCode);
      const first = result.stderr.split('\n').find((line) => line.trim() !== '') ?? '';
      expect(result.stderr).toMatch(testCase.message);
      expect(first.length).toBeGreaterThan(0);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stdout).toBe('');
      expect(folderDigest(existing.runDir)).toEqual(before);
    }, 60_000);
  }

  it('a run from before data.missing_targets reads back with "drop", the policy it trained under', () => {
    const dir = contextFor(existing).copyRun('old');
    const file = path.join(dir, 'config.resolved.json');
    const resolved = JSON.parse(readFileSync(file, 'utf8'));
    expect(resolved.data.missing_targets).toBe('mask');
    delete resolved.data.missing_targets;
    writeFileSync(file, JSON.stringify(resolved));
    expect(readResolvedConfig(dir).data.missing_targets).toBe('drop');
  });
});
