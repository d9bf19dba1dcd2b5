/**
 * Multi-input batching (issue #17; data/multi-input.ts): with `training.multi_input.sampling: each` (the only one so
 * far, as LibMTL's multi_input mode), every step takes one batch of each data group, concatenated group after group
 * into one batch, so the model makes one forward pass and each task's masked loss reads its own group's rows.
 *
 * Rules (also in docs/notes/multi-input.md):
 * - Group g contributes b_g = min(batch_size, n_g) rows per step (n_g: its training rows); a step holds Σ_g b_g rows.
 * - Each group walks through a permutation of its rows drawn from the run's seeded batch generator; when it runs out
 *   before the epoch ends (a smaller group) it is reshuffled and continues (cycling). Every epoch starts each group
 *   on a fresh permutation, so an epoch's order is a function of the generator's state at its start (resume replays
 *   it).
 * - An epoch is `epoch: largest` → ceil(max_g n_g / batch_size) steps, or `epoch: { steps: N }` → N steps.
 */
import type { MultiInputConfig, TrainingConfig } from '../config/types.js';
import type { GroupRows } from '../data/multi-input.js';
import type { Rng } from '../util/rng.js';

export interface MultiInputPlan {
  /** Training rows per group, in the merged split's order (group g starts after groups 0 … g−1). */
  groupRows: number[];
  /** Rows each group contributes to a step. */
  groupBatch: number[];
  /** Rows in a step: Σ groupBatch. */
  stepRows: number;
  steps: number;
}

/** The plan of a run's epochs from its data groups (data/multi-input.ts) and `training` (batch_size, multi_input). */
export function epochPlan(groups: readonly GroupRows[], training: TrainingConfig): MultiInputPlan {
  const rows = groups.map((group) => group.rows.train);
  return multiInputPlan(rows, training.batch_size, training.multi_input);
}

export function multiInputPlan(
  groupRows: readonly number[],
  batchSize: number,
  setting: MultiInputConfig | undefined,
): MultiInputPlan {
  const groupBatch = groupRows.map((n) => Math.min(batchSize, n));
  const epoch = setting?.epoch ?? 'largest';
  const steps = epoch === 'largest' ? Math.ceil(Math.max(...groupRows) / batchSize) : epoch.steps;
  return { groupRows: [...groupRows], groupBatch, stepRows: groupBatch.reduce((s, b) => s + b, 0), steps };
}

/**
 * An epoch's row order (indices into the merged training split): step after step, each group's next b_g rows.
 * Cut into `stepRows`-row batches, it gives the steps of {@link MultiInputPlan}.
 */
export function multiInputOrder(plan: MultiInputPlan, rng: Rng): Int32Array {
  const order = new Int32Array(plan.steps * plan.stepRows);
  const offsets = plan.groupRows.map((_, g) => plan.groupRows.slice(0, g).reduce((s, n) => s + n, 0));
  const permutations = plan.groupRows.map((n) => rng.permutation(n));
  const cursors = plan.groupRows.map(() => 0);
  let at = 0;
  for (let step = 0; step < plan.steps; step++) {
    plan.groupRows.forEach((rows, g) => {
      for (let i = 0; i < plan.groupBatch[g]!; i++) {
        if (cursors[g] === rows) {
          permutations[g] = rng.permutation(rows);
          cursors[g] = 0;
        }
        const position = cursors[g]!;
        order[at++] = offsets[g]! + permutations[g]![position]!;
        cursors[g] = position + 1;
      }
    });
  }
  return order;
}
