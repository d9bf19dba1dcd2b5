import type { ConfigProblem } from '../config/errors.js';
import type { LambdaConfig, ResolvedConfig } from '../config/types.js';
import { architectureRegistry } from '../model/registry.js';
import { adversarialTasks, lambdaMaximum, mainTasks } from './adversarial-tasks.js';
import { DOMAIN_TASK } from './domains.js';

/** The task kinds an adversary can be: it reports accuracy against the majority-class rate. */
const ADVERSARY_KINDS = ['binary', 'multiclass'];

/**
 * What validation refuses about adversaries (issue #18), besides the schema: an adversary needs one shared
 * representation to sit on (architectures with `hasSharedRepresentation`), a main task to be adversarial to, a
 * λ ≥ 0 (a negative λ would be a second ordinary task, not an adversary), and a classification target (its
 * accuracy is compared with the chance rate; a regression or multilabel adversary is not supported). Baselines
 * and pairs would train single-task runs of the adversary itself, so they are refused with adversaries.
 */
export function adversarialProblems(config: ResolvedConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const domains = config.data.domains;
  config.tasks.forEach((task, index) => {
    if (!task.adversarial) return;
    // The discriminator data.domains adds is checked as data.domains.lambda, where the user wrote its λ: not again
    // as a task the config does not list.
    if (domains && task.name === DOMAIN_TASK) return;
    const at = ['tasks', index, 'adversarial', 'lambda'];
    problems.push(...lambdaProblems(task.adversarial.lambda, at));
    if (!ADVERSARY_KINDS.includes(task.type)) {
      problems.push({
        path: ['tasks', index, 'type'],
        message:
          `an adversarial task reports its accuracy against the majority-class rate, so it must be binary or ` +
          `multiclass (got ${task.type}); bin the column into classes, or remove "adversarial"`,
      });
    }
  });
  if (domains) problems.push(...lambdaProblems(domains.lambda, ['data', 'domains', 'lambda']));
  const adversaries = adversarialTasks(config.tasks);
  if (adversaries.length === 0) return problems;
  if (mainTasks(config.tasks).length === 0) {
    problems.push({
      path: ['tasks'],
      message:
        `every task is adversarial (${adversaries.map((t) => t.name).join(', ')}): an adversary removes ` +
        'information from the representation the main tasks learn, so at least one task must not be adversarial',
    });
  }
  const architecture = architectureRegistry.get(config.model.architecture);
  if (architecture && !architecture.hasSharedRepresentation) {
    const withOne = [...architectureRegistry.values()].filter((a) => a.hasSharedRepresentation).map((a) => a.name);
    const what = domains ? 'the domain discriminator' : `adversarial task "${adversaries[0]!.name}"`;
    problems.push({
      path: ['model', 'architecture'],
      message:
        `${what} reads the shared representation behind a gradient reversal layer, and architecture ` +
        `"${architecture.name}" has no single shared representation; use one that has: ${withOne.join(', ')}`,
    });
  }
  if ((config.baselines ?? 'none') !== 'none') {
    problems.push({
      path: ['baselines'],
      message:
        `baselines would train the adversarial task${adversaries.length > 1 ? 's' : ''} ` +
        `(${adversaries.map((t) => t.name).join(', ')}) as ordinary tasks; train the baselines from a config ` +
        'without adversaries, or set baselines: none',
    });
  }
  return problems;
}

function lambdaProblems(lambda: LambdaConfig, at: (string | number)[]): ConfigProblem[] {
  const value = lambdaMaximum(lambda);
  if (Number.isFinite(value) && value >= 0) return [];
  return [
    {
      path: typeof lambda === 'number' ? at : [...at, 'max'],
      message:
        `λ must be ≥ 0 (got ${value}): the reversal layer already negates the adversary's gradient, so a ` +
        'negative λ would make the trunk help the adversary; use 0 (head learns, trunk unaffected) or more',
    },
  ];
}
