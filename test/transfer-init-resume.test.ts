import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  initBackend,
  readEpochLog,
  readMeta,
  readMetricRows,
  resumeExperiment,
  trainExperiment,
} from '../src/index.js';
import type { TrainListener } from '../src/train/trainer.js';
import { tempDir } from './helpers.js';
import { transferConfig } from './helpers/transfer-init.js';

/**
 * `mtl train --resume` of a fine-tuning run (issue #17) is exact across the unfreeze epoch: the frozen parameters'
 * own optimizer (slots and update count, train/fine-tuning.ts) is in the `last` checkpoint, and the frozen names come
 * back from meta.json's lineage. Interrupted after the first batch of the unfreeze epoch, when that optimizer has
 * taken one step: a restore that lost its count or slots would give Adam another bias correction.
 */
describe('resuming a fine-tuning run', () => {
  it('ends bit-identical to the run left alone, across the unfreeze epoch', async () => {
    await initBackend('wasm', { fma: 'off' });
    const dir = tempDir('mtl-init-resume-');
    const runsDir = path.join(dir, 'runs');
    const source = await trainExperiment(transferConfig(dir, 'source', { tasks: ['y1', 'y2'] }), { runsDir });
    const loaded = () =>
      transferConfig(dir, 'tune', {
        tasks: ['y2', 'y3'],
        init: [`from: ${source.id}`, 'load: [shared, heads]', 'freeze: [shared]', 'unfreeze_after: 2'],
        training: { epochs: 4, batch_size: 48 },
      });
    const alone = await trainExperiment(loaded(), { runsDir });
    const controller = new AbortController();
    const listener: TrainListener = {
      onBatch: (info) => {
        if (info.epoch === 2 && info.batch === 1) controller.abort();
      },
    };
    const stopped = await trainExperiment(loaded(), { runsDir, signal: controller.signal, listeners: [listener] });
    expect(stopped.status).toBe('interrupted');
    const resumed = await resumeExperiment(stopped.id, { runsDir });
    expect(resumed.test).toEqual(alone.test);
    expect(resumed.val).toEqual(alone.val);
    // The logs without their timings: every epoch's losses and metrics, learning rate, monitored value.
    const logs = (runDir: string) => ({
      rows: readMetricRows(runDir),
      epochs: readEpochLog(runDir).map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest),
    });
    expect(logs(resumed.dir)).toEqual(logs(alone.dir));
    expect(readMeta(resumed.dir).resumes?.[0]).toMatchObject({ epoch: 2, batch: 1 });
    expect(readMeta(resumed.dir).lineage?.frozen).toEqual(['shared/0/kernel', 'shared/0/bias']);
  });
});
