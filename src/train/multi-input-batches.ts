/**
 * Multi-input batching (issue #17; data/multi-input.ts): with `training.multi_input.sampling: each` (the only one so
 * far, as LibMTL's multi_input mode), every step takes one batch of each data group, concatenated group after group
 * into one batch, so the model makes one forward pass and each task's masked loss reads its own group's rows.
 *
 * Rules (also in docs/notes/multi-input.md):
 * - Group g contributes b_g = min(batch_size, n_g) rows per step (n_g: its training rows); a step holds Σ_g b_g rows.
 * - Each group walks through a permutation of its rows drawn from the run's seeded batch generator; when it runs out
 *   before the epoch ends (a smaller group) it is reshuffled and continues (cycling); a pass that starts mid-batch
 *   puts the rows that batch already holds last, so a batch never holds a row twice. Every epoch starts each group
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
      const taken: number[] = [];
      for (let i = 0; i < plan.groupBatch[g]!; i++) {
        if (cursors[g] === rows) {
          permutations[g] = nextPass(rng.permutation(rows), taken);
          cursors[g] = 0;
        }
        const position = cursors[g]!;
        const row = permutations[g]![position]!;
        taken.push(row);
        order[at++] = offsets[g]! + row;
        cursors[g] = position + 1;
      }
    });
  }
  return order;
}

/**
 * A new pass that starts mid-batch: the rows the batch already holds from the previous pass move to the end of the
 * new permutation (in their drawn order), so no batch holds a row twice and every pass still holds each row once.
 */
function nextPass(permutation: Int32Array, taken: readonly number[]): Int32Array {
  if (taken.length === 0) return permutation;
  const inBatch = new Set(taken);
  const rest = permutation.filter((row) => !inBatch.has(row));
  const moved = permutation.filter((row) => inBatch.has(row));
  return Int32Array.from([...rest, ...moved]);
}
