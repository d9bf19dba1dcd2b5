/**
 * The data side of domain-adversarial runs (issue #18, adversarial/domains.ts): which training labels the target
 * domain loses (`target_labels: none | keep`), the values the domain column must hold, the target domain's rows for
 * its metrics, and the domain option of synthetic-correlated (a nuisance shift; the table without it unchanged).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOMAIN_TASK, targetDomainRows } from '../src/adversarial/domains.js';
import { parseConfigText } from '../src/config/load.js';
import { buildSyntheticCorrelated } from '../src/data/builtin/synthetic-correlated.js';
import { prepareData } from '../src/data/prepare.js';
import { tempDir, writeFile } from './helpers.js';

/** 30 rows: x, y (numeric, NA on row 4), dom: rows 0–9 and 20–24 in b (the target), the rest in a. */
function csv(): string {
  const lines = ['x,y,dom,part'];
  for (let r = 0; r < 30; r++) {
    const part = r % 3 === 0 ? 'val' : r % 3 === 1 ? 'test' : 'train';
    const dom = r < 10 || (r >= 20 && r < 25) ? 'b' : 'a';
    lines.push(`${r / 10},${r === 4 ? 'NA' : (r / 5).toFixed(2)},${dom},${part}`);
  }
  return `${lines.join('\n')}\n`;
}

const config = (labels: string) => `name: domains
seed: 0
backend: wasm
data:
  csv: data.csv
  split: { column: part }
  domains: { column: dom, source: a, target: b, target_labels: ${labels} }
tasks:
  - { name: y, type: regression }
`;

async function prepared(labels: string) {
  const dir = tempDir('mtl-domains-');
  writeFile(dir, 'data.csv', csv());
  const { config: resolved } = parseConfigText(config(labels), { file: path.join(dir, 'exp.yaml') });
  return { config: resolved, data: await prepareData(resolved, dir) };
}

describe('target_labels', () => {
  it("none: the target domain loses the tasks' training labels only; the discriminator keeps every row", async () => {
    const { config: resolved, data } = await prepared('none');
    expect(resolved.tasks.map((t) => [t.name, t.type, t.targets, t.adversarial])).toEqual([
      ['y', 'regression', ['y'], undefined],
      [DOMAIN_TASK, 'multiclass', ['dom'], { lambda: { max: 1, schedule: 'dann', gamma: 10 } }],
    ]);
    // Training rows (r % 3 = 2): 10 of them; in b: 2, 5, 8, 20, 23 → y keeps the 5 in a.
    expect(data.labelCounts['y']).toEqual({ train: 5, val: 10, test: 9 });
    expect(data.labelCounts[DOMAIN_TASK]).toEqual({ train: 10, val: 10, test: 10 });
    // The target domain's val rows (0, 3, 6, 9, 21, 24) keep their y labels, for the target-domain metrics.
    const domains = resolved.data.domains;
    if (!domains) throw new Error('expected data.domains');
    const target = targetDomainRows(data.splits.val, data.preprocessing, domains);
    expect(target?.rows).toBe(6);
    expect(Array.from(target?.x ?? [])).toEqual([0, 3, 6, 9, 21, 24].map((r) => expectX(data, r)));
  });
  it('keep: the target domain keeps the labels it has (only the NA of row 4 is missing)', async () => {
    const { data } = await prepared('keep');
    expect(data.labelCounts['y']).toEqual({ train: 10, val: 10, test: 9 });
  });
});

/** Row r's x as the preprocessing encodes it (standardised on the training rows). */
function expectX(data: Awaited<ReturnType<typeof prepared>>['data'], r: number): number {
  const feature = data.preprocessing.features[0];
  if (feature?.kind !== 'numeric') throw new Error('expected a numeric feature');
  return Math.fround((r / 10 - feature.center) / feature.scale);
}

describe('synthetic-correlated with a target domain', () => {
  const options = { tasks: 2, correlation: 0.5, scale: 1, features: 6, samples: 400 };
  it('leaves the table without the option exactly as before (no column, same draws)', () => {
    const plain = buildSyntheticCorrelated(options, 3).table;
    const zero = buildSyntheticCorrelated({ ...options, target_domain_shift: 0 }, 3).table;
    expect(zero).toEqual(plain);
    expect(plain.columns.map((c) => c.name)).not.toContain('domain');
  });
  it('shifts the target rows along a direction orthogonal to every task weight vector', () => {
    const { table, weights } = buildSyntheticCorrelated({ ...options, target_domain_shift: 4 }, 3);
    const plain = buildSyntheticCorrelated(options, 3).table;
    const domain = table.columns.find((c) => c.name === 'domain');
    if (domain?.kind !== 'categorical') throw new Error('expected a categorical domain column');
    const inTarget = domain.values.map((v) => v === 'target');
    const share = inTarget.filter(Boolean).length / inTarget.length;
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.6);
    // Each target row moved by the same vector of length 4; source rows did not move; y did not change.
    const column = (t: typeof table, name: string) => {
      const c = t.columns.find((k) => k.name === name);
      if (c?.kind !== 'numeric') throw new Error(`expected numeric ${name}`);
      return c.values;
    };
    const row = inTarget.indexOf(true);
    const shift = Array.from({ length: 6 }, (_, j) => column(table, `x${j}`)[row]! - column(plain, `x${j}`)[row]!);
    expect(Math.hypot(...shift)).toBeCloseTo(4, 9);
    for (const w of weights) expect(w.reduce((s, v, j) => s + v * shift[j]!, 0)).toBeCloseTo(0, 9);
    expect(column(table, 'x0')[inTarget.indexOf(false)]).toBe(column(plain, 'x0')[inTarget.indexOf(false)]);
    // y is a function of w·x only, and w·shift = 0: the target rows' y equal those of the unshifted rows.
    expect(Array.from(column(table, 'y2'))).toEqual(Array.from(column(plain, 'y2')).map((v) => expect.closeTo(v, 9)));
  });
});
