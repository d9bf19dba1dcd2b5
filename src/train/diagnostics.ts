/**
 * What the trainer sums over an epoch besides losses, for the epoch log (epochs.jsonl) and `mtl analyze`:
 *
 * - `gradientCosines[a|b]`: the mean over the epoch's steps of the cosine of the two tasks' gradients (gradient
 *   strategies, on the target they use; other strategies with `analysis.affinity`: the gradients of the shared
 *   parameters affinity takes, over its measured steps);
 * - `gradientConflicts[a|b]`: the fraction of those steps whose cosine is below 0 (the gradients conflict);
 * - `gradientSteps`: how many steps those are;
 * - `taskAffinity[a>b]`: the mean over the epoch's measured steps of Z_{a→b} (train/affinity.ts), the whole T×T
 *   matrix (`a>a`: what a task's own update does for its loss, the scale the others compare with), and
 *   `affinitySteps`, how many steps were measured.
 *
 * A mid-epoch snapshot carries the sums (`PartialEpoch`), so a resumed epoch logs what the uninterrupted one would.
 */
import type { EpochRecord } from '../runs/records.js';
import type { PartialEpoch } from '../runs/training-state.js';

type Sums = number[][];

function added(sum: Sums | undefined, matrix: readonly (readonly number[])[], term: (v: number) => number): Sums {
  const base = sum ?? matrix.map((row) => row.map(() => 0));
  return base.map((row, i) => row.map((v, j) => v + term(matrix[i]?.[j] ?? 0)));
}

function pairwise(
  sum: Sums,
  steps: number,
  tasks: readonly { name: string }[],
  directed: boolean,
): Record<string, number> {
  const out: Record<string, number> = {};
  tasks.forEach((a, i) =>
    tasks.forEach((b, j) => {
      if (directed || j > i) out[`${a.name}${directed ? '>' : '|'}${b.name}`] = (sum[i]?.[j] ?? NaN) / steps;
    }),
  );
  return out;
}

export class EpochDiagnostics {
  private cosineSum: Sums | undefined;
  private conflictCount: Sums | undefined;
  private cosineSteps: number;
  private affinitySum: Sums | undefined;
  private affinitySteps: number;
  /** False when resumed from a snapshot taken before conflicts were counted: that epoch's count would be short. */
  private readonly conflictsCounted: boolean;

  constructor(partial?: PartialEpoch) {
    this.conflictsCounted = partial?.cosineSum === undefined || partial.conflictCount !== undefined;
    this.cosineSum = partial?.cosineSum;
    this.conflictCount = partial?.conflictCount;
    this.cosineSteps = partial?.cosineSteps ?? 0;
    this.affinitySum = partial?.affinitySum;
    this.affinitySteps = partial?.affinitySteps ?? 0;
  }

  addCosines(cosines: readonly (readonly number[])[]): void {
    this.cosineSum = added(this.cosineSum, cosines, (v) => v);
    this.conflictCount = added(this.conflictCount, cosines, (v) => (v < 0 ? 1 : 0));
    this.cosineSteps++;
  }

  addAffinity(affinity: readonly (readonly number[])[]): void {
    this.affinitySum = added(this.affinitySum, affinity, (v) => v);
    this.affinitySteps++;
  }

  /** The sums for a mid-epoch snapshot. */
  partial(): Pick<PartialEpoch, 'cosineSum' | 'conflictCount' | 'cosineSteps' | 'affinitySum' | 'affinitySteps'> {
    return {
      cosineSteps: this.cosineSteps,
      ...(this.cosineSum ? { cosineSum: this.cosineSum } : {}),
      ...(this.conflictCount ? { conflictCount: this.conflictCount } : {}),
      ...(this.affinitySum ? { affinitySum: this.affinitySum, affinitySteps: this.affinitySteps } : {}),
    };
  }

  /** The epoch record's fields (none where nothing was measured). */
  record(
    tasks: readonly { name: string }[],
  ): Pick<EpochRecord, 'gradientCosines' | 'gradientConflicts' | 'gradientSteps' | 'taskAffinity' | 'affinitySteps'> {
    return {
      ...(this.cosineSum
        ? {
            gradientCosines: pairwise(this.cosineSum, this.cosineSteps, tasks, false),
            gradientSteps: this.cosineSteps,
          }
        : {}),
      ...(this.conflictCount && this.conflictsCounted
        ? { gradientConflicts: pairwise(this.conflictCount, this.cosineSteps, tasks, false) }
        : {}),
      ...(this.affinitySum
        ? {
            taskAffinity: pairwise(this.affinitySum, this.affinitySteps, tasks, true),
            affinitySteps: this.affinitySteps,
          }
        : {}),
    };
  }
}
