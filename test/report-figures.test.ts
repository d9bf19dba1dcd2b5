/** The report's figure builders on hand-made records (report/compare-figures.ts): marks counted in the drawn SVG. */
import { describe, expect, it } from 'vitest';
import { halvingLadder, tradeOffFigure, type ComparedEntry } from '../src/report/compare-figures.js';
import { conflictFractions } from '../src/report/run-figures.js';
import { countMarks, renderSvg } from '../src/report/vega.js';
import type { HalvingRecord } from '../src/runs/sweep-rungs.js';

const configuration = (n: number, value: number | undefined, promoted: boolean) => ({
  configuration: n,
  trials: [`h${n}`],
  overrides: [`training.lr=${n}`],
  ...(value === undefined ? {} : { value }),
  promoted,
});

describe('halvingLadder', () => {
  it('draws a point per configuration and rung reached, and a line per configuration', async () => {
    const halving: HalvingRecord = {
      metric: 'mean/accuracy',
      higherIsBetter: true,
      minEpochs: 1,
      maxEpochs: 9,
      eta: 3,
      mode: 'sync',
      rule: 'the top max(1, ⌊n/η⌋) by the metric are promoted',
      plan: [
        { rung: 0, epochs: 1, configurations: 3 },
        { rung: 1, epochs: 3, configurations: 1 },
      ],
      rungs: [
        {
          rung: 0,
          epochs: 1,
          decided: true,
          configurations: [
            configuration(0, 0.5, false),
            configuration(1, 0.7, true),
            configuration(2, undefined, false),
          ],
        },
        { rung: 1, epochs: 3, decided: true, configurations: [configuration(1, 0.8, false)] },
      ],
    };
    const figure = halvingLadder(halving, 'sweep');
    expect(figure).toBeDefined();
    const svg = await renderSvg(figure!.spec);
    // Configuration 2 has no value: left out. Points: #0@1, #1@1, #1@3.
    expect(countMarks(svg, 'symbol')).toBe(3);
    expect(countMarks(svg, 'line')).toBe(2);
    expect(figure!.caption).toContain('η = 3');
  });
});

describe('tradeOffFigure', () => {
  it('joins only the Pareto-optimal entries, by each metric’s direction', async () => {
    const entries: ComparedEntry[] = [
      { label: 'a', metrics: { 'x/acc': { mean: 0.9 }, 'y/mse': { mean: 2 } } },
      { label: 'b', metrics: { 'x/acc': { mean: 0.8 }, 'y/mse': { mean: 1 } } },
      { label: 'c', metrics: { 'x/acc': { mean: 0.7 }, 'y/mse': { mean: 3 } } },
      { label: 'd', metrics: { 'x/acc': { mean: 0.95 } } },
    ];
    const figure = tradeOffFigure(
      entries,
      { key: 'x/acc', task: 'x', higherIsBetter: true },
      { key: 'y/mse', task: 'y', higherIsBetter: false },
      'runs',
    );
    const spec = JSON.parse(JSON.stringify(figure.spec)) as {
      layer: unknown[];
      data: { values: { label: string; front: boolean }[] };
    };
    expect(spec.layer).toHaveLength(2);
    const rows = spec.data.values;
    // c is dominated by a and b; d lacks y/mse and is left out (said in the caption).
    expect(rows.map((r) => [r.label, r.front])).toEqual([
      ['a', true],
      ['b', true],
      ['c', false],
    ]);
    expect(figure.caption).toContain('1 left out');
    const svg = await renderSvg(figure.spec);
    expect(countMarks(svg, 'symbol')).toBe(3);
  });
});

describe('conflictFractions', () => {
  it('is the mean over epochs of the per-epoch fraction', () => {
    const epoch = (n: number, fraction: number) => ({
      epoch: n,
      learningRate: 0.01,
      taskWeights: {},
      gradientConflicts: { 'a|b': fraction },
      monitor: { name: 'val/loss', value: 1, improved: false },
      seconds: 0,
      samplesPerSecond: 0,
    });
    expect(conflictFractions([epoch(1, 0.5), epoch(2, 0.25), epoch(3, 0)])).toEqual({ 'a|b': 0.25 });
  });
});
