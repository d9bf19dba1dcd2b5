import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** What a finished run's directory holds (the README's "Runs" tree), sorted. */
export const FINISHED_RUN_FILES = [
  'checkpoints',
  'config.resolved.json',
  'config.yaml',
  'epochs.jsonl',
  'meta.json',
  'metrics.csv',
  'metrics.jsonl',
  'preprocessing.json',
  'summary.json',
  'tensorboard',
];

/**
 * Run directories written by hand, as mtl lays them out on disk (meta.json, summary.json), for tests of reading,
 * resolving and comparing runs without training any. NaN in a metric is written the way JSON.stringify writes it:
 * null.
 */
export interface FakeRun {
  /** Fields of meta.json to replace or add (`format: 2`, `status: 'running'`). */
  meta?: Record<string, unknown>;
  /** summary.json's test metrics (anything, to write damaged files too); no summary.json at all when undefined. */
  test?: Record<string, unknown>;
  val?: Record<string, unknown>;
  name?: string;
}

export function fakeRun(store: string, id: string, run: FakeRun = {}): string {
  const dir = path.join(store, id);
  mkdirSync(dir, { recursive: true });
  const meta = {
    format: 1,
    id,
    name: run.name ?? 'fake',
    status: 'completed',
    startedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:01:00.000Z',
    seed: 1,
    versions: { mtl: '0.1.0', node: 'v20.19.0', tfjs: '4.22.0' },
    command: ['train', 'x.yaml'],
    cwd: '/',
    overrides: [],
    epochsCompleted: 3,
    ...run.meta,
  };
  writeFileSync(path.join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  if (run.test) {
    const summary = {
      id,
      name: run.name ?? 'fake',
      dir,
      status: meta.status,
      backend: 'wasm',
      epochs: 3,
      bestEpoch: 2,
      checkpoint: 'best',
      test: run.test,
      val: run.val ?? {},
      directions: {},
      parameterCount: { shared: 10, perTask: { a: 2, b: 3 }, total: 15 },
      seconds: 1.5,
    };
    writeFileSync(path.join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  }
  return dir;
}
