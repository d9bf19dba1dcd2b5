/**
 * Johannes Baagøe's Alea generator, seeded by a string through his Mash hash: the generator TF.js's random ops draw
 * from (`tf.randomUniform(…, seed)` runs seedrandom's `alea(String(seed))`). Ours gives the same doubles for the same
 * seed (test/dropout-mask.test.ts), so a dropout mask computed here is the one `tf.dropout` would draw, without its
 * per-value closures, its tensor buffer and its four kernels.
 *
 * Mash: n starts at 0xefc8249d; per character, n += code, h = 0.02519603282416938·n, then twice n = ⌊h⌋ mod 2³²,
 * h = (h − n)·n …, ending with n += (h − n)·2³²; the value is (n mod 2³²)·2⁻³².
 * Alea: c = 1 and s0, s1, s2 = mash(' ') − mash(seed) (wrapped into [0, 1)); each draw t = 2091639·s0 + c·2⁻³²,
 * shifts s0 ← s1 ← s2 and sets c = ⌊t⌋ (as int32), s2 = t − c, returning s2 in [0, 1).
 *
 * Jumping ahead ({@link Alea.jump}): with x = s·2³² (integers below b = 2³², as seeding and every draw keep them),
 * a draw is the lag-3 multiply-with-carry step x_{n+1} = (a·x_{n−2} + c_n) mod b, c_{n+1} = ⌊(a·x_{n−2} + c_n)/b⌋,
 * a = 2091639, computed exactly in doubles (a·x + c < 2⁵³). As one integer, Z = c·b³ + x_n·b² + x_{n−1}·b + x_{n−2}
 * (0 < Z < m = a·b³ − 1: the carry stays below a, and seeding starts it at 1), a draw is Z ← b⁻¹·Z mod m, with b⁻¹
 * ≡ a·b² (mod m) as a·b³ ≡ 1: substituting x_{n+1} + b·c_{n+1} = a·x_{n−2} + c_n into b·Z_{n+1} leaves Z_n + x_{n−2}·m.
 * (The multiply-with-carry ↔ linear congruential correspondence: Couture and L'Ecuyer, "Distribution properties of
 * multiply-with-carry random number generators", Math. Comp. 66, 1997.) So k draws are one multiplication by
 * (a·b²)^k mod m, in BigInt arithmetic, and the state read back from Z is exactly the one k calls of `next` reach.
 */
const TWO_TO_MINUS_32 = 2.3283064365386963e-10;
/** Alea's multiplier a. */
const A = 2091639;
const TWO_TO_32 = 4294967296;
const MULTIPLIER = BigInt(A);
const BASE = 1n << 32n;
const MODULUS = MULTIPLIER * BASE ** 3n - 1n;
/** b⁻¹ mod m: one draw. */
const ONE_DRAW = (MULTIPLIER * BASE ** 2n) % MODULUS;
/** (b⁻¹)^k mod m by k, for the few jump lengths a run uses (one per dropout layer's mask size). */
const jumpMultipliers = new Map<number, bigint>();

function jumpMultiplier(draws: number): bigint {
  let multiplier = jumpMultipliers.get(draws);
  if (multiplier !== undefined) return multiplier;
  multiplier = 1n;
  let power = ONE_DRAW;
  for (let k = BigInt(draws); k > 0n; k >>= 1n) {
    if (k & 1n) multiplier = (multiplier * power) % MODULUS;
    power = (power * power) % MODULUS;
  }
  if (jumpMultipliers.size < 64) jumpMultipliers.set(draws, multiplier);
  return multiplier;
}

/** A generator's state: the last three draws (oldest first) and the carry. */
export interface AleaState {
  s0: number;
  s1: number;
  s2: number;
  c: number;
}

class Mash {
  private n = 0xefc8249d;

  hash(text: string): number {
    for (let i = 0; i < text.length; i++) {
      this.n += text.charCodeAt(i);
      let h = 0.02519603282416938 * this.n;
      this.n = h >>> 0;
      h -= this.n;
      h *= this.n;
      this.n = h >>> 0;
      h -= this.n;
      this.n += h * 0x100000000;
    }
    return (this.n >>> 0) * TWO_TO_MINUS_32;
  }
}

export class Alea {
  private s0: number;
  private s1: number;
  private s2: number;
  private c = 1;

  /** Seeded by a string, as TF.js seeds it; or at a state another generator reached (`state()`, `jump`). */
  constructor(seed: string | AleaState) {
    if (typeof seed !== 'string') {
      ({ s0: this.s0, s1: this.s1, s2: this.s2, c: this.c } = seed);
      return;
    }
    const mash = new Mash();
    const blank = [mash.hash(' '), mash.hash(' '), mash.hash(' ')] as const;
    const wrap = (value: number): number => (value < 0 ? value + 1 : value);
    this.s0 = wrap(blank[0] - mash.hash(seed));
    this.s1 = wrap(blank[1] - mash.hash(seed));
    this.s2 = wrap(blank[2] - mash.hash(seed));
  }

  state(): AleaState {
    return { s0: this.s0, s1: this.s1, s2: this.s2, c: this.c };
  }

  /** Skips `draws` draws (an integer ≥ 0) in BigInt arithmetic, as if `next` had been called that often. */
  jump(draws: number): this {
    if (!(Number.isInteger(draws) && draws >= 0))
      throw new RangeError(`jump: draws must be an integer ≥ 0, got ${draws}`);
    if (draws === 0) return this;
    const state =
      (BigInt(this.c) << 96n) |
      (BigInt(this.s2 * TWO_TO_32) << 64n) |
      (BigInt(this.s1 * TWO_TO_32) << 32n) |
      BigInt(this.s0 * TWO_TO_32);
    const next = (state * jumpMultiplier(draws)) % MODULUS;
    const digit = (shift: bigint): number => Number((next >> shift) & 0xffffffffn) * TWO_TO_MINUS_32;
    this.s0 = digit(0n);
    this.s1 = digit(32n);
    this.s2 = digit(64n);
    this.c = Number(next >> 96n);
    return this;
  }

  /** Uniform in [0, 1), a double with 32 random bits. */
  next(): number {
    const t = A * this.s0 + this.c * TWO_TO_MINUS_32;
    this.s0 = this.s1;
    this.s1 = this.s2;
    this.c = t | 0;
    this.s2 = t - this.c;
    return this.s2;
  }

  /**
   * target[i] = `above` where the i-th next draw, rounded to float32 as TF.js stores it, is ≥ `threshold`, else 0:
   * a dropout mask (model/layers/dropout.ts). The draws form one serial chain (each needs the previous one's carry,
   * ~20 cycles a draw), so a mask of {@link LANES_FROM} values or more is drawn as four chains interleaved in one
   * loop, each starting where the generator is at its quarter ({@link jump}), which the processor overlaps: the same
   * draws in the same places, 2–3× faster. The generator ends where `target.length` calls of `next` leave it.
   */
  fillMask(target: Float32Array, threshold: number, above: number): Float32Array {
    let state = this.state();
    let done = 0;
    if (target.length >= LANES_FROM) {
      const quarter = Math.floor(target.length / 4);
      const lanes = [state];
      for (let lane = 1; lane < 4; lane++) lanes.push(new Alea(lanes[lane - 1]!).jump(quarter).state());
      state = maskInLanes(target, quarter, lanes, threshold, above);
      done = 4 * quarter;
    }
    ({ s0: this.s0, s1: this.s1, s2: this.s2, c: this.c } = maskInOneChain(target, done, state, threshold, above));
    return target;
  }
}

/**
 * Masks shorter than this are drawn in one chain: the three jumps' BigInt arithmetic (~4 µs) would cost more than
 * the overlap saves.
 */
export const LANES_FROM = 1024;

/**
 * target[from …] from one chain starting at `state` (locals, so V8 keeps the state in registers rather than writing
 * an object's fields every draw); returns where the chain ends.
 */
function maskInOneChain(
  target: Float32Array,
  from: number,
  state: AleaState,
  threshold: number,
  above: number,
): AleaState {
  let { s0, s1, s2, c } = state;
  for (let i = from; i < target.length; i++) {
    const t = A * s0 + c * TWO_TO_MINUS_32;
    s0 = s1;
    s1 = s2;
    c = t | 0;
    s2 = t - c;
    target[i] = Math.fround(s2) >= threshold ? above : 0;
  }
  return { s0, s1, s2, c };
}

/** target[k·quarter + i] for k = 0…3, i < quarter, from four chains at once; returns where the fourth one ends. */
function maskInLanes(
  target: Float32Array,
  quarter: number,
  lanes: readonly AleaState[],
  threshold: number,
  above: number,
): AleaState {
  // Written out chain by chain: an array of four states would live in memory, where each draw would store and reload
  // it, and the four chains would no longer overlap in registers.
  let { s0: a0, s1: a1, s2: a2, c: ac } = lanes[0]!;
  let { s0: b0, s1: b1, s2: b2, c: bc } = lanes[1]!;
  let { s0: c0, s1: c1, s2: c2, c: cc } = lanes[2]!;
  let { s0: d0, s1: d1, s2: d2, c: dc } = lanes[3]!;
  for (let i = 0; i < quarter; i++) {
    const ta = A * a0 + ac * TWO_TO_MINUS_32;
    const tb = A * b0 + bc * TWO_TO_MINUS_32;
    const tc = A * c0 + cc * TWO_TO_MINUS_32;
    const td = A * d0 + dc * TWO_TO_MINUS_32;
    a0 = a1;
    a1 = a2;
    ac = ta | 0;
    a2 = ta - ac;
    b0 = b1;
    b1 = b2;
    bc = tb | 0;
    b2 = tb - bc;
    c0 = c1;
    c1 = c2;
    cc = tc | 0;
    c2 = tc - cc;
    d0 = d1;
    d1 = d2;
    dc = td | 0;
    d2 = td - dc;
    target[i] = Math.fround(a2) >= threshold ? above : 0;
    target[quarter + i] = Math.fround(b2) >= threshold ? above : 0;
    target[2 * quarter + i] = Math.fround(c2) >= threshold ? above : 0;
    target[3 * quarter + i] = Math.fround(d2) >= threshold ? above : 0;
  }
  return { s0: d0, s1: d1, s2: d2, c: dc };
}
