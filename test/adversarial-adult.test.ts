/**
 * Task-adversarial training on adult-income (issue #18): income is learned while `sex` is the adversarial task,
 * behind the reversal layer on the shared trunk with DANN-scheduled λ. The features include `relationship`
 * (option extra_columns; Husband/Wife say much about sex and about income), so the income representation of a run
 * without the adversary leaks sex. What the shared representation says about sex is measured twice, on the
 * validation rows against their majority rate: by the jointly trained adversary head, and by a fresh logistic probe
 * trained on the frozen representation of the training rows.
 *
 * Measured (wasm, seed 0): majority 0.640; with the adversary the head falls to 0.640 while income test AUC stays
 * 0.903; without it a fresh probe reads sex at 0.723. BUT a fresh probe on the adversarial run's representation
 * reads sex at 0.790: gradient reversal defeats the head it is trained against without removing the information
 * (the failure Elazar & Goldberg, EMNLP 2018, report for adversarial removal). The test asserts the first three and
 * prints the fourth; docs/notes/adv-task.md says what it means for users.
 */
import path from 'node:path';
import { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import type { EncodedRows } from '../src/data/preprocess.js';
import { prepareData } from '../src/data/prepare.js';
import { trainExperiment } from '../src/index.js';
import type { MultiTaskModel } from '../src/model/types.js';
import { logisticProbeAccuracy } from './helpers/probe.js';
import { tempDir } from './helpers.js';

/** The jointly trained adversary head ends within this margin of the majority rate. */
const MARGIN = 0.03;
/** The adversary must not cost income its signal: test AUC stays above this floor (0.912 without adversary). */
const AUC_FLOOR = 0.88;
/** Without the adversary, a fresh probe reads sex at least this far above the majority rate. */
const LEAK = 0.05;

const FEATURES =
  'age, education_num, capital_gain, capital_loss, hours_per_week, workclass, occupation, race, relationship';
const config = (adversary: boolean) => `name: adult-${adversary ? 'adversarial' : 'plain'}
seed: 0
backend: wasm
data:
  dataset: adult-income
  options: { rows: 4000, extra_columns: [relationship] }
  missing: impute
  features: [${FEATURES}]
tasks:
  - { name: income, type: binary, metrics: [accuracy, auc] }
${adversary ? '  - { name: sex, type: binary, adversarial: { lambda: { max: 1, schedule: dann } } }' : ''}
model:
  trunk:
    - { type: dense, units: 32, activation: relu }
    - { type: dense, units: 16, activation: tanh }
  head: []
training: { lr: 0.003, batch_size: 128, epochs: 10 }
strategy: { name: equal }
`;

beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
}, 60_000);

function representation(model: MultiTaskModel, rows: EncodedRows, width: number): Float32Array {
  const encode = model.encode;
  if (!encode) throw new Error('no shared representation');
  return tf.tidy(() => encode(tf.tensor2d(rows.x, [rows.rows, width]), false).dataSync() as Float32Array);
}

describe('adult-income with sex as the adversarial task', () => {
  it('the trained adversary falls to the majority rate, income is still learned; a probe is reported', async () => {
    const dir = tempDir('mtl-adult-adv-');
    const runsDir = path.join(dir, 'runs');
    const load = (adversary: boolean) => parseConfigText(config(adversary), { file: path.join(dir, 'exp.yaml') });
    // The rows, split and sex labels of both runs: the adversarial config's (sex is a task there, not a feature).
    const data = await prepareData(load(true).config, dir);
    const sex = (rows: EncodedRows) => rows.targets['sex'] as Float32Array;
    const majority = (labels: Float32Array) => {
      const ones = labels.reduce((n, v) => n + v, 0) / labels.length;
      return Math.max(ones, 1 - ones);
    };
    const chance = majority(sex(data.splits.val));
    const probeOf = async (adversary: boolean) => {
      let probe = NaN;
      const summary = await trainExperiment(load(adversary), {
        runsDir,
        listeners: [
          {
            onEpochEnd: (record, model) => {
              if (record.epoch !== 10) return;
              const width = data.preprocessing.inputSize;
              const train = representation(model, data.splits.train, width);
              const val = representation(model, data.splits.val, width);
              const size = train.length / data.splits.train.rows;
              probe = logisticProbeAccuracy(
                { features: train, width: size, labels: sex(data.splits.train) },
                { features: val, width: size, labels: sex(data.splits.val) },
              );
            },
          },
        ],
      });
      return { summary, probe };
    };
    const adversarial = await probeOf(true);
    const plain = await probeOf(false);
    const head = adversarial.summary.adversaries?.val['sex'];
    const auc = adversarial.summary.test['income/auc'] ?? NaN;
    console.log(
      `adult-income, sex adversary: majority rate ${chance.toFixed(3)} (val); with adversary — head accuracy ` +
        `${head?.accuracy.toFixed(3)}, fresh probe ${adversarial.probe.toFixed(3)}, ` +
        `income test AUC ${auc.toFixed(3)}; ` +
        `without — fresh probe ${plain.probe.toFixed(3)}, income test AUC ` +
        `${(plain.summary.test['income/auc'] ?? NaN).toFixed(3)}`,
    );
    expect(head?.chance).toBeCloseTo(chance, 10);
    expect(head?.accuracy).toBeLessThanOrEqual(chance + MARGIN);
    expect(auc).toBeGreaterThan(AUC_FLOOR);
    expect(plain.probe).toBeGreaterThan(chance + LEAK);
    // Not a goal reached, a limit measured (see the head comment): the information is still there for a new probe.
    expect(Number.isFinite(adversarial.probe)).toBe(true);
  }, 60_000);
});
