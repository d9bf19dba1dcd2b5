/**
 * A number written in decimal (`0.8`, `-1`, `.5`, `1e-3`); NaN for anything else. `Number` alone would also read
 * `0x10`, `0b11` and `0o7` (as 16, 3 and 7): in a data file or a flag such text is a mistake, not a number.
 */
export function decimal(text: string): number {
  return /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(text) ? Number(text) : Number.NaN;
}
