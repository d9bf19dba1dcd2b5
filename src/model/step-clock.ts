/**
 * The model's training-step clock. A training loop numbers its steps (`model.setStep`, which sets {@link step}); layers
 * that behave differently per step read it here:
 *
 * - dropout draws its mask from a seed that is a function of (model seed, step, layer) only ({@link dropoutSeed}), so
 *   masks differ between steps, repeat between runs, repeat when one step runs the forward pass twice (gradient
 *   strategies that re-run the trunk must see the same mask), and a resumed run draws what the uninterrupted one would
 *   have;
 * - batch-norm tells a repeated forward pass of one step from a new step ({@link numberedStep}), so its moving
 *   statistics move once per step.
 *
 * One clock per model, shared by all its layers.
 */
export class StepClock {
  private current = 0;
  private numbered = false;
  private layerCount = 0;
  /** `seed` is the model's own (drawn from its Rng), so two models with one seed draw the same masks. */
  constructor(private readonly seed: number) {}
  get step(): number {
    return this.current;
  }
  set step(value: number) {
    this.current = value;
    this.numbered = true;
  }
  /** The training step, once a loop has set one; undefined for a model used without numbered steps. */
  get numberedStep(): number | undefined {
    return this.numbered ? this.current : undefined;
  }
  /** A new id for a layer that draws per-step randomness; ids follow the order in which layers are built. */
  newLayerId(): number {
    return this.layerCount++;
  }
  /** The seed of layer `layerId`'s dropout mask at the current step (a 31-bit integer hash of seed, step and layer). */
  dropoutSeed(layerId: number): number {
    let h = (this.seed ^ Math.imul(this.step + 1, 0x9e3779b1) ^ Math.imul(layerId + 1, 0x85ebca6b)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    return (h ^ (h >>> 16)) & 0x7fffffff;
  }
}
