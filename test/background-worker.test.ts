/**
 * The background writer's worker is a module file (src/runs/fs-worker.js, sharing src/runs/fs-steps.js with the main
 * thread): it runs from the sources under the tests, from dist/ for the CLI, and is in the published package.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BackgroundTasks, replaceDirSteps, writeFileAtomicSteps, type FsJob } from '../src/runs/atomic.js';
import type { FsWorkerReply } from '../src/runs/fs-worker.js';
import { tempDir, writeFile } from './helpers.js';

const root = path.resolve(import.meta.dirname, '..');

/** Sends `job` to a worker started from `file` and returns its reply. */
async function askWorker(file: string, job: FsJob): Promise<FsWorkerReply> {
  const worker = new Worker(file);
  try {
    return await new Promise<FsWorkerReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage({ id: 7, job });
    });
  } finally {
    await worker.terminate();
  }
}

describe('the background file-system worker', () => {
  it('runs a job sent to it and answers with its id; a failed job with the error message and code', async () => {
    const dir = tempDir();
    const workerFile = path.join(root, 'src', 'runs', 'fs-worker.js');
    expect(await askWorker(workerFile, replaceDirSteps(path.join(dir, 'best'), { 'a.txt': 'one' }))).toEqual({ id: 7 });
    expect(readFileSync(path.join(dir, 'best', 'a.txt'), 'utf8')).toBe('one');
    const failed = await askWorker(workerFile, writeFileAtomicSteps(path.join(dir, 'missing', 'b.txt'), 'two'));
    expect(failed).toMatchObject({
      id: 7,
      error: { code: 'ENOENT', message: expect.stringMatching(/no such file or directory/) },
    });
    expect(readdirSync(dir)).toEqual(['best']);
  });

  it('is where BackgroundTasks sends its jobs (no fallback to this thread)', async () => {
    const dir = tempDir();
    const background = new BackgroundTasks();
    await background.run(writeFileAtomicSteps(path.join(dir, 'meta.json'), '{}\n'));
    expect(background.runsInWorker).toBe(true);
    await background.close();
    expect(background.runsInWorker).toBe(false);
    expect(readFileSync(path.join(dir, 'meta.json'), 'utf8')).toBe('{}\n');
  });

  it('starts from dist/ in the built package, and the package ships it', () => {
    expect(existsSync(path.join(root, 'dist', 'runs', 'fs-worker.js')), 'run npm run build first').toBe(true);
    const dir = tempDir();
    const atomicModule = JSON.stringify(path.join(root, 'dist', 'runs', 'atomic.js'));
    const script = `
      import { BackgroundTasks, writeFileAtomicSteps } from ${atomicModule};
      const background = new BackgroundTasks();
      await background.run(writeFileAtomicSteps(${JSON.stringify(path.join(dir, 'out.txt'))}, 'from dist'));
      console.log(JSON.stringify({ inWorker: background.runsInWorker }));
      await background.close();`;
    const output = execFileSync(process.execPath, [writeFile(dir, 'start.mjs', script)], { encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({ inWorker: true });
    expect(readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('from dist');

    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }),
    ) as [{ files: { path: string }[] }];
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining(['dist/runs/fs-worker.js', 'dist/runs/fs-steps.js', 'dist/runs/atomic.js']),
    );
  });
});
