import type { CombineInput, CombineResult, GradientCombiner } from './gradient/types.js';

/**
 * A gradient method on a batch where some tasks have no labelled row (data/labels.ts): the method runs on the
 * labelled tasks S only, as if the others were absent — g = method(g_i, i ∈ S) — rather than on zero gradients, with
 * which MGDA's min-norm point would be 0, IMTL-G and Nash-MTL would divide by 0, and CAGrad's average would shrink.
 * The weights of the absent tasks are 0, their head scale 1 (their head gradient is 0 already).
 *
 * A method's state is per task (Nash-MTL's warm start, GradVac's EMAs, MTAdam's moments), so each set S runs its own
 * combiner, created on first use with |S| tasks and kept (and saved) beside the full one. A method that cannot be
 * created for |S| tasks (an option with one entry per task: GradDrop's leak list, ConFIG's preference vector) runs on
 * all T tasks with the absent ones' zero gradients instead.
 */
export class SubsetCombining {
  private readonly subsets = new Map<string, GradientCombiner | null>();

  constructor(
    private readonly full: GradientCombiner,
    private readonly create: (taskCount: number) => GradientCombiner,
  ) {}

  combine(input: CombineInput): CombineResult {
    const { labelled, ...rest } = input;
    if (!labelled || labelled.every(Boolean)) return this.full.combine(rest);
    const present = labelled.flatMap((has, i) => (has ? [i] : []));
    const combiner = present.length > 0 ? this.combinerFor(present) : null;
    if (!combiner) return this.full.combine(rest);
    const pick = <T>(list: readonly T[]): T[] => present.map((i) => list[i]!);
    const result = combiner.combine({
      ...rest,
      grads: pick(input.grads),
      ...(input.losses ? { losses: pick(input.losses) } : {}),
      ...(input.extraSamples ? { extraSamples: input.extraSamples.map(pick) } : {}),
    });
    const spread = (values: readonly number[], absent: number): number[] => {
      const out = labelled.map(() => absent);
      present.forEach((task, k) => {
        out[task] = values[k]!;
      });
      return out;
    };
    return {
      combined: result.combined,
      ...(result.weights ? { weights: spread(result.weights, 0) } : {}),
      ...(result.taskScales ? { taskScales: spread(result.taskScales, 1) } : {}),
    };
  }

  /** The subset combiners' states by task set ("0,2"), or undefined when none ran (the state is then as before). */
  state(): Record<string, unknown> | undefined {
    const entries = [...this.subsets].flatMap(([key, c]) => (c ? [[key, c.state()] as const] : []));
    return entries.length > 0 ? Object.fromEntries(entries) : undefined;
  }

  restore(saved: Record<string, unknown> | undefined): void {
    this.subsets.clear();
    for (const [key, state] of Object.entries(saved ?? {})) {
      const combiner = this.combinerFor(key.split(',').map(Number));
      combiner?.restore(state);
    }
  }

  private combinerFor(present: readonly number[]): GradientCombiner | null {
    const key = present.join(',');
    let combiner = this.subsets.get(key);
    if (combiner === undefined) {
      try {
        combiner = this.create(present.length);
      } catch {
        combiner = null;
      }
      this.subsets.set(key, combiner);
    }
    return combiner;
  }
}
