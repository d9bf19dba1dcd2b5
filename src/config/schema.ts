import { layerRegistry } from '../model/layers/registry.js';
import { BACKEND_NAMES, FMA_CHOICES } from './backend-setting.js';
import { architectureRegistry } from '../model/registry.js';
import { strategyRegistry } from '../strategies/registry.js';
import { metricRegistry } from '../metrics/registry.js';
import { lossRegistry, taskKindRegistry } from '../tasks/registry.js';

import { adversarialSchema, dataSchema, initSchema, loggingSchema, type JsonSchema } from './schema-sections.js';
import { adversarySchema } from '../adversarial/config.js';

export const SCHEMA_ID = 'https://mtl.dev/schema/experiment.schema.json';
const DEFAULT_ARCHITECTURE = 'hard-sharing';
const DEFAULT_STRATEGY = 'equal';

/**
 * A layer of a trunk or head: `type` is one of the registered layer types, and one branch per type checks that type's
 * options (with defaults), so a misspelled option is reported against that type's keys.
 */
function layerSchema(): JsonSchema {
  const common: Record<string, JsonSchema> = { type: { enum: layerRegistry.names() } };
  return {
    type: 'object',
    required: ['type'],
    properties: common,
    allOf: discriminated('type', common, layerRegistry.values()),
  };
}

/**
 * One `if name == X then X's own properties` branch per registered method, so each method's options are checked
 * (with defaults) and a misspelled option is reported against that method's keys. The default method's branch also
 * applies when `key` is absent, so a section that leaves the method to its default still refuses unknown keys.
 */
function discriminated(
  key: string,
  common: Record<string, JsonSchema>,
  entries: Iterable<{
    name: string;
    optionsSchema: Record<string, Record<string, unknown>>;
    required?: readonly string[];
  }>,
  defaultName?: string,
): JsonSchema[] {
  return [...entries].map((entry) => ({
    if: { properties: { [key]: { const: entry.name } }, ...(entry.name === defaultName ? {} : { required: [key] }) },
    then: {
      ...(entry.required?.length ? { required: [...entry.required] } : {}),
      properties: { ...Object.fromEntries(Object.keys(common).map((k) => [k, {}])), ...entry.optionsSchema },
      additionalProperties: false,
    },
  }));
}

/** `backend`: a name (as before issue #20), or `{ name, fma }` (config/backend-setting.ts fills what is left out). */
function backendSchema(): JsonSchema {
  return {
    default: 'auto',
    description:
      'The TF.js backend, or { name, fma }: fma (auto|on|off) picks fused multiply-add matrix kernels on wasm.',
    oneOf: [
      { enum: [...BACKEND_NAMES] },
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          name: { enum: [...BACKEND_NAMES], description: 'auto (default): tensorflow, else wasm, else cpu.' },
          fma: {
            enum: [...FMA_CHOICES],
            description:
              'auto (default): fused multiply-add kernels where the runtime has WebAssembly relaxed SIMD; on: ' +
              'required (else an error); off: the plain kernels. wasm only; ignored on the other backends.',
          },
        },
      },
    ],
  };
}

/**
 * The experiment schema, assembled from the registries (the shipped schema/experiment.schema.json is this, written
 * out).
 */
export function buildExperimentSchema(): JsonSchema {
  const metricNames = [...metricRegistry.keys()];
  const modelCommon: Record<string, JsonSchema> = {
    architecture: { enum: [...architectureRegistry.keys()], default: DEFAULT_ARCHITECTURE },
    trunk: {
      type: 'array',
      items: { $ref: '#/definitions/layer' },
      description: 'Shared layers (or each task tower, for architectures without a shared trunk).',
      default: [{ type: 'dense', units: 64, activation: 'relu' }],
    },
    head: {
      type: 'array',
      items: { $ref: '#/definitions/layer' },
      description: 'Hidden layers of each task head, before its output layer.',
      default: [],
    },
  };
  const strategyCommon: Record<string, JsonSchema> = {
    name: { enum: [...strategyRegistry.keys()], default: DEFAULT_STRATEGY },
  };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: SCHEMA_ID,
    title: 'mtl experiment',
    type: 'object',
    required: ['data', 'tasks'],
    additionalProperties: false,
    definitions: { layer: layerSchema() },
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9._-]+$', default: 'experiment', description: 'Used in the run id.' },
      seed: { type: 'integer', minimum: 0, default: 0 },
      seeds: {
        type: 'array',
        items: { type: 'integer', minimum: 0 },
        minItems: 1,
        uniqueItems: true,
        description:
          'Train the config once per seed, as a group of runs (as `mtl train --seeds 0,1,2`); not with seed.',
      },
      backend: backendSchema(),
      data: dataSchema(),
      tasks: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['name', 'type'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
            type: { enum: taskKindRegistry.names() },
            target: { type: 'string', description: 'Target column (default: the task name).' },
            targets: { type: 'array', items: { type: 'string' }, minItems: 1, uniqueItems: true },
            loss: { enum: lossRegistry.names() },
            metrics: { type: 'array', items: { enum: metricNames }, uniqueItems: true },
            weight: { type: 'number', minimum: 0, default: 1 },
            positive: { type: 'string', description: 'Binary tasks: the label of the positive class.' },
            data: {
              ...dataSchema(),
              description:
                "The task's own data source (multi-input MTL): same fields as data. Tasks with the same source share " +
                'rows; each source is split and preprocessed on its own.',
            },
            adversarial: adversarialSchema(),
            max_train_rows: {
              type: 'integer',
              minimum: 1,
              description:
                "Only this many training rows (the first in a seeded order) keep this task's label; the others are " +
                'masked for it. Needs data.missing_targets: mask.',
            },
          },
        },
      },
      model: {
        type: 'object',
        default: {},
        properties: modelCommon,
        allOf: discriminated('architecture', modelCommon, architectureRegistry.values(), DEFAULT_ARCHITECTURE),
      },
      training: {
        type: 'object',
        default: {},
        additionalProperties: false,
        properties: {
          optimizer: { enum: ['sgd', 'momentum', 'adam', 'adamw'], default: 'adam' },
          lr: { type: 'number', exclusiveMinimum: 0, default: 0.001 },
          momentum: { type: 'number', minimum: 0, maximum: 1, default: 0.9 },
          beta1: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.9 },
          beta2: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.999 },
          epsilon: { type: 'number', exclusiveMinimum: 0, default: 1e-7 },
          weight_decay: { type: 'number', minimum: 0, default: 0 },
          schedule: {
            type: 'object',
            default: { type: 'constant' },
            required: ['type'],
            properties: { type: { enum: ['constant', 'step', 'exponential', 'cosine'] } },
            allOf: [
              {
                if: { properties: { type: { const: 'constant' } } },
                then: { properties: { type: {} }, additionalProperties: false },
              },
              {
                if: { properties: { type: { const: 'step' } } },
                then: {
                  properties: {
                    type: {},
                    step_size: { type: 'integer', minimum: 1, default: 10 },
                    gamma: { type: 'number', exclusiveMinimum: 0, default: 0.5 },
                  },
                  additionalProperties: false,
                },
              },
              {
                if: { properties: { type: { const: 'exponential' } } },
                then: {
                  properties: { type: {}, gamma: { type: 'number', exclusiveMinimum: 0, default: 0.95 } },
                  additionalProperties: false,
                },
              },
              {
                if: { properties: { type: { const: 'cosine' } } },
                then: {
                  properties: { type: {}, min_lr: { type: 'number', minimum: 0, default: 0 } },
                  additionalProperties: false,
                },
              },
            ],
          },
          warmup_epochs: { type: 'integer', minimum: 0, default: 0 },
          batch_size: { type: 'integer', minimum: 1, default: 64 },
          epochs: { type: 'integer', minimum: 1, default: 20 },
          grad_clip_norm: { type: 'number', minimum: 0, default: 0 },
          early_stopping: {
            type: 'object',
            default: {},
            additionalProperties: false,
            properties: {
              metric: {
                type: 'string',
                default: 'loss',
                description: 'loss, <task>/<metric> or mean/<metric> on val.',
              },
              patience: { type: 'integer', minimum: 0, default: 0 },
              min_delta: { type: 'number', minimum: 0, default: 0 },
            },
          },
          divergence: {
            type: 'object',
            default: {},
            additionalProperties: false,
            description:
              'A non-finite task loss, or one above factor × its initial loss for patience epochs, diverges.',
            properties: {
              factor: { type: 'number', minimum: 0, default: 100, description: '0: only non-finite losses diverge.' },
              patience: { type: 'integer', minimum: 1, default: 1 },
            },
          },
          eval_batch_size: { type: 'integer', minimum: 1, default: 1024 },
          checkpoint_every_steps: {
            type: 'integer',
            minimum: 0,
            default: 0,
            description:
              'Also save the `last` checkpoint after every N-th training step (what a killed run loses is at most N ' +
              "steps); 0: only at the end of an epoch (at most once a second, and always at the run's last epoch) " +
              'and where the run is interrupted.',
          },
          multi_input: {
            type: 'object',
            additionalProperties: false,
            description:
              'Tasks with their own data: each step draws one batch from each data source (sampling: each) or one ' +
              'batch shared in proportion to their sizes (proportional); an epoch shows the largest source once ' +
              '(epoch: largest) or is { steps: N }.',
            properties: {
              adapters: {
                type: 'boolean',
                description:
                  'A learned dense input adapter (width of the source → width of the first source) for each data ' +
                  "source whose features are encoded with another layout than the first source's; default false.",
              },
              sampling: { enum: ['each', 'proportional'], default: 'each' },
              epoch: {
                default: 'largest',
                oneOf: [
                  { enum: ['largest'] },
                  {
                    type: 'object',
                    required: ['steps'],
                    additionalProperties: false,
                    properties: { steps: { type: 'integer', minimum: 1 } },
                  },
                ],
              },
            },
          },
        },
      },
      strategy: {
        type: 'object',
        default: {},
        properties: strategyCommon,
        allOf: discriminated('name', strategyCommon, strategyRegistry.values(), DEFAULT_STRATEGY),
      },
      baselines: {
        enum: ['none', 'single-task', 'towers'],
        default: 'none',
        description:
          'After the multi-task run, in the same command: one single-task run per task (same trunk, head, inputs, ' +
          "budget, seed and split) or one run of unshared towers, stored under the run's baselines/; the run " +
          'gets transfer.json (MTL vs baseline per task, relative gain, Δm).',
      },
      analysis: {
        type: 'object',
        default: {},
        additionalProperties: false,
        description: 'What training measures for `mtl analyze` besides what the strategy logs.',
        properties: {
          affinity: {
            type: 'boolean',
            default: false,
            description:
              "Inter-task affinity (Fifty et al. 2021): the lookahead effect of each task's update of the shared " +
              "parameters on every task's loss, logged per epoch (T extra backward and T+1 forward passes per " +
              'measured step).',
          },
          affinity_every: {
            type: 'integer',
            minimum: 1,
            default: 1,
            description: "Measure affinity at every N-th training step (1: every step, as the authors' code does).",
          },
          affinity_lookahead: {
            enum: ['sgd', 'optimizer'],
            default: 'sgd',
            description:
              "The lookahead update of a task: the paper's step lr·gradient (sgd; what the authors' code does in " +
              "effect), or the optimizer's next update for that gradient alone (momentum, Adam moments included).",
          },
          pairs: {
            type: 'boolean',
            default: false,
            description:
              'Also train one run per pair of tasks (needs baselines: single-task): transfer.json then has the ' +
              'gain of task i from adding task j, for every pair.',
          },
        },
      },
      init: initSchema(),
      logging: loggingSchema(),
      adversary: adversarySchema(),
    },
  };
}
