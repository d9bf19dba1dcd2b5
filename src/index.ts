/**
 * The library API of mtl. The CLI is a thin shell over these functions; tests and users import them directly.
 */
export { loadConfig, parseConfigText, parseOverride, type LoadedConfig } from './config/load.js';
export { buildExperimentSchema } from './config/schema.js';
export type * from './config/types.js';
export { trainExperiment, type RunHandle, type TrainOptions } from './api/train.js';
export { resumeExperiment, type ResumeOptions } from './api/resume.js';
export {
  resumeWithBaselines,
  trainWithBaselines,
  type BaselineTrainOptions,
  type SubRunEvent,
  type TrainedWithBaselines,
} from './api/baselines.js';
export { planSubRuns, NEEDS_SEVERAL_TASKS, type SubRunKind, type SubRunPlan } from './api/baseline-configs.js';
export {
  compareWithBaseline,
  type BaselineComparison,
  type BaselineCompareOptions,
} from './api/compare-baseline.js';
export {
  transferReport,
  pairGains,
  singleSeedVerdict,
  taskMetricKeys,
  SINGLE_SEED_VERDICT_RULE,
  PAIR_GAIN_RULE,
  type PairRun,
  type SplitMetrics,
  type TransferInput,
} from './analysis/transfer.js';
export type * from './analysis/types.js';
export { validateData, type ValidateOptions } from './api/validate.js';
export { evaluateRun, readRun, type EvaluateOptions, type StoredRun } from './api/evaluate.js';
export {
  compareRuns,
  type Comparison,
  type ComparedRun,
  type ComparisonRow,
  type CompareOptions,
} from './api/compare.js';
export {
  compareSweep,
  MAIN_METRIC_RULE,
  type CompareSweepOptions,
  type SweepComparison,
  type SweepComparisonRow,
  type SweepMetricColumn,
} from './api/compare-sweep.js';
export type { SweepBaseline } from './api/compare-sweep-baseline.js';
export { dominates, paretoOptimal, PARETO_RULE } from './analysis/pareto.js';
export {
  listRuns,
  listRunEntries,
  listGroups,
  listGroupMembers,
  listGroupMemberEntries,
  type RunListing,
  type DamagedRunListing,
  type GroupListing,
} from './api/runs.js';
export {
  trainSeedGroup,
  summarizeSeedGroup,
  withSeed,
  type GroupHandle,
  type MemberResumer,
  type MemberTrainer,
  type SeedGroupOptions,
  type SeedGroupResult,
} from './api/groups.js';
export { resumeSeedGroup, type SeedGroupResumeOptions } from './api/group-resume.js';
export {
  compareGroups,
  isGroupReference,
  type CompareGroupsOptions,
  type GroupComparison,
  type GroupComparisonRow,
  type GroupDeltaM,
} from './api/compare-groups.js';
export { gateGroupComparison, gateRunComparison } from './api/compare-gate.js';
export {
  evaluateGate,
  parseConfidence,
  parseThreshold,
  parseTolerance,
  REGRESSION_RULE,
  THRESHOLD_RULE,
  type GateCheck,
  type GateInput,
  type GateMetric,
  type GateOptions,
  type GateReport,
  type RegressionCheck,
  type Significance,
  type Threshold,
  type ThresholdCheck,
} from './analysis/gate.js';
export {
  BOOTSTRAP_METHOD,
  BOOTSTRAP_RESAMPLES,
  pairedBootstrapInterval,
  type BootstrapInterval,
} from './analysis/bootstrap.js';
export {
  summarizeGroup,
  type GroupMemberResult,
  type GroupSummary,
  type GroupTransferSummary,
  type GroupTaskTransfer,
  type SeedSeries,
} from './analysis/group-summary.js';
export {
  NEGATIVE_TRANSFER_RULE,
  pairedTTest,
  seedStatistic,
  transferVerdict,
  type PairedTTest,
} from './analysis/seed-statistics.js';
export type * from './analysis/types.js';
export {
  readGroupMeta,
  resolveGroup,
  listGroupIds,
  GROUP_FILES,
  type GroupMeta,
  type GroupMember,
  type GroupStatus,
} from './runs/groups.js';
export {
  planSweep,
  runSweep,
  shardTrials,
  type PlannedTrial,
  type Shard,
  type SweepOptions,
  type SweepPlan,
  type SweepResult,
  type TrialAction,
  type TrialOutcome,
} from './api/sweep.js';
export {
  sweepStatus,
  resolveSweep,
  BEST_TRIAL_RULE,
  type SweepStatus,
  type SweepTrialView,
} from './api/sweep-status.js';
export { loadSweepSpec, parseSweepText, SWEEP_SCHEMA, type SweepSpec, type SpaceDomain } from './sweep/spec.js';
export { emitJobs, EMIT_FORMS, type EmitForm, type EmitRequest } from './sweep/emit.js';
export { extendExperiment } from './api/extend.js';
export { mergeRuns, type MergeOptions, type MergeReport } from './api/merge.js';
export { writeReport, type ReportOptions, type ReportResult } from './api/report.js';
export { expandTrials, type TrialPlan } from './sweep/expand.js';
export { canonicalJson, trialHash, sweepId } from './sweep/hash.js';
export {
  readSweepMeta,
  findSweep,
  listSweepIds,
  TRIAL_STATUSES,
  type SweepMeta,
  type SweepTrialRecord,
  type TrialStatus,
} from './runs/sweeps.js';
export { studentTTwoSidedP, regularizedIncompleteBeta } from './numerics/student-t.js';
export { analyzeRun, ANALYSIS_RULES, type AnalyzeOptions } from './api/analyze.js';
export { readAnalysisIfAny } from './runs/analysis.js';
export { linearCka, type RowMatrix } from './analysis/cka.js';
export { mutualInformation, targetPair, type TargetColumn } from './analysis/target-relatedness.js';
export { suggestGrouping, harmfulByAffinity, harmfulByGradients } from './analysis/grouping.js';
export { buildModel, countParameters } from './api/build.js';
export { initBackend, probeBackends, type BackendReport, type FmaReport } from './backend/select.js';
export { prepareData, loadTable, type PreparedData } from './data/prepare.js';
export { readCsv } from './data/csv.js';
export type { ColumnReport, DataReport } from './data/report.js';
export { MIN_EVAL_ROWS, MIN_TRAIN_ROWS } from './data/split-sizes.js';
export { builtinDatasets, getBuiltinDataset } from './data/builtin/index.js';
export type { BuiltinDataset, Column, DataTable, TaskType } from './data/types.js';
export { cellText, columnOf, isMissing, numericCells, sortLabels } from './data/columns.js';
export { taskKindRegistry, lossRegistry, allowedLosses, applicableMetrics, kindOf } from './tasks/registry.js';
export type * from './tasks/types.js';
export { metricRegistry, computeMetrics, getMetric } from './metrics/registry.js';
export {
  deltaM,
  deltaMBreakdown,
  relativeImprovement,
  DELTA_M_DEFINITION,
  type DeltaMTerm,
  type DeltaMBreakdown,
} from './metrics/aggregate.js';
export { higherIsBetter } from './metrics/direction.js';
export type { MetricDefinition, MetricValues, PredictionLayout, TaskPredictions } from './metrics/types.js';
export { architectureRegistry } from './model/registry.js';
export { layerRegistry, registerLayer } from './model/layers/registry.js';
export { glorotUniform, makeVariable } from './model/layers/initialisers.js';
export type {
  Layer,
  LayerBuildContext,
  LayerConfigBase,
  LayerDefinition,
  ShapeContext,
  ShapeKind,
  ShapeOutcome,
} from './model/layers/types.js';
export type { StepClock } from './model/step-clock.js';
export { strategyRegistry } from './strategies/registry.js';
export { combineGradients } from './strategies/gradient/registry.js';
export { runTrainer, type TrainListener } from './train/trainer.js';
export { trainingStep, clipByGlobalNorm, type Batch, type StepGradients } from './train/step.js';
export { resolveRun, resolveRunsDir, openRun, listRunIds, subRunsOf } from './runs/store.js';
export { readTransferIfAny } from './runs/transfer.js';
export { readMeta, RUN_FORMAT, type RunMeta, type StoredRunMeta, type RunStatus } from './runs/meta.js';
export { readSummary, readSummaryIfAny, type RunSummary } from './runs/summary.js';
export { readResolvedConfig, readConfigSource } from './runs/inputs.js';
export { readPreprocessing } from './runs/preprocessing-file.js';
export { readMetricRows, readEpochLog } from './runs/logs.js';
export { readEvaluations, type EvaluationResult } from './runs/evals.js';
export {
  acquireRunLock,
  readRunLock,
  withRunLock,
  RunBusyError,
  DEFAULT_LOCK_TIMEOUT_S,
  type RunLock,
  type RunLockHolder,
  type RunLockOptions,
} from './runs/lock.js';
export { readCheckpointJson, type CheckpointMetadata } from './runs/checkpoint.js';
export type { EpochRecord, EpochLogEntry, MetricRow } from './runs/records.js';
export { MtlError, UsageError, RunFailedError, ExitCode } from './errors.js';
export { initialiseFromSource } from './api/init-weights.js';
export { parameterInventory, selectParameters, type ParameterInfo } from './model/parameter-groups.js';
export { readCheckpointWeights, type CheckpointWeights } from './runs/checkpoint.js';
export type { RunLineage } from './runs/meta.js';
export { extractFeatures, featureLayers, type FeaturesOptions, type FeatureTable } from './api/features.js';
