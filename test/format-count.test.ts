import { describe, expect, it } from 'vitest';
import { formatCount } from '../src/cli/output.js';

describe('formatCount: thousands grouped as en-US writes them, without ICU', () => {
  it('groups by three from the right, keeps the sign, leaves non-integers as String does', () => {
    const cases = [0, 7, 999, 1000, 12_345, 999_999, 1_000_000, 1_234_567_890, -1234, -999];
    for (const value of cases) expect(formatCount(value)).toBe(value.toLocaleString('en-US'));
    expect(formatCount(1.5)).toBe('1.5');
    expect(formatCount(Number.NaN)).toBe('NaN');
  });
});
