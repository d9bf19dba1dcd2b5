/**
 * How adversaries are reported (issue #18): per epoch in epochs.jsonl, in summary.json (val and test), by `mtl eval`
 * (stored in evals/ and printed in its table, marked as adversary), and never among the main tasks' metrics or their
 * means; `chance` is the majority rate of the adversary's target on the rows measured.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { majorityRate } from '../src/adversarial/adversary-metrics.js';
import { adversaryRows, adversarySummaryLines, adversaryText } from '../src/cli/adversary-output.js';
import { parseConfigText } from '../src/config/load.js';
import { evaluateRun, readEpochLog, trainExperiment } from '../src/index.js';
import { writeSyntheticCsv } from './helpers/csv.js';
import { tempDir } from './helpers.js';

describe('the chance rate', () => {
  it('is the majority class share among the labelled rows', () => {
    const targets = Float32Array.from([0, 2, 2, 1, 2, 0]);
    expect(majorityRate(targets, undefined)).toBe(3 / 6);
    // Rows 1 and 2 unlabelled: classes 0, 1, 2, 0 → 2/4.
    expect(majorityRate(targets, Uint8Array.from([1, 0, 0, 1, 1, 1]))).toBe(2 / 4);
    expect(majorityRate(targets, new Uint8Array(6))).toBeNaN();
  });
});

describe('adversaries in the run files and in `mtl eval`', () => {
  it('are logged per epoch, summarised, evaluated again identically, and kept out of the metrics', async () => {
    const dir = tempDir('mtl-adv-report-');
    writeSyntheticCsv(dir, 'data.csv', {
      seed: 2,
      rows: 60,
      header: ['f0', 'f1', 'y', 'g'],
      digits: 4,
      row: (rng) => {
        const [a, b] = [rng.normal(), rng.normal()];
        return [a, b, a - b > 0 ? 'yes' : 'no', b > 0.3 ? 'g1' : 'g2'];
      },
    });
    const text = `name: report
seed: 1
backend: wasm
data: { csv: data.csv }
tasks:
  - { name: y, type: binary, metrics: [accuracy] }
  - { name: g, type: binary, adversarial: { lambda: 0.5 } }
model: { trunk: [{ type: dense, units: 6, activation: tanh }] }
training: { epochs: 2, batch_size: 16 }
strategy: { name: equal }
`;
    const runsDir = path.join(dir, 'runs');
    const summary = await trainExperiment(parseConfigText(text, { file: path.join(dir, 'exp.yaml') }), { runsDir });
    expect(Object.keys(summary.val).sort()).toEqual(['mean/accuracy', 'mean/loss', 'y/accuracy', 'y/loss']);
    expect(Object.keys(summary.adversaries?.val ?? {})).toEqual(['g']);
    const log = readEpochLog(summary.dir);
    expect(log.map((e) => Object.keys(e.adversaries ?? {}))).toEqual([['g'], ['g']]);
    const raw = JSON.parse(readFileSync(path.join(summary.dir, 'summary.json'), 'utf8'));
    expect(Object.keys(raw.adversaries.test.g).sort()).toEqual(['accuracy', 'chance', 'loss']);
    // The trainer logs the epoch's adversary on validation; the summary is from the best checkpoint, as eval's.
    const best = log[summary.bestEpoch - 1]?.adversaries?.['g'];
    expect(best).toEqual(summary.adversaries?.val['g']);
    const evaluation = await evaluateRun(summary.id, { runsDir, split: 'val' });
    expect(evaluation.adversaries).toEqual(summary.adversaries?.val);
    expect(evaluation.metrics).toEqual(summary.val);
    const stored = JSON.parse(readFileSync(evaluation.file, 'utf8'));
    expect(stored.adversaries).toEqual(summary.adversaries?.val);
  }, 60_000);
});

describe('the CLI text', () => {
  const records = { sex: { loss: 0.61, accuracy: 0.6816, chance: 0.64 } };
  it('marks adversaries and states the chance rate', () => {
    expect(adversaryText(records)).toBe('adversary sex accuracy 0.6816 (chance 0.6400)');
    expect(adversaryRows(records)).toEqual([
      ['sex/loss (adversary)', '0.6100', '-'],
      ['sex/accuracy (adversary)', '0.6816', 'chance 0.6400'],
    ]);
  });
  it('adds the target domain metrics to the summary lines', () => {
    const lines = adversarySummaryLines({
      adversaries: { val: records, test: records },
      targetDomain: { domain: 'b', val: {}, test: { 'y/loss': 0.3, 'y/accuracy': 0.9 } },
    });
    expect(lines).toEqual([
      'adversary sex (test) accuracy 0.6816 (chance 0.6400)',
      'target domain "b": test y/accuracy=0.9000',
    ]);
  });
});
