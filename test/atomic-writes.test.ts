/**
 * Atomic writes: a folder replaced whole or not at all, and the background worker that runs the same file steps in
 * order, reports a failure and refuses work once closed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackgroundTasks, replaceDirAtomic, replaceDirSteps, writeFileAtomicSteps } from '../src/runs/atomic.js';
import { tempDir } from './helpers.js';

describe('folder replacement and background jobs', () => {
  it('replaces a folder whole, removes the old one, and keeps the old one when writing fails', () => {
    const root = tempDir();
    const target = path.join(root, 'best');
    replaceDirAtomic(target, { 'a.txt': 'one' });
    replaceDirAtomic(target, { 'a.txt': 'two', 'b.bin': new Uint8Array([1, 2, 3]) });
    expect(readFileSync(path.join(target, 'a.txt'), 'utf8')).toBe('two');
    expect([...readFileSync(path.join(target, 'b.bin'))]).toEqual([1, 2, 3]);
    expect(readdirSync(root)).toEqual(['best']);
    expect(() => replaceDirAtomic(target, { 'sub/c.txt': 'no such folder' })).toThrow(/ENOENT/);
    expect(readdirSync(root)).toEqual(['best']);
    expect(readFileSync(path.join(target, 'a.txt'), 'utf8')).toBe('two');
  });

  it(
    'runs jobs in the worker in order, keeps going after a failure and reports it, with the same steps as ' +
      'in-process',
    async () => {
      const root = tempDir();
      const background = new BackgroundTasks();
      const log = path.join(root, 'log');
      void background.run(replaceDirSteps(log, { '1': 'a' }));
      void background.run(replaceDirSteps(path.join(root, 'missing', 'deeper'), { 'x/y': 'fails: no folder x' }));
      void background.run(replaceDirSteps(log, { '1': 'b', '2': 'c' }));
      void background.run(writeFileAtomicSteps(path.join(root, 'file.json'), '{}\n'));
      await expect(background.settle()).rejects.toMatchObject({ code: 'ENOENT' });
      expect(readFileSync(path.join(log, '1'), 'utf8')).toBe('b');
      expect(readFileSync(path.join(log, '2'), 'utf8')).toBe('c');
      expect(readFileSync(path.join(root, 'file.json'), 'utf8')).toBe('{}\n');
      // The failed job removed its temp folder, as the in-process replacement does.
      expect(readdirSync(root).sort()).toEqual(['file.json', 'log', 'missing']);
      expect(readdirSync(path.join(root, 'missing'))).toEqual([]);
      await expect(background.settle()).resolves.toBeUndefined();
      await background.close();
      // Closed: a job queued now is reported as failed rather than lost silently.
      void background.run(writeFileAtomicSteps(path.join(root, 'late.json'), '{}'));
      expect(() => background.check()).toThrow(/closed/);
      expect(existsSync(path.join(root, 'late.json'))).toBe(false);
    },
  );
});
