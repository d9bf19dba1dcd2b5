/**
 * The `adversary:` section (issue #18, feature-adversarial training; adversarial/feature-adversary.ts): its type,
 * its schema and the rules the schema cannot say.
 *
 * Rules (also in docs/notes/adv-disc.md):
 * - The discriminator reads the model's shared representation (`features: shared`, the architecture's encode): an
 *   architecture without one (soft-sharing, shared-private, …) is refused.
 * - `real` is a prior (`{ prior: normal }`), one task's rows (`{ task: A }`) or a domain's (`{ domain: X }`); `fake`
 *   is the features of the rows the generator moves: all rows (`{ rows: all }`), one task's or one domain's. A prior
 *   on the fake side, or `{ rows: all }` on the real side, is refused (nothing would move, or nothing would differ).
 * - `{ task: X }` names a task of the config and needs a multi-input run (tasks with their own `data`): with one input
 *   per row every task's rows are the same rows. The real and fake tasks must read different data.
 * - `{ domain: X }` needs `data.domains` (the DANN part of #18): refused until that part is wired in.
 * - shared–private's `model.task_discriminator` predicts whose data a row came from, so it needs a multi-input run
 *   (at least two data sources): with one input per row every row belongs to every task and there is nothing to tell
 *   apart. Refused, not warned: the run would train a discriminator on a constant target.
 */
import { sourceDomains } from './domains.js';
import type { ConfigProblem } from '../config/errors.js';
import type { ResolvedConfig } from '../config/types.js';
import { dataGroups } from '../data/data-groups.js';
import { suggest } from '../util/suggest.js';

export type AdversarySelection = { prior: 'normal' } | { rows: 'all' } | { task: string } | { domain: string };

export interface AdversaryConfig {
  type: 'discriminator';
  /** The key of its per-epoch record (`adversaries[<name>]` in epochs.jsonl). */
  name: string;
  features: 'shared';
  real: AdversarySelection;
  fake: AdversarySelection;
  /** Hidden layer widths of the discriminator (relu), then one logit. */
  hidden: number[];
  /** Discriminator steps per model step (k of Goodfellow et al.'s Algorithm 1). */
  steps: number;
  lr: number;
  optimizer: 'sgd' | 'momentum' | 'adam' | 'adamw';
  /** w: the model's loss gets w × the non-saturating generator loss. */
  weight: number;
}

type JsonSchema = Record<string, unknown>;

function selectionSchema(fallback: AdversarySelection, description: string): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    default: fallback,
    description,
    properties: {
      prior: { enum: ['normal'], description: 'Samples of N(0, I) of the feature width (real side only).' },
      rows: { enum: ['all'], description: "Every row's features (fake side only)." },
      task: { type: 'string', minLength: 1, description: "The features of one task's rows (multi-input runs)." },
      domain: { type: 'string', minLength: 1, description: "The features of one domain's rows (data.domains)." },
    },
  };
}

export function adversarySchema(): JsonSchema {
  return {
    type: 'object',
    required: ['type'],
    additionalProperties: false,
    description:
      'Feature-adversarial training (Goodfellow et al. 2014): a discriminator on the shared features with its own ' +
      'optimizer, trained in alternating steps; the model adds weight × the non-saturating generator loss.',
    properties: {
      type: { enum: ['discriminator'] },
      name: { type: 'string', minLength: 1, default: 'feature-discriminator' },
      features: { enum: ['shared'], default: 'shared', description: "The model's shared representation." },
      real: selectionSchema({ prior: 'normal' }, 'What the discriminator learns to call real.'),
      fake: selectionSchema({ rows: 'all' }, 'The features the discriminator learns to call fake.'),
      hidden: { type: 'array', items: { type: 'integer', minimum: 1 }, default: [32] },
      steps: { type: 'integer', minimum: 1, default: 1, description: 'Discriminator steps per model step (k).' },
      lr: { type: 'number', exclusiveMinimum: 0, default: 0.001 },
      optimizer: { enum: ['sgd', 'momentum', 'adam', 'adamw'], default: 'adam' },
      weight: {
        type: 'number',
        minimum: 0,
        default: 0.1,
        description: 'w: the generator loss −log D(fake) enters the model loss times w.',
      },
    },
  };
}

/** Where a selection has no meaning in this config; `side` is `real` or `fake`. */
function selectionProblems(
  config: ResolvedConfig,
  side: 'real' | 'fake',
  selection: AdversarySelection,
): ConfigProblem[] {
  const path = ['adversary', side];
  const keys = Object.keys(selection);
  if (keys.length !== 1) {
    const got = keys.length === 0 ? 'none' : keys.join(' and ');
    return [{ path, message: `a selection names exactly one of prior, rows, task or domain; got ${got}: ${FIX}` }];
  }
  if ('prior' in selection && side === 'fake')
    return [{ path, message: `the fake side must be features the model makes (the generator moves them): ${FIX}` }];
  if ('rows' in selection && side === 'real')
    return [{ path, message: `every row is on the fake side already, so nothing would differ: ${FIX}` }];
  if ('domain' in selection) {
    const domains = config.data.domains;
    if (!domains) {
      return [
        {
          path: [...path, 'domain'],
          message:
            `domain selections need data.domains (domain-adversarial transfer), which this config does not ` +
            `define; use { prior: normal } or { task: … } instead`,
        },
      ];
    }
    const values = [...sourceDomains(domains), domains.target];
    if (!values.includes(selection.domain)) {
      return [
        {
          path: [...path, 'domain'],
          message: `"${selection.domain}" is not a domain of data.domains; expected one of ${values.join(', ')}`,
        },
      ];
    }
    return [];
  }
  if (!('task' in selection)) return [];
  const names = config.tasks.map((t) => t.name);
  if (!names.includes(selection.task)) {
    const hint = suggest(selection.task, names);
    return [
      {
        path: [...path, 'task'],
        message:
          `no task is named "${selection.task}"${hint ? ` (did you mean "${hint}"?)` : ''}; ` +
          `expected one of ${names.join(', ')}`,
      },
    ];
  }
  if (dataGroups(config).length < 2) {
    return [
      {
        path: [...path, 'task'],
        message:
          "one task's features against another's need tasks with their own data (tasks[].data, a multi-input run): " +
          'here every task reads the same rows; give the tasks their own data or use real: { prior: normal }',
      },
    ];
  }
  return [];
}

const FIX = 'use real: { prior: normal } or { task: … }, and fake: { rows: all } or { task: … }';

/**
 * The rules of the header comment. `hasSharedRepresentation` is the architecture's (undefined when the architecture
 * is unknown: that is reported elsewhere).
 */
export function adversaryProblems(
  config: ResolvedConfig,
  architecture: { name: string; hasSharedRepresentation: boolean } | undefined,
  withRepresentation: readonly string[],
): ConfigProblem[] {
  const adversary = config.adversary;
  if (!adversary) return [];
  const problems: ConfigProblem[] = [];
  if (architecture && !architecture.hasSharedRepresentation) {
    problems.push({
      path: ['adversary', 'features'],
      message:
        `the discriminator reads the shared representation, and architecture "${architecture.name}" has none ` +
        `(no layer output every task reads); use one with a shared representation (${withRepresentation.join(', ')}) ` +
        'or remove adversary',
    });
  }
  const { real, fake } = adversary;
  const sides = [...selectionProblems(config, 'real', real), ...selectionProblems(config, 'fake', fake)];
  problems.push(...sides);
  if (sides.length === 0 && 'task' in real && 'task' in fake) {
    const groups = dataGroups(config);
    const groupOf = (task: string) => groups.findIndex((g) => g.tasks.some((t) => t.name === task));
    if (groupOf(real.task) === groupOf(fake.task)) {
      problems.push({
        path: ['adversary', 'fake', 'task'],
        message:
          `tasks "${real.task}" and "${fake.task}" read the same data, so their rows are the same rows; ` +
          'pick tasks with different data sources',
      });
    }
  }
  return problems;
}

/** The last rule of the header comment (shared–private's task discriminator). */
export function taskDiscriminatorProblems(config: ResolvedConfig): ConfigProblem[] {
  if (config.model.architecture !== 'shared-private' || config.model['task_discriminator'] === undefined) return [];
  if (dataGroups(config).length >= 2) return [];
  return [
    {
      path: ['model', 'task_discriminator'],
      message:
        'the task discriminator tells tasks apart by the data their rows come from, and here every task reads the ' +
        'same rows (one input per row), so it has nothing to learn; give the tasks their own data (tasks[].data, a ' +
        'multi-input run) or remove model.task_discriminator',
    },
  ];
}
