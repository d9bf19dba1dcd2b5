import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBackend, parseConfigText, trainExperiment } from '../src/index.js';
import { tempDir } from './helpers.js';
import { writeLatentData } from './helpers/latent-transfer-data.js';

/**
 * The measured transfer effect of issue #17 ("What must show"): pretraining on data-rich source tasks, then
 * fine-tuning a target task with few labels from the source's trunk, beats training the target from scratch on the
 * same labels.
 *
 * Data: x ∈ ℝ⁸ ~ N(0, I); three latent features z = |W x| (W 3×8, fixed); the source tasks s1, s2, s3 are three
 * linear read-outs of z (600 rows), the target t = bᵀz + 0.05ε another one, with 24 labelled training rows, 40
 * validation and 300 test rows (disjoint from the source's: another draw). A trunk trained on s1–s3 has learned z;
 * the target then needs only a linear head on it, which 24 rows fit, while from scratch the same 24 rows must also
 * find W. Checked at seeds 0–2 (the runs' seed: initial weights and batch order); test MSE of t, lower is better.
 */
function config(dir: string, name: string, lines: string[]): ReturnType<typeof parseConfigText> {
  const text = [`name: ${name}`, 'backend: wasm', ...lines, ''].join('\n');
  return parseConfigText(text, { file: path.join(dir, `${name}.yaml`) });
}

const TRUNK = 'model: { trunk: [{ type: dense, units: 32, activation: relu }] }';

describe('transfer effect', () => {
  it('fine-tuning the target from the source trunk beats training it from scratch on the same 24 labels', async () => {
    await initBackend('wasm', { fma: 'off' });
    const dir = tempDir('mtl-transfer-effect-');
    const runsDir = path.join(dir, 'runs');
    writeLatentData(dir);
    const results: Array<{ seed: number; scratchMse: number; tunedMse: number }> = [];
    for (const seed of [0, 1, 2]) {
      const source = await trainExperiment(
        config(dir, 'source', [
          `seed: ${seed}`,
          'data: { csv: source.csv }',
          'tasks: [{ name: s1, type: regression }, { name: s2, type: regression }, { name: s3, type: regression }]',
          TRUNK,
          'training: { epochs: 20, lr: 0.02, batch_size: 32 }',
        ]),
        { runsDir },
      );
      const target = (name: string, init: string[]) =>
        config(dir, name, [
          `seed: ${seed}`,
          'data: { csv: target.csv, split: { column: split } }',
          'tasks: [{ name: t, type: regression }]',
          TRUNK,
          'training: { epochs: 60, lr: 0.05, batch_size: 32 }',
          ...init,
        ]);
      const scratch = await trainExperiment(target('scratch', []), { runsDir });
      const tuned = await trainExperiment(
        target('fine-tuned', [`init: { from: ${source.id}, load: [shared], freeze: [shared] }`]),
        { runsDir },
      );
      const scratchMse = scratch.test['t/mse'] ?? NaN;
      const tunedMse = tuned.test['t/mse'] ?? NaN;
      console.log(
        `seed ${seed}: test MSE of t from scratch ${scratchMse.toFixed(4)}, fine-tuned ${tunedMse.toFixed(4)}`,
      );
      results.push({ seed, scratchMse, tunedMse });
    }
    for (const { seed, scratchMse, tunedMse } of results)
      expect(tunedMse, `seed ${seed}`).toBeLessThan(0.5 * scratchMse);
  });
});
