/**
 * Atomic writes: a folder replaced whole or not at all, and the background worker that runs the same file steps in
 * order, reports a failure and refuses work once closed.
 */
import * as fs from 'node:fs';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BackgroundTasks,
  replaceDirAtomic,
  replaceDirSteps,
  runFsSteps,
  writeFileAtomicSteps,
} from '../src/runs/atomic.js';
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

  it("writes a folder's checksums file last, from the bytes its job wrote, here and in the worker", async () => {
    // FIPS 180-2's examples: sha256("abc") and of the empty message.
    const expected = {
      algorithm: 'sha256',
      files: {
        'a.txt': 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
        'b.bin': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      },
    };
    const root = tempDir();
    const files = { 'a.txt': 'abc', 'b.bin': new Uint8Array(0) };
    replaceDirAtomic(path.join(root, 'here'), files, { checksums: 'sums.json' });
    const background = new BackgroundTasks();
    void background.run(replaceDirSteps(path.join(root, 'worker'), files, { checksums: 'sums.json' }));
    await background.close();
    for (const folder of ['here', 'worker']) {
      const text = readFileSync(path.join(root, folder, 'sums.json'), 'utf8');
      expect(text).toBe(`${JSON.stringify(expected, null, 2)}\n`);
      expect(readdirSync(path.join(root, folder)).sort()).toEqual(['a.txt', 'b.bin', 'sums.json']);
    }
    // A checksum of a file the job did not write is a mistake of ours: the job fails and writes nothing.
    const job = [
      { op: 'writeChecksums' as const, path: path.join(root, 'x.json'), files: { a: path.join(root, 'a') } },
    ];
    expect(() => runFsSteps(job, fs)).toThrow(/writeChecksums: .*a was not written earlier in the job/);
    expect(existsSync(path.join(root, 'x.json'))).toBe(false);
  });
});
