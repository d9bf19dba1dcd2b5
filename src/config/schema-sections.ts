import { lambdaOptionSchema } from '../adversarial/lambda-option.js';
/** Sections of the experiment schema (config/schema.ts) that stand on their own: a data source, `init:`, `logging:`. */
export type JsonSchema = Record<string, unknown>;

/**
 * The schema of a data source: the top-level `data` and a task's own `tasks[].data` (multi-input MTL, issue #17;
 * data/multi-input.ts). A function, so each use gets its own object (ajv fills defaults in place).
 */
export function dataSchema(): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      dataset: { type: 'string', description: 'A built-in dataset (see `mtl datasets`).' },
      csv: { type: 'string', description: 'A CSV file with a header row, relative to the config file.' },
      options: { type: 'object', default: {}, description: 'Options of the built-in dataset.' },
      features: { type: 'array', items: { type: 'string' }, minItems: 1, uniqueItems: true },
      required_columns: {
        type: 'array',
        items: { type: 'string' },
        uniqueItems: true,
        description:
          'Also leave out rows missing a value in any of these columns (whatever data.missing says); single-task ' +
          "baselines list the other tasks' targets, to keep the rows of their multi-task run.",
      },
      row_label_columns: {
        type: 'array',
        items: { type: 'string' },
        uniqueItems: true,
        description:
          'Under missing_targets: mask, also keep rows that have a value in one of these columns; single-task ' +
          "baselines list the other tasks' targets, to keep the rows and split of their multi-task run.",
      },
      categorical: { type: 'array', items: { type: 'string' }, uniqueItems: true, default: [] },
      missing: { enum: ['error', 'drop', 'impute'], default: 'error' },
      missing_targets: {
        enum: ['mask', 'drop'],
        default: 'mask',
        description:
          "A row missing a task's label: mask (kept; that task's loss and metrics leave it out) or drop " +
          '(left out).',
      },
      split: {
        type: 'object',
        default: { train: 0.7, val: 0.15, test: 0.15 },
        oneOf: [
          {
            required: ['column'],
            properties: { column: { type: 'string' } },
            additionalProperties: false,
          },
          {
            required: ['train', 'val', 'test'],
            properties: {
              train: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
              val: { type: 'number', minimum: 0, maximum: 1 },
              test: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
            },
            additionalProperties: false,
          },
        ],
      },
      normalize: { enum: ['standard', 'minmax', 'none'], default: 'standard' },
      domains: domainsSchema(),
    },
    oneOf: [{ required: ['dataset'] }, { required: ['csv'] }],
  };
}

/** `init:`, model-based transfer from another run's checkpoint (api/init-weights.ts, model/parameter-groups.ts). */
export function initSchema(): JsonSchema {
  const selectors = (description: string, fallback: string[]): JsonSchema => ({
    type: 'array',
    items: { type: 'string', minLength: 1 },
    uniqueItems: true,
    default: fallback,
    description,
  });
  return {
    type: 'object',
    required: ['from'],
    additionalProperties: false,
    description: "Start from another run's weights (model-based transfer).",
    properties: {
      from: {
        type: 'string',
        minLength: 1,
        description: 'The source run (id, prefix, path or sub-run), optionally RUN:best or RUN:last (default best).',
      },
      load: {
        ...selectors(
          'Parameters copied from the source: shared (the trunk), heads (the heads of tasks both runs have), ' +
            'heads.<task> or <task>, or a parameter-name prefix such as shared/0.',
          ['shared'],
        ),
        // Loading nothing would record a source the run never read (its lineage): leave init out instead.
        minItems: 1,
      },
      freeze: selectors('Loaded parameters held fixed (same selectors as load).', []),
      unfreeze_after: {
        type: 'integer',
        minimum: 1,
        description: 'Train the frozen parameters after this many epochs (absent: frozen for the whole run).',
      },
      unfrozen_lr: {
        type: 'number',
        exclusiveMinimum: 0,
        description:
          "Learning rate of the frozen parameters once unfrozen (default training.lr), on training's schedule.",
      },
    },
  };
}

/**
 * What a run writes besides its own files (issue #19). No default for the section itself: a config that does not
 * mention it resolves without it (and so keeps its sweep trial hash), and absent means on.
 */
export function loggingSchema(): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    description: 'What a run writes besides its own files.',
    properties: {
      tensorboard: {
        type: 'boolean',
        default: true,
        description:
          "TensorBoard event files under the run's tensorboard/ (one folder per split: losses, validation and test " +
          'metrics, task weights, gradient cosines), for `tensorboard --logdir runs/`. On unless false.',
      },
    },
  };
}

/**
 * A gradient reversal weight λ (adversarial/lambda-schedule.ts): a number (constant), or the DANN schedule
 * `{ max, schedule: dann, gamma }`. λ < 0 is refused by semantics (adversarial/rules.ts), with a message.
 */
export function lambdaSchema(defaultValue?: unknown): JsonSchema {
  return lambdaOptionSchema(defaultValue === undefined ? {} : { default: defaultValue });
}

/** `tasks[].adversarial`: the task is learned behind a gradient reversal layer (adversarial/adversary-heads.ts). */
export function adversarialSchema(): JsonSchema {
  return {
    type: 'object',
    required: ['lambda'],
    additionalProperties: false,
    description:
      'An adversarial task: its head learns its target while the shared trunk receives −λ × its gradient. Not one ' +
      "of the strategy's tasks.",
    properties: { lambda: lambdaSchema() },
  };
}

/** `data.domains`: domain-adversarial transfer (DANN, adversarial/domains.ts). */
function domainsSchema(): JsonSchema {
  return {
    type: 'object',
    required: ['column', 'source', 'target'],
    additionalProperties: false,
    description:
      'Domain-adversarial transfer (DANN): rows marked by a domain column; a domain discriminator named "domain" ' +
      "learns every row's domain behind a gradient reversal layer.",
    properties: {
      column: { type: 'string', description: "The column that holds each row's domain." },
      source: {
        description: 'The labelled domain value(s).',
        oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1, uniqueItems: true }],
      },
      target: { type: 'string', description: 'The domain value to adapt to.' },
      target_labels: {
        enum: ['none', 'keep'],
        default: 'none',
        description:
          "none: the target domain's training rows lose the main tasks' labels (unlabelled target); keep: they " +
          'keep the labels they have (sparsely labelled: with missing cells or max_train_rows).',
      },
      lambda: lambdaSchema({ max: 1, schedule: 'dann', gamma: 10 }),
    },
  };
}
