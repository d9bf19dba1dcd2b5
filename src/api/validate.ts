import path from 'node:path';
import { tf } from '../tf.js';
import { initBackend } from '../backend/select.js';
import { locateConfigField, type LoadedConfig } from '../config/load.js';
import { planSubRuns } from './baseline-configs.js';
import { buildModel } from './build.js';
import { prepareConfigData } from '../data/multi-input.js';
import type { DataReport } from '../data/report.js';

/**
 * Reads and prepares a config's data exactly as `trainExperiment` does (the same `prepareData`), so every data error
 * training would raise is raised here with the same message; returns what the data looks like to the model. The
 * model is then built on that data and disposed, so what only building finds (a reshape that does not fit its input,
 * a convolution larger than its image) is refused here as `mtl train` would refuse it. The configs of the baselines
 * and pair runs it asks for are checked as `mtl train` checks them before training.
 */
export async function validateData(loaded: LoadedConfig): Promise<DataReport> {
  planSubRuns(loaded);
  const configDir = loaded.file ? path.dirname(loaded.file) : process.cwd();
  const data = await prepareConfigData(loaded.config, configDir, (field) => locateConfigField(loaded, field));
  // The backend a caller already runs on is kept; otherwise the one training would pick (plain cpu would print
  // TF.js's advice to install tfjs-node on stdout).
  if (!tf.engine().backendName) await initBackend(loaded.config.backend);
  buildModel(loaded.config, data.preprocessing).dispose();
  return data.report;
}
