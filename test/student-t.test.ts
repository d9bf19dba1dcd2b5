import { describe, expect, it } from 'vitest';
import { logGamma, regularizedIncompleteBeta, studentTTwoSidedP } from '../src/numerics/index.js';

describe('ln Γ (Lanczos)', () => {
  it('matches factorials and Γ(1/2) = √π', () => {
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 13);
    expect(logGamma(11)).toBeCloseTo(Math.log(3628800), 11);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    expect(logGamma(0.1)).toBeCloseTo(2.252712651734206, 12); // ln Γ(0.1), through the reflection formula
  });
});

describe('regularised incomplete beta I_x(a, b)', () => {
  it('has the closed forms I_x(1,1) = x, I_x(a,1) = x^a, I_x(1,b) = 1 − (1−x)^b', () => {
    for (const x of [0.01, 0.3, 0.5, 0.77, 0.99]) {
      expect(regularizedIncompleteBeta(x, 1, 1)).toBeCloseTo(x, 13);
      expect(regularizedIncompleteBeta(x, 3.5, 1)).toBeCloseTo(x ** 3.5, 13);
      expect(regularizedIncompleteBeta(x, 1, 2.5)).toBeCloseTo(1 - (1 - x) ** 2.5, 13);
    }
  });
  it('is symmetric: I_x(a,b) = 1 − I_{1−x}(b,a), and I_{1/2}(a,a) = 1/2', () => {
    expect(regularizedIncompleteBeta(0.3, 2.5, 7)).toBeCloseTo(1 - regularizedIncompleteBeta(0.7, 7, 2.5), 13);
    expect(regularizedIncompleteBeta(0.5, 4.5, 4.5)).toBeCloseTo(0.5, 13);
    expect(regularizedIncompleteBeta(0, 2, 3)).toBe(0);
    expect(regularizedIncompleteBeta(1, 2, 3)).toBe(1);
  });
  it('refuses arguments outside its domain with NaN', () => {
    expect(regularizedIncompleteBeta(1.5, 1, 1)).toBeNaN();
    expect(regularizedIncompleteBeta(0.5, 0, 1)).toBeNaN();
  });
});

describe('two-sided Student-t p-value', () => {
  it('gives the tabulated 5 % critical values', () => {
    expect(studentTTwoSidedP(2.776, 4)).toBeCloseTo(0.05, 4);
    expect(studentTTwoSidedP(12.706, 1)).toBeCloseTo(0.05, 4);
    expect(studentTTwoSidedP(4.303, 2)).toBeCloseTo(0.05, 4);
    expect(studentTTwoSidedP(2.228, 10)).toBeCloseTo(0.05, 4);
    expect(studentTTwoSidedP(9.925, 2)).toBeCloseTo(0.01, 4);
  });
  it('matches the closed forms for df = 1 (Cauchy) and df = 2', () => {
    for (const t of [0.2, 1, 3, 40]) {
      expect(studentTTwoSidedP(t, 1)).toBeCloseTo(1 - (2 / Math.PI) * Math.atan(t), 12);
      expect(studentTTwoSidedP(-t, 2)).toBeCloseTo(1 - t / Math.sqrt(2 + t * t), 12);
    }
  });
  it('tends to the normal tail for large df, is 1 at t = 0 and 0 at t = ∞', () => {
    expect(studentTTwoSidedP(1.959964, 1e7)).toBeCloseTo(0.05, 5);
    expect(studentTTwoSidedP(0, 3)).toBe(1);
    expect(studentTTwoSidedP(Number.POSITIVE_INFINITY, 3)).toBe(0);
    expect(studentTTwoSidedP(Number.NaN, 3)).toBeNaN();
    expect(studentTTwoSidedP(1, 0)).toBeNaN();
  });
});
