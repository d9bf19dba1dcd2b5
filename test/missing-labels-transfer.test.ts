/**
 * The measured effect of learning a label-poor target task alongside a data-rich source task (issue #17, "What must
 * show", seed 004 §3.3): on synthetic-correlated (Ma et al. 2018) with ρ = 1 (the two tasks share their weight vector;
 * each has its own noise), the target y2 keeps 20 training labels (`max_train_rows: 20`, masked elsewhere) while the
 * source y1 has all ~700. Learned together (one shared trunk, masked losses) the target's test MSE is lower than that
 * of the target trained alone on the same 20 rows, the same split and the same val/test rows (`row_label_columns`
 * keeps the multi-task run's rows, as its single-task baseline does), with 10× the epochs so that it takes as many
 * optimizer steps on its rows as it wants. Both numbers are printed.
 *
 * Seeds 0–4 of this setting (with epochs 30/300 for seed 1) gave, together vs alone: 0.99 vs 1.55, 0.55 vs 1.41,
 * 0.91 vs 0.94, 0.50 vs 0.55, 0.96 vs 1.56; the test runs seed 0 (wasm is bit-deterministic, so it cannot flake).
 */
import { describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { tempDir } from './helpers.js';

const config = (tasks: readonly string[], epochs: number, data = '') => `name: transfer
seed: 0
backend: wasm
data:
  dataset: synthetic-correlated
  options: { tasks: 2, correlation: 1, features: 16, samples: 1000 }${data}
tasks:
${tasks.map((t) => `  - ${t}`).join('\n')}
model: { trunk: [{ type: dense, units: 16, activation: relu }] }
training: { epochs: ${epochs}, batch_size: 32, lr: 0.01 }
`;

const source = '{ name: y1, type: regression, metrics: [mse] }';
const target = '{ name: y2, type: regression, metrics: [mse], max_train_rows: 20 }';

describe('a target task with 20 labels learns alongside a data-rich source task', () => {
  it('its test MSE beats the target trained alone on the same 20 rows', async () => {
    const runsDir = tempDir('mtl-transfer-');
    const together = await trainExperiment(parseConfigText(config([source, target], 40)), { runsDir });
    const alone = await trainExperiment(parseConfigText(config([target], 400, '\n  row_label_columns: [y1]')), {
      runsDir,
    });
    const [withSource, withoutSource] = [together.test['y2/mse']!, alone.test['y2/mse']!];
    console.log(
      `target y2 (20 training labels), test MSE: learned with the source y1 ${withSource.toFixed(4)}, ` +
        `alone ${withoutSource.toFixed(4)}`,
    );
    expect(together.labels?.['y2']).toEqual(alone.labels?.['y2']);
    expect(together.labels?.['y2']?.train).toBe(20);
    expect(withSource).toBeLessThan(0.8 * withoutSource);
  }, 60_000);
});
