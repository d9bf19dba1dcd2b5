import path from 'node:path';
import { locateConfigField, type LoadedConfig } from '../config/load.js';
import { planSubRuns } from './baseline-configs.js';
import { prepareConfigData } from '../data/multi-input.js';
import type { DataReport } from '../data/report.js';

/**
 * Reads and prepares a config's data exactly as `trainExperiment` does (the same `prepareData`), so every data error
 * training would raise is raised here with the same message; returns what the data looks like to the model. The
 * configs of the baselines and pair runs it asks for are checked as `mtl train` checks them before training.
 */
export async function validateData(loaded: LoadedConfig): Promise<DataReport> {
  planSubRuns(loaded);
  const configDir = loaded.file ? path.dirname(loaded.file) : process.cwd();
  return (await prepareConfigData(loaded.config, configDir, (field) => locateConfigField(loaded, field))).report;
}
