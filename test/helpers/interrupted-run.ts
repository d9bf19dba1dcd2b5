/** A small run stopped by an interrupt in its second epoch, for the tests of what resume and the readers refuse. */
import type { RunSummary } from '../../src/runs/summary.js';
import { trainExperiment } from '../../src/api/train.js';
import { parseConfigText } from '../../src/config/load.js';
import { tempDir } from '../helpers.js';
import { tinyRegressionConfig } from './configs.js';

const TRAINING = { epochs: 4, batch_size: 8, lr: 0.01 };

/**
 * Interrupted at epoch 1's first batch: both checkpoints (`best`, `last`) written, status `interrupted`; `overrides`
 * as `--set` flags.
 */
export async function interruptedRun(runsDir: string, overrides: string[] = []): Promise<RunSummary> {
  const controller = new AbortController();
  const written = tinyRegressionConfig(tempDir('mtl-interrupted-'), TRAINING);
  const loaded = parseConfigText(written.sourceText, { ...(written.file ? { file: written.file } : {}), overrides });
  return trainExperiment(loaded, {
    runsDir,
    signal: controller.signal,
    listeners: [{ onBatch: (info) => info.epoch === 1 && info.batch === 1 && controller.abort() }],
  });
}
