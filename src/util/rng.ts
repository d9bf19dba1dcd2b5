/**
 * A small seeded pseudo-random generator (mulberry32 over a splitmix32-mixed seed).
 * Everything that decides data order, splits, initial weights or dropout masks draws from one of these, never from
 * Math.random, so the same seed gives the same run on every backend.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** A 31-bit integer, e.g. to seed a TF.js op. */
  seed31(): number;
  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[];
  /** A permutation of 0..n-1. */
  permutation(n: number): Int32Array;
  /**
   * An independent generator derived from this one and a label, so adding draws in one place does not shift another.
   */
  fork(label: string): Rng;
  /** Where the generator is: saved with a checkpoint so a resumed run draws what the uninterrupted one would. */
  state(): RngState;
  /** Continues from a state {@link state} returned (of any generator of this kind). */
  restore(state: RngState): void;
}

/** A generator's whole state: its 32-bit counter and the second value of the last Box–Muller pair, if unused. */
export interface RngState {
  counter: number;
  spareNormal: number | null;
}

function splitmix32(a: number): number {
  a = (a + 0x9e3779b9) | 0;
  let z = a;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function hashLabel(label: string): number {
  // FNV-1a, 32 bit
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function createRng(seed: number | string): Rng {
  let state = splitmix32(typeof seed === 'string' ? hashLabel(seed) : (seed >>> 0) ^ Math.floor(seed / 2 ** 32));
  let spareNormal: number | undefined;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    int: (n) => Math.floor(next() * n),
    normal: () => {
      if (spareNormal !== undefined) {
        const v = spareNormal;
        spareNormal = undefined;
        return v;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spareNormal = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    seed31: () => Math.floor(next() * 0x7fffffff),
    shuffle: (items) => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const tmp = items[i] as (typeof items)[number];
        items[i] = items[j] as (typeof items)[number];
        items[j] = tmp;
      }
      return items;
    },
    permutation: (n) => {
      const p = new Int32Array(n);
      for (let i = 0; i < n; i++) p[i] = i;
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const tmp = p[i]!;
        p[i] = p[j]!;
        p[j] = tmp;
      }
      return p;
    },
    fork: (label) => createRng((Math.floor(next() * 4294967296) ^ hashLabel(label)) >>> 0),
    state: () => ({ counter: state, spareNormal: spareNormal ?? null }),
    restore: (saved) => {
      state = saved.counter | 0;
      spareNormal = saved.spareNormal ?? undefined;
    },
  };
  return rng;
}
