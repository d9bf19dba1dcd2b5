/**
 * The values the relatedness and transfer analyses exchange (issue #15). Producers: api/baselines (transfer.json of a
 * run with single-task baselines), api/groups (a seed group's summary), train/ (gradient conflicts and inter-task
 * affinity logged per epoch), analysis/gradient-pass (gradients measured from a checkpoint). Consumer: `mtl analyze`.
 */

/** Which single-task reference a run is compared with: one run per task, or one run of unshared towers. */
export type BaselineKind = 'single-task' | 'towers';

/** One metric of one task, MTL against its single-task baseline, on one split. */
export interface MetricTransfer {
  /** `<task>/<metric>`, as in summary.json. */
  key: string;
  metric: string;
  higherIsBetter: boolean;
  mtl: number;
  single: number;
  /** Signed relative change of MTL over the baseline (positive = MTL better): Δm's term for this metric. */
  relativeGain: number | null;
}

export interface TaskTransfer {
  task: string;
  metrics: MetricTransfer[];
  /** Mean over the task's metrics of the signed relative gain (Δm's per-task term); null where undefined. */
  gain: number | null;
  /** Did MTL hurt the task (analysis/transfer.ts `singleSeedVerdict`); absent where the gain is undefined. */
  verdict?: TransferVerdict;
}

/** `transfer.json` of a run trained with `baselines:`: did MTL help, per task, on one split. */
export interface TransferReport {
  baseline: BaselineKind;
  split: 'test' | 'val';
  tasks: TaskTransfer[];
  /** Δm of the MTL run against the baseline (mean of the tasks' gains). */
  deltaM: number | null;
  /** The baseline runs, relative to the MTL run's folder (`baselines/<task>` or `baselines/towers`). */
  baselineRuns: Record<string, string>;
  /** How `verdict` is decided, in words. */
  verdictRule?: string;
  /** With `analysis.pairs: true`: what adding one task does to another (analysis/transfer.ts `pairGains`). */
  pairs?: PairTransfer;
}

/**
 * Pairwise transfer: `gains['j>i']` is the effect OF task j ON task i, Δm's per-task term of task i in the run of
 * {i, j} over task i's single-task run (positive: learning j alongside helped i). Keyed `from>to` like
 * {@link AffinityMeasurement}.
 */
export interface PairTransfer {
  gains: PairValues;
  /** The pair runs by `a+b` (task order), relative to the MTL run's folder (`pairs/a+b`), or `.` for the run itself. */
  runs: Record<string, string>;
  /** Why a pair's gain is missing (a metric not finite, a baseline of 0), by key. */
  undefinedGains?: Record<string, string>;
  /** What a gain is, in words. */
  rule?: string;
}

/** Mean and sample standard deviation over seeds (std is NaN with one seed). */
export interface SeedStatistic {
  mean: number;
  std: number;
  n: number;
}

/** Whether MTL hurt a task: the rule is in {@link NEGATIVE_TRANSFER_RULE}. */
export type TransferVerdict = 'negative-transfer' | 'negative-transfer-unconfirmed' | 'positive' | 'no-difference';

/** Per-pair values keyed `a|b` (symmetric measures, a before b in task order) or `a>b` (from a to b). */
export type PairValues = Record<string, number>;

/** Gradient relatedness of a run: mean cosine of task gradients and the fraction of steps in conflict (cos < 0). */
export interface GradientRelatedness {
  /** `training-log`: what the strategy logged every step; `checkpoint-pass`: one pass over the training batches. */
  source: 'training-log' | 'checkpoint-pass';
  /** On what the gradients were taken: `parameters` (shared variables) or `representation`. */
  target: 'parameters' | 'representation';
  /** The checkpoint measured (checkpoint-pass only). */
  checkpoint?: 'best' | 'last';
  steps: number;
  meanCosine: PairValues;
  conflictFraction: PairValues;
  /** training-log only: per epoch. */
  perEpoch?: { epoch: number; meanCosine: PairValues; conflictFraction?: PairValues }[];
}

/**
 * Inter-task affinity (Fifty et al. 2021, "Efficiently Identifying Task Groupings for Multi-Task Learning"):
 * Z_{i→j} = 1 − L_j(θ_s − η∇_{θ_s}L_i, θ_j) / L_j(θ_s, θ_j), averaged over the measured steps. Keyed `i>j`.
 */
export interface AffinityMeasurement {
  steps: number;
  everySteps: number;
  affinity: PairValues;
  perEpoch: { epoch: number; affinity: PairValues }[];
}

/** Model-based relatedness: the tasks' own parameters and their outputs on validation data, by linear CKA. */
export interface ModelRelatedness {
  checkpoint: 'best' | 'last';
  epoch: number;
  /**
   * Per layer of task-specific weights (the k-th kernel of each task, in variable order; `tasks/*\/output/kernel`),
   * linear CKA between two tasks' kernels read as [inputs × units] matrices; pairs whose kernels have different
   * input sizes are left out.
   */
  parameters: { layer: string; cka: PairValues }[];
  /** What stands for a task's representation (stated in the report). */
  representation: string;
  /** Linear CKA between the tasks' representations on the validation split, keyed `a|b`. */
  representationCka: PairValues;
  rows: number;
}

/** Data-based relatedness of the task targets on the training split (analysis/target-relatedness.ts). */
export interface DataRelatedness {
  split: 'train';
  rows: number;
  /** Pearson r, correlation ratio η or Cramér's V by the kinds of the targets: `measure` says which. */
  association: PairValues;
  measure: Record<string, string>;
  /** Miller–Madow corrected, in nats, and normalised (NMI). */
  mutualInformation: PairValues;
  normalisedMutualInformation: PairValues;
  /**
   * Where some task lacks labels (masked labels, tasks with their own data): the rows each pair was measured on, those
   * both tasks label. A pair with fewer than two such rows (tasks of different data sources share none) has no
   * values above. Absent when every task labels every row.
   */
  pairRows?: PairValues;
}

/** The suggested grouping and the matrix it came from (analysis/grouping.ts states the rule). */
export interface GroupingSuggestion {
  source: 'affinity' | 'gradient-cosine';
  groups: string[][];
  score: number;
  search: 'exhaustive' | 'greedy';
  /**
   * Warned pairs (`warnings`) that the score alone would have put in one group: the groups keep them apart. Absent
   * in reports written before groups respected the warnings.
   */
  keptApart?: [string, string][];
  rule: string;
}

export interface PairWarning {
  tasks: [string, string];
  reason: string;
}

/** `analysis.json`: what `mtl analyze` measured; a measure it could not take is null, with why in `unavailable`. */
export interface AnalysisReport {
  run: string;
  createdAt: string;
  tasks: string[];
  gradient: GradientRelatedness | null;
  affinity: AffinityMeasurement | null;
  performance: TransferReport | null;
  model: ModelRelatedness | null;
  data: DataRelatedness | null;
  grouping: GroupingSuggestion | null;
  warnings: PairWarning[];
  /** Why a measure is null, keyed by its field. */
  unavailable: Partial<Record<'gradient' | 'affinity' | 'performance' | 'model' | 'data' | 'grouping', string>>;
  /** The rules the measures follow, in words, so the JSON stands on its own. */
  rules: Record<string, string>;
}
