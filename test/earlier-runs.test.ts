/**
 * Runs made before an architecture option changed its default still evaluate as the model they trained: the
 * resolved config is read with the value the run had (src/runs/inputs.ts), and a checkpoint holding weights the
 * rebuilt model lacks is refused rather than loaded into a different model.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateRun } from '../src/api/evaluate.js';
import { trainExperiment } from '../src/api/train.js';
import { loadConfig } from '../src/config/load.js';
import { readResolvedConfig } from '../src/runs/inputs.js';
import type { RunSummary } from '../src/runs/summary.js';
import { tempDir, writeFile } from './helpers.js';
import { digitsConfig } from './helpers/configs.js';

function editResolvedModel(runDir: string, edit: (model: Record<string, unknown>) => void): void {
  const file = path.join(runDir, 'config.resolved.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as { model: Record<string, unknown> };
  edit(config.model);
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
}

describe('runs of mmoe with biased gates (the default before gate_bias existed)', () => {
  let summary: RunSummary;
  beforeAll(async () => {
    const dir = tempDir('mtl-earlier-');
    const config = digitsConfig({
      name: 'biased-gates',
      seed: 3,
      samples: 300,
      trunk: ['{ type: dense, units: 8, activation: relu }'],
      training: { epochs: 1, batch_size: 64 },
    }).replace('model:\n', 'model:\n  architecture: mmoe\n  experts: 2\n  gate_bias: true\n');
    summary = await trainExperiment(loadConfig(writeFile(dir, 'exp.yaml', config)), {
      runsDir: path.join(dir, 'runs'),
    });
  });

  it('a resolved config without gate_bias is read as the biased gates it had, and evaluates the same', async () => {
    editResolvedModel(summary.dir, (model) => {
      delete model['gate_bias'];
    });
    expect(readResolvedConfig(summary.dir).model['gate_bias']).toBe(true);
    const again = await evaluateRun(summary.dir, { split: 'test' });
    expect(again.metrics).toEqual(summary.test);
  });

  it('a checkpoint with weights the rebuilt model lacks is refused, naming them', async () => {
    editResolvedModel(summary.dir, (model) => {
      model['gate_bias'] = false;
    });
    await expect(evaluateRun(summary.dir, { split: 'test' })).rejects.toThrow(
      /holds weights the model built from the run's config does not have: ".*gate.*bias.*"/,
    );
  });
});
