/** A small run stopped by an interrupt in its second epoch, for the tests of what resume and the readers refuse. */
import type { RunSummary } from '../../src/runs/summary.js';
import { trainExperiment } from '../../src/api/train.js';
import { tempDir } from '../helpers.js';
import { tinyRegressionConfig } from './configs.js';

const TRAINING = { epochs: 4, batch_size: 8, lr: 0.01 };

/** Interrupted at epoch 1's first batch: both checkpoints (`best`, `last`) written, status `interrupted`. */
export async function interruptedRun(runsDir: string): Promise<RunSummary> {
  const controller = new AbortController();
  return trainExperiment(tinyRegressionConfig(tempDir('mtl-interrupted-'), TRAINING), {
    runsDir,
    signal: controller.signal,
    listeners: [{ onBatch: (info) => info.epoch === 1 && info.batch === 1 && controller.abort() }],
  });
}
