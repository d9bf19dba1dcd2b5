/**
 * bench/torch_reference.py ports the combiners' solvers (MGDA's min-norm point, Nash-MTL's Newton iteration, CAGrad's
 * dual, PCGrad's projections) so that PyTorch's side of the TASKS figures runs the same algorithm with the same
 * iteration counts and tolerances. This checks the ports against the project's functions on the same Gram matrices:
 * equal to 1e-9 (float64 on both sides; numpy's LAPACK solve and our elimination round differently).
 * Skipped where Debian's /usr/bin/python3 has no torch and numpy (the bench's PyTorch side is optional too).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Matrix } from '../src/numerics/index.js';
import { cagradDual } from '../src/strategies/gradient/cagrad.js';
import { minNormElement } from '../src/strategies/gradient/mgda.js';
import { nashWeights } from '../src/strategies/gradient/nash-mtl.js';
import { projectConflicting } from '../src/strategies/gradient/pcgrad.js';

const PYTHON = '/usr/bin/python3';
const root = path.resolve(__dirname, '..');
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;

/** Gram matrix of T deterministic vectors in 6 dimensions, some of them conflicting (negative dot products). */
function gramOf(t: number, seed: number): Matrix {
  let s = seed;
  const next = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.45;
  };
  const vectors = Array.from({ length: t }, () => Array.from({ length: 6 }, next));
  return vectors.map((u) => vectors.map((v) => u.reduce((acc, x, k) => acc + x * v[k]!, 0)));
}

const cases = [2, 3, 5, 8].map((t) => ({ t, g: gramOf(t, 7 + t) }));
const orders = (t: number): number[][] =>
  Array.from({ length: t }, (_, i) => Array.from({ length: t }, (_, k) => (i + k + 1) % t));

function python(): { mgda: number[][]; nash: number[][]; cagrad: number[][]; pcgrad: number[][][] } {
  const script = `
import json, sys
sys.path.insert(0, 'bench')
import numpy
import torch_reference as t
cases = json.loads(sys.stdin.read())
out = {"mgda": [], "nash": [], "cagrad": [], "pcgrad": []}
for case in cases:
    g = case["g"]
    out["mgda"].append([float(x) for x in t.min_norm_element(g)])
    out["nash"].append([float(x) for x in t.nash_weights(numpy.array(g), None)])
    scale = max(g[i][i] for i in range(len(g)))
    out["cagrad"].append([float(x) for x in t.cagrad_dual(numpy.array(g) / scale, 0.5)])
    out["pcgrad"].append(t.project_conflicting(g, case["orders"]))
print(json.dumps(out))
`;
  const input = JSON.stringify(cases.map(({ t, g }) => ({ g, orders: orders(t) })));
  const r = spawnSync(PYTHON, ['-c', script], { cwd: root, input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe.skipIf(!hasTorch)("torch_reference.py's solvers are the combiners'", () => {
  const py = hasTorch ? python() : undefined;
  const close = (actual: readonly number[], expected: readonly number[]): void => {
    expect(actual).toHaveLength(expected.length);
    actual.forEach((x, k) => expect(x).toBeCloseTo(expected[k]!, 9));
  };

  it.each(cases.map((c, index) => [c.t, index]))('T = %i', (_t, index) => {
    const { t, g } = cases[index]!;
    close(py!.mgda[index]!, minNormElement(g));
    close(py!.nash[index]!, nashWeights(g, null));
    const scale = Math.max(...g.map((row, i) => row[i]!));
    close(
      py!.cagrad[index]!,
      cagradDual(
        g.map((row) => row.map((v) => v / scale)),
        0.5,
      ),
    );
    projectConflicting(g, orders(t)).forEach((row, i) => close(py!.pcgrad[index]![i]!, row));
  });
});
