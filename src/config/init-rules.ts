import { CHECKPOINT_SUFFIXES, splitInitSource } from '../model/parameter-groups.js';
import type { ConfigProblem } from './errors.js';
import type { ResolvedConfig } from './types.js';

/**
 * What `init:` needs beyond the schema (issue #17). The source run itself is resolved when training starts
 * (api/init-weights.ts: it needs the run store); here only what the config alone decides:
 * - `from` ends in `:best`, `:last` or no checkpoint suffix at all (a run reference has no other colon form);
 * - `unfreeze_after` and `unfrozen_lr` need something frozen, and `unfreeze_after` < training.epochs (else the
 *   frozen parameters would never train: leave it out for that);
 * - `unfrozen_lr` needs `unfreeze_after` (frozen parameters for the whole run have no learning rate).
 */
export function initProblems(config: ResolvedConfig): ConfigProblem[] {
  const init = config.init;
  if (!init) return [];
  const problems: ConfigProblem[] = [];
  const suffix = splitInitSource(init.from).suffix;
  if (suffix !== undefined && !CHECKPOINT_SUFFIXES.includes(suffix)) {
    problems.push({
      path: ['init', 'from'],
      message:
        `"${init.from}" names checkpoint "${suffix}"; expected RUN, RUN:best or RUN:last ` +
        '(the best checkpoint by default)',
    });
  }
  if (init.unfreeze_after !== undefined && init.freeze.length === 0) {
    problems.push({
      path: ['init', 'unfreeze_after'],
      message:
        'nothing is frozen (init.freeze is empty), so there is nothing to unfreeze; add init.freeze or remove it',
    });
  } else if (init.unfreeze_after !== undefined && init.unfreeze_after >= config.training.epochs) {
    problems.push({
      path: ['init', 'unfreeze_after'],
      message:
        `${init.unfreeze_after} is not below training.epochs (${config.training.epochs}), so the frozen parameters ` +
        'would never train; lower it, or remove it to keep them frozen for the whole run',
    });
  }
  if (init.unfrozen_lr !== undefined && init.unfreeze_after === undefined) {
    problems.push({
      path: ['init', 'unfrozen_lr'],
      message:
        'the frozen parameters are never unfrozen (no init.unfreeze_after), so they have no learning rate; ' +
        'set init.unfreeze_after or remove unfrozen_lr',
    });
  }
  return problems;
}
