/**
 * The measured multi-input effect of issue #17 ("What must show"): learning a target task with few labels alongside
 * data-rich source tasks in one multi-input run (each with its own data: source.csv for s1–s3, target.csv for t)
 * beats training the target alone on the same 24 labels. Data as test/transfer-effect.test.ts: a shared trunk that
 * learns the latent z = |W x| from the sources leaves the target a linear read-out, which 24 rows fit. Both numbers
 * are printed; test MSE of t, lower is better. Measured (wasm): seed 0 1.0010 alone, 0.4398 with the sources; seed 1
 * 1.6132 / 0.4773; seed 2 1.0532 / 0.7411; the test asks for at most 0.8 × the target alone.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBackend, parseConfigText, trainExperiment } from '../src/index.js';
import { tempDir } from './helpers.js';
import { writeLatentData } from './helpers/latent-transfer-data.js';

const TRUNK = 'model: { trunk: [{ type: dense, units: 32, activation: relu }] }';

function config(dir: string, name: string, lines: string[]): ReturnType<typeof parseConfigText> {
  const text = [`name: ${name}`, 'backend: wasm', ...lines, ''].join('\n');
  return parseConfigText(text, { file: path.join(dir, `${name}.yaml`) });
}

describe('multi-input effect', () => {
  it('the target learned alongside the sources in one multi-input run beats the target alone', async () => {
    await initBackend('wasm', { fma: 'off' });
    const dir = tempDir('mtl-multi-input-effect-');
    const runsDir = path.join(dir, 'runs');
    writeLatentData(dir);
    const target = '{ name: t, type: regression, data: { csv: target.csv, split: { column: split } } }';
    const results: Array<{ seed: number; aloneMse: number; jointMse: number }> = [];
    for (const seed of [0, 1, 2]) {
      const alone = await trainExperiment(
        config(dir, 'alone', [
          `seed: ${seed}`,
          'data: { csv: target.csv, split: { column: split } }',
          'tasks: [{ name: t, type: regression }]',
          TRUNK,
          'training: { epochs: 60, lr: 0.05, batch_size: 32 }',
        ]),
        { runsDir },
      );
      const joint = await trainExperiment(
        config(dir, 'joint', [
          `seed: ${seed}`,
          'data: { csv: source.csv }',
          'tasks:',
          '  - { name: s1, type: regression }',
          '  - { name: s2, type: regression }',
          '  - { name: s3, type: regression }',
          `  - ${target}`,
          TRUNK,
          'training: { epochs: 20, lr: 0.02, batch_size: 32 }',
        ]),
        { runsDir },
      );
      const aloneMse = alone.test['t/mse'] ?? NaN;
      const jointMse = joint.test['t/mse'] ?? NaN;
      console.log(`seed ${seed}: test MSE of t alone ${aloneMse.toFixed(4)}, with the sources ${jointMse.toFixed(4)}`);
      results.push({ seed, aloneMse, jointMse });
    }
    for (const { seed, aloneMse, jointMse } of results) expect(jointMse, `seed ${seed}`).toBeLessThan(0.8 * aloneMse);
  }, 120_000);
});
