/**
 * Multi-input batching (issue #17; data/multi-input.ts): every step takes rows of each data group, concatenated group
 * after group into one batch, so the model makes one forward pass and each task's masked loss reads its own group's
 * rows. `training.multi_input.sampling` says how many rows b_g each group gives a step (n_g: its training rows,
 * N = Σ_g n_g, B = batch_size):
 * - `each` (default; LibMTL's multi_input mode, Lin & Zhang, JMLR 2023): one batch of each group,
 *   b_g = min(B, n_g); a step holds Σ_g b_g rows.
 * - `proportional`: one batch of B rows shared in proportion to the groups' sizes, b_g ≈ B·n_g / N (largest
 *   remainder rounding of the B rows; at least 1 and at most n_g each), so every row is drawn about equally often
 *   whatever its group, as one batch drawn from the pooled rows would be, but with fixed counts per step.
 *
 * Rules (also in docs/notes/multi-input.md):
 * - Each group walks through a permutation of its rows drawn from the run's seeded batch generator; when it runs out
 *   before the epoch ends (a smaller group) it is reshuffled and continues (cycling); a pass that starts mid-batch
 *   puts the rows that batch already holds last, so a batch never holds a row twice. Every epoch starts each group
 *   on a fresh permutation, so an epoch's order is a function of the generator's state at its start (resume replays
 *   it).
 * - An epoch is `epoch: largest` → the steps that show the largest group's rows once, ceil(n_max / b_max) (under
 *   `each`: ceil(n_max / B)), or `epoch: { steps: N }` → N steps.
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
  const groupBatch =
    setting?.sampling === 'proportional'
      ? proportionalShares(groupRows, batchSize)
      : groupRows.map((n) => Math.min(batchSize, n));
  const epoch = setting?.epoch ?? 'largest';
  const largest = groupRows.indexOf(Math.max(...groupRows));
  const steps = epoch === 'largest' ? Math.ceil(groupRows[largest]! / groupBatch[largest]!) : epoch.steps;
  return { groupRows: [...groupRows], groupBatch, stepRows: groupBatch.reduce((s, b) => s + b, 0), steps };
}

/**
 * B rows shared in proportion to the groups' sizes by largest remainder: each group gets ⌊B·n_g/N⌋, the rows left go
 * one each to the largest remainders (ties: the earlier group); then every group gets at least 1 and at most n_g.
 */
export function proportionalShares(groupRows: readonly number[], batchSize: number): number[] {
  const total = groupRows.reduce((s, n) => s + n, 0);
  const exact = groupRows.map((n) => (batchSize * n) / total);
  const shares = exact.map(Math.floor);
  const left = batchSize - shares.reduce((s, b) => s + b, 0);
  const byRemainder = exact
    .map((x, g) => ({ g, remainder: x - Math.floor(x) }))
    .sort((a, b) => b.remainder - a.remainder);
  for (const { g } of byRemainder.slice(0, left)) shares[g]! += 1;
  return shares.map((share, g) => Math.min(Math.max(share, 1), groupRows[g]!));
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
