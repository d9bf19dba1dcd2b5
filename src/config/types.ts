import type { TaskType } from '../data/types.js';
import type { LayerConfig } from '../model/layers/registry.js';
import type { AdversaryConfig } from '../adversarial/config.js';

/**
 * The fully resolved experiment config: what the schema accepted with every default filled in. This is the value a run
 * stores (`config.resolved.json`) and everything downstream reads; nothing downstream re-reads YAML.
 */
export interface ResolvedConfig {
  name: string;
  seed: number;
  /** Train once per seed, as a group (api/groups.ts); absent for a single run. Never written together with `seed`. */
  seeds?: number[];
  /**
   * The backend as written: a name (every run before issue #20 stores this), or `{ name, fma }` to also pin the matrix
   * product kernels; read it with `backendSetting` (config/backend-setting.ts).
   */
  backend: BackendChoice | BackendSetting;
  data: DataConfig;
  tasks: TaskConfig[];
  model: ModelConfig;
  training: TrainingConfig;
  strategy: StrategyConfig;
  /**
   * Reference runs trained after the multi-task run, in the same command (api/baselines.ts): one single-task run per
   * task, one run of unshared towers, or none. Absent in runs from before issue #15 (read as none).
   */
  baselines?: BaselineSetting;
  /** What training measures or trains for `mtl analyze` (issue #15); absent in runs from before it (the defaults). */
  analysis?: AnalysisConfig;
  /** Start from another run's weights (model-based transfer, issue #17); absent = fresh weights. */
  init?: InitConfig;
  /** Feature-adversarial training (issue #18; adversarial/config.ts); absent = none. */
  adversary?: AdversaryConfig;
  /** What the run writes besides its own files (issue #19); absent = the defaults (runs/tensorboard.ts). */
  logging?: LoggingConfig;
}

export interface LoggingConfig {
  /** TensorBoard event files under the run's `tensorboard/`; absent = on. */
  tensorboard?: boolean;
}

/**
 * Where a run's initial weights come from (api/init-weights.ts). `load` and `freeze` are parameter selectors
 * (model/parameter-groups.ts): `shared`, `heads`, `heads.<task>` or `<task>`, or a parameter-name prefix.
 */
export interface InitConfig {
  /** A run reference (id, prefix, path, sub-run), optionally with `:best` or `:last` (default best). */
  from: string;
  /** What to copy from the source checkpoint; default `[shared]`. */
  load: string[];
  /** Loaded parameters held fixed (all of them until `unfreeze_after` epochs, if given); default none. */
  freeze: string[];
  /** Train the frozen parameters from this epoch count on (absent: frozen for the whole run). */
  unfreeze_after?: number;
  /** The learning rate of the frozen parameters once unfrozen (default training.lr), under the same schedule. */
  unfrozen_lr?: number;
}

export type BaselineSetting = 'none' | 'single-task' | 'towers';

/** What training measures or trains for `mtl analyze` besides what the strategy logs. */
export interface AnalysisConfig {
  /**
   * Also train one run per pair of tasks (needs `baselines: single-task`), for the pairwise "does adding task j help
   * task i" gains in transfer.json.
   */
  pairs: boolean;
  /** Inter-task affinity (Fifty et al. 2021) at every `affinity_every`-th step (train/affinity.ts). */
  affinity: boolean;
  affinity_every: number;
  /**
   * The lookahead update Δ_i: `sgd` (default; absent = sgd) the paper's η∇L_i with the current learning rate;
   * `optimizer` the optimizer's next update for task i's gradient alone (train/affinity.ts says why it is not the
   * default).
   */
  affinity_lookahead?: 'optimizer' | 'sgd';
}

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
/**
 * Fused multiply-add kernels (issue #20) on the wasm backend: `auto` where the runtime has relaxed SIMD, `on` (an
 * error where it has not), `off` (the plain kernels). Not applicable to the other backends (ignored, recorded so).
 */
export type FmaChoice = 'auto' | 'on' | 'off';
export interface BackendSetting {
  name: BackendChoice;
  fma: FmaChoice;
}

export type MissingPolicy = 'error' | 'drop' | 'impute';
/**
 * What a row missing a task's label gets: `mask` (its loss for that task is masked out; the row is kept when at
 * least one task has its label) or `drop` (the row is left out, as before issue #17).
 */
export type MissingTargetPolicy = 'mask' | 'drop';
export type Normalisation = 'standard' | 'minmax' | 'none';

export interface DataConfig {
  /** A built-in dataset by name, or … */
  dataset?: string;
  /** … a CSV file (relative paths are resolved against the config file's folder). */
  csv?: string;
  /** Options of the built-in dataset, validated by its own schema. */
  options: Record<string, unknown>;
  /** Feature columns; omitted = every column that is neither a target nor the split column. */
  features?: string[];
  /**
   * Rows missing a value in any of these columns are left out too, whatever `missing` says. A single-task baseline
   * lists the other tasks' targets here, so it keeps exactly the rows of its multi-task run (rows missing a target
   * are always left out, so without it the baseline would keep rows the multi-task run dropped).
   */
  required_columns?: string[];
  /**
   * Under `missing_targets: mask`, a row is also kept when one of these columns has a value, though no task of this
   * config labels it. A single-task baseline lists the other tasks' targets here, so it keeps exactly the rows and the
   * split of its multi-task run (the rows its task does not label are then left out of each split after the split).
   */
  row_label_columns?: string[];
  /** Feature columns to one-hot encode even if they look numeric (text columns are always categorical). */
  categorical: string[];
  missing: MissingPolicy;
  /** Rows missing a task's label: masked for that task (default) or dropped. The features keep `missing`. */
  missing_targets: MissingTargetPolicy;
  split: SplitConfig;
  normalize: Normalisation;
  /** Domain-adversarial transfer (issue #18); absent = one domain. */
  domains?: DomainsConfig;
}

export type SplitConfig = { column: string } | { train: number; val: number; test: number };

/** The name of a registered loss (tasks/registry.ts: the built-in ones and any registered from user code). */
export type LossName = string;

export interface TaskConfig {
  name: string;
  type: TaskType;
  /** Target columns: one for multiclass/binary, one or more for regression (multi-output) and multilabel. */
  targets: string[];
  loss: LossName;
  metrics: string[];
  weight: number;
  /** Binary tasks: which label is the positive class (default: the larger one in sort order). */
  positive?: string;
  /**
   * Only the first N training rows labelled for this task keep its label (in the order of a permutation drawn from
   * the seed and the task's name); the others are masked for it. Validation and test rows are untouched.
   */
  max_train_rows?: number;
  /**
   * The task's own data source (multi-input MTL, data/multi-input.ts); absent = the top-level `data`. Tasks whose
   * sources are deep-equal share rows (one data group).
   */
  data?: DataConfig;
  /**
   * An adversarial task (issue #18, src/adversarial/): its head learns its target through a gradient reversal layer
   * on the shared representation, so the trunk receives −λ × its gradient. Not one of the strategy's tasks.
   */
  adversarial?: AdversarialConfig;
}

/** A gradient reversal weight: a constant, or the DANN schedule rising to `max` (adversarial/lambda-schedule.ts). */
export type LambdaConfig = number | { max: number; schedule: 'dann'; gamma?: number };

export interface AdversarialConfig {
  lambda: LambdaConfig;
}

/**
 * Domain-adversarial transfer (DANN, adversarial/domains.ts): rows marked by a domain column; a domain discriminator
 * (the adversarial task `domain`) learns the domain of every row behind the reversal layer.
 */
export interface DomainsConfig {
  column: string;
  /** The labelled domain(s). */
  source: string | string[];
  /** The domain to adapt to. */
  target: string;
  /** `none`: the target domain's training rows lose the main tasks' labels; `keep`: they keep what they have. */
  target_labels: 'none' | 'keep';
  lambda: LambdaConfig;
}

export type { Activation } from '../model/layers/activations.js';
export type { Padding, Size2D } from '../model/layers/window.js';
/** One layer of a trunk or head: the union of the built-in layer types' configs (model/layers/). */
export type { LayerConfig } from '../model/layers/registry.js';

export interface ModelConfig {
  architecture: string;
  /** Shared layers (hard sharing) or the per-task tower layers (architectures without a shared trunk). */
  trunk: LayerConfig[];
  /** Hidden layers of every task head, before its output layer. */
  head: LayerConfig[];
  /** Architecture-specific options, validated by the architecture's own schema entry. */
  [option: string]: unknown;
}

export type OptimizerName = 'sgd' | 'momentum' | 'adam' | 'adamw';

export type ScheduleConfig =
  | { type: 'constant' }
  | { type: 'step'; step_size: number; gamma: number }
  | { type: 'exponential'; gamma: number }
  | { type: 'cosine'; min_lr: number };

export interface EarlyStoppingConfig {
  /** `loss` (mean validation task loss), `<task>/<metric>` or `mean/<metric>`, on the validation split. */
  metric: string;
  /** Epochs without improvement before stopping; 0 disables early stopping (the best checkpoint is still kept). */
  patience: number;
  min_delta: number;
}

/**
 * A task's epoch training loss that is not finite ends the run as `diverged`; one above `factor` × the task's initial
 * loss (first batch, before any update) for `patience` epochs in a row does too. `factor: 0` checks non-finite only.
 */
export interface DivergenceConfig {
  factor: number;
  patience: number;
}

export interface TrainingConfig {
  optimizer: OptimizerName;
  lr: number;
  momentum: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weight_decay: number;
  schedule: ScheduleConfig;
  warmup_epochs: number;
  batch_size: number;
  epochs: number;
  /** Clip the global gradient norm to this value; 0 = off. */
  grad_clip_norm: number;
  early_stopping: EarlyStoppingConfig;
  /** When a run counts as diverged (train/divergence.ts). */
  divergence: DivergenceConfig;
  /** Batch size used for evaluation passes (does not change results, only memory). */
  eval_batch_size: number;
  /**
   * Also save the `last` checkpoint after every N-th step (mid-epoch), so a killed run loses at most N steps; 0 = only
   * at epoch ends and where the run is interrupted.
   */
  checkpoint_every_steps: number;
  /** How steps draw from several data sources (tasks with their own `data`); absent = each / largest. */
  multi_input?: MultiInputConfig;
}

/**
 * Multi-input batching (train/multi-input-batches.ts): `each` = one batch of every data group per step,
 * `proportional` = one batch of batch_size rows shared in proportion to the groups' sizes; the epoch shows the
 * largest group's rows once (`largest`), or is a fixed step count.
 */
export interface MultiInputConfig {
  sampling: 'each' | 'proportional';
  epoch: 'largest' | { steps: number };
  /** A dense input adapter per data source with another feature layout than the first's (model/input-adapters.ts). */
  adapters?: boolean;
}

export interface StrategyConfig {
  name: string;
  [option: string]: unknown;
}
