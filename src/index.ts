/**
 * The library API of mtl. The CLI is a thin shell over these functions; tests and users import them directly.
 */
export { loadConfig, parseConfigText, parseOverride, type LoadedConfig } from './config/load.js';
export { buildExperimentSchema } from './config/schema.js';
export type * from './config/types.js';
export { trainExperiment, type TrainOptions, type RunSummary } from './api/train.js';
export { evaluateRun, readRun, type EvaluateOptions, type EvaluationResult } from './api/evaluate.js';
export { compareRuns, type Comparison, type CompareOptions } from './api/compare.js';
export { listRuns, type RunListing } from './api/runs.js';
export { buildModel, countParameters } from './api/build.js';
export { initBackend, probeBackends, type BackendReport } from './backend/select.js';
export { prepareData, loadTable, type PreparedData } from './data/prepare.js';
export { readCsv } from './data/csv.js';
export { builtinDatasets, getBuiltinDataset } from './data/builtin/index.js';
export type { BuiltinDataset, Column, DataTable, TaskType } from './data/types.js';
export { cellText, columnOf, isMissing, numericCells, sortLabels } from './data/columns.js';
export { taskKindRegistry, lossRegistry, allowedLosses, applicableMetrics, kindOf } from './tasks/registry.js';
export type * from './tasks/types.js';
export { metricRegistry, computeMetrics, getMetric } from './metrics/registry.js';
export type { MetricDefinition, PredictionLayout, TaskPredictions } from './metrics/types.js';
export { deltaM, relativeImprovement } from './metrics/aggregate.js';
export { architectureRegistry } from './model/registry.js';
export { strategyRegistry } from './strategies/registry.js';
export { combineGradients } from './strategies/gradient/registry.js';
export { runTrainer, type TrainListener, type EpochRecord } from './train/trainer.js';
export { resolveRun, resolveRunsDir } from './runs/store.js';
export { MtlError, UsageError, RunFailedError, ExitCode } from './errors.js';
