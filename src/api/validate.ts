import path from 'node:path';
import { tf } from '../tf.js';
import { initBackend } from '../backend/select.js';
import { locateConfigField, type LoadedConfig } from '../config/load.js';
import { resolveRunsDir } from '../runs/store.js';
import { checkSubRunHeads, planSubRuns } from './baseline-configs.js';
import { checkBaselineRows, checkBaselineRowsOfSeeds } from './baseline-rows.js';
import { buildModel } from './build.js';
import { initialiseFromSource } from './init-weights.js';
import { prepareConfigData } from '../data/multi-input.js';
import type { DataReport } from '../data/report.js';

export interface ValidateOptions {
  /** The run store `init.from` is resolved in, as `mtl train --runs-dir` (default: $MTL_RUNS_DIR or ./runs). */
  runsDir?: string;
}

/**
 * Reads and prepares a config's data exactly as `trainExperiment` does (the same `prepareData`), so every data error
 * training would raise is raised here with the same message; returns what the data looks like to the model. The
 * model is then built on that data and disposed, so what only building finds (a reshape that does not fit its input,
 * a convolution larger than its image) is refused here as `mtl train` would refuse it. The configs of the baselines
 * and pair runs it asks for, and the single-task baselines' labelled rows (of every seed of `seeds:`), are checked as
 * `mtl train` checks them before training.
 */
export async function validateData(loaded: LoadedConfig, options: ValidateOptions = {}): Promise<DataReport> {
  planSubRuns(loaded);
  const configDir = loaded.file ? path.dirname(loaded.file) : process.cwd();
  const data = await prepareConfigData(loaded.config, configDir, (field) => locateConfigField(loaded, field));
  // A seed group trains its seeds only, each with its own split.
  if (loaded.config.seeds) await checkBaselineRowsOfSeeds(loaded, loaded.config.seeds);
  else checkBaselineRows(loaded, data.report);
  // The backend a caller already runs on is kept; otherwise the one training would pick (plain cpu would print
  // TF.js's advice to install tfjs-node on stdout).
  if (!tf.engine().backendName) await initBackend(loaded.config.backend);
  const model = buildModel(loaded.config, data.preprocessing);
  try {
    // train's own resolution, so a missing source run, a selector that picks nothing or a source that does not fit
    // fails here with train's message. It only reads the source; the weights go into a model that is thrown away.
    const init = loaded.config.init;
    if (init) {
      const fromAt = locateConfigField(loaded, ['init', 'from']).at;
      initialiseFromSource(init, model, data.preprocessing, resolveRunsDir(options.runsDir), fromAt);
    }
    checkSubRunHeads(loaded, options.runsDir);
  } finally {
    model.dispose();
  }
  return data.report;
}
