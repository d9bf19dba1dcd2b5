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
 */
const TWO_TO_MINUS_32 = 2.3283064365386963e-10;

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

  constructor(seed: string) {
    const mash = new Mash();
    const blank = [mash.hash(' '), mash.hash(' '), mash.hash(' ')] as const;
    const wrap = (value: number): number => (value < 0 ? value + 1 : value);
    this.s0 = wrap(blank[0] - mash.hash(seed));
    this.s1 = wrap(blank[1] - mash.hash(seed));
    this.s2 = wrap(blank[2] - mash.hash(seed));
  }

  /** Uniform in [0, 1), a double with 32 random bits. */
  next(): number {
    const t = 2091639 * this.s0 + this.c * TWO_TO_MINUS_32;
    this.s0 = this.s1;
    this.s1 = this.s2;
    this.c = t | 0;
    this.s2 = t - this.c;
    return this.s2;
  }

  /**
   * The next `target.length` draws, in order, as `target`'s element type holds them (a Float32Array: rounded to
   * float32, as TF.js stores them). The state stays in locals through the loop, so V8 keeps it in registers
   * instead of writing the object's fields on every draw.
   */
  fill<T extends Float32Array | Float64Array>(target: T): T {
    let { s0, s1, s2, c } = this;
    for (let i = 0; i < target.length; i++) {
      const t = 2091639 * s0 + c * TWO_TO_MINUS_32;
      s0 = s1;
      s1 = s2;
      c = t | 0;
      s2 = t - c;
      target[i] = s2;
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.c = c;
    return target;
  }
}
