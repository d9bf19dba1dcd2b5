/**
 * meta.json's heartbeat while a run is alive (runs/liveness.ts): `mtl runs` calls a `running` run crashed once its
 * heartbeat is older than 5 minutes, and `mtl train --resume` then takes it up. The heartbeat came only from training
 * batches and the `last` checkpoint, so a run in a long validation or final evaluation (minutes on a large split)
 * looked crashed while it worked, and could be resumed by a second process beside it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { loadConfig } from '../src/config/load.js';
import { tempDir } from './helpers.js';
import { root } from './helpers/cli.js';

interface Meta {
  status: string;
  epochsCompleted: number;
  heartbeatAt: string;
}

const metaOf = (dir: string): Meta | undefined => {
  const file = path.join(dir, 'meta.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Meta) : undefined;
};

describe('the heartbeat', () => {
  it('goes on during the final evaluation, not only from training batches', async () => {
    // Two short epochs, then a final evaluation of ~2 s (196,000 test rows through a trunk 1,024 wide).
    const loaded = loadConfig(path.join(root, 'configs', 'quickstart.yaml'), [
      'training.epochs=2',
      'training.early_stopping.patience=0',
      'data.options.samples=200000',
      'data.split={train: 0.01, val: 0.01, test: 0.98}',
      'model.trunk[0].units=1024',
    ]);
    let dir = '';
    const beats = new Set<string>();
    let watching = true;
    // Every heartbeat seen once training has ended (meta.json counts both epochs) and before the run's final status.
    const watch = (async () => {
      while (watching) {
        const meta = dir ? metaOf(dir) : undefined;
        if (meta?.status === 'running' && meta.epochsCompleted === 2) beats.add(meta.heartbeatAt);
        await sleep(20);
      }
    })();
    const summary = await trainExperiment(loaded, {
      runsDir: tempDir(),
      heartbeatEveryMs: 100,
      onRunCreated: (run) => {
        dir = run.dir;
      },
    });
    watching = false;
    await watch;
    expect(summary.status).toBe('completed');
    // The `last` checkpoint's write at the end of training is one; the final evaluation's beats are the others.
    expect(beats.size, [...beats].join(' ')).toBeGreaterThanOrEqual(3);
  });
});
