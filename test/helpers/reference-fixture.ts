/**
 * Reading test/fixtures/reference-gradients.json (written by scripts/reference-fixtures.py from LibMTL and TorchJD)
 * and the agreement measures of test/reference-agreement.test.ts.
 */
import { readFileSync } from 'node:fs';

export interface ReferenceStep {
  grads: number[][];
  losses: number[];
  /** The reference's update; null where it was not finite. */
  output: number[] | null;
  /** Per task, the order in which the reference visited the tasks (PCGrad, GradVac); may include the task itself. */
  orders?: number[][];
  /** GradDrop: the uniform draws of the reference, one per coordinate (or unit). */
  uniforms?: number[];
  /** GradDrop on representation gradients: activations (rows × units, row-major) and the row count. */
  activations?: number[];
  rows?: number;
}

export interface ReferenceEntry {
  reference: 'LibMTL' | 'TorchJD';
  method: string;
  referenceOptions: Record<string, unknown>;
  case: string;
  steps: ReferenceStep[];
  referenceError?: string;
}

export interface ReferenceFixture {
  references: Record<string, { repository: string; commit: string }>;
  shims: string[];
  notRun: Record<string, string>;
  entries: ReferenceEntry[];
}

export function loadReferenceFixture(): ReferenceFixture {
  const text = readFileSync(new URL('../fixtures/reference-gradients.json', import.meta.url), 'utf8');
  const fixture: ReferenceFixture = JSON.parse(text);
  return fixture;
}

export const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((s, x, i) => s + x * b[i]!, 0);
export const norm = (a: readonly number[]): number => Math.sqrt(dot(a, a));

/** The longest task gradient: the scale below which an update counts as zero. */
export function gradientScale(grads: readonly (readonly number[])[]): number {
  return Math.max(...grads.map((g) => norm(g)));
}

export interface Agreement {
  ok: boolean;
  cosine: number;
  /** |‖ours‖ − ‖reference‖| / ‖reference‖. */
  relativeNorm: number;
}

/**
 * The agreement: direction cosine > 0.9999 and norms within 1e-4 relative. Two updates both below
 * 1e-6 of the gradient scale are both zero (their directions are rounding).
 */
export function agreement(ours: readonly number[], reference: readonly number[], scale: number): Agreement {
  const a = norm(ours);
  const b = norm(reference);
  if (a <= 1e-6 * scale && b <= 1e-6 * scale) return { ok: true, cosine: 1, relativeNorm: 0 };
  const cosine = a > 0 && b > 0 ? dot(ours, reference) / (a * b) : 0;
  const relativeNorm = b > 0 ? Math.abs(a - b) / b : Number.POSITIVE_INFINITY;
  return { ok: cosine > 0.9999 && relativeNorm < 1e-4, cosine, relativeNorm };
}

export function describeAgreement(label: string, result: Agreement): string {
  const relative = result.relativeNorm.toExponential(2);
  return `${label}: cosine ${result.cosine.toFixed(7)}, relative norm difference ${relative}`;
}

/** Σ_i w_i g_i in float64. */
export function combine(grads: readonly (readonly number[])[], weights: readonly number[]): number[] {
  return grads[0]!.map((_, k) => grads.reduce((s, g, i) => s + weights[i]! * g[k]!, 0));
}
