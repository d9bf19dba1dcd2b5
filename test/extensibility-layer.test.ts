/**
 * A layer type added from outside the package: a `scale` layer (y = s · x with one learned scalar s) is defined and
 * registered here, in the test file alone, through the library's public exports. Configs, the schema (with its
 * per-type misspelling messages), the rank check at validation, the stack builder and training then know it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  initBackend,
  makeVariable,
  parseConfigText,
  registerLayer,
  trainExperiment,
  UsageError,
  type Layer,
  type LayerDefinition,
} from '../src/index.js';
import { LayerStack } from '../src/model/layers/stack.js';
import { StepClock } from '../src/model/step-clock.js';
import { createRng } from '../src/util/rng.js';
import { tempDir } from './helpers.js';

interface ScaleConfig {
  type: 'scale';
  /** The initial value of s. */
  init: number;
}

class Scale implements Layer {
  readonly factor: tf.Variable;
  readonly trainable: tf.Variable[];
  readonly state: tf.Variable[] = [];
  readonly outputShape: number[];
  readonly outputSize: number;
  constructor(name: string, inputShape: readonly number[], init: number) {
    this.factor = makeVariable(`${name}/scale`, Float32Array.of(init), []);
    this.trainable = [this.factor];
    this.outputShape = [...inputShape];
    this.outputSize = this.outputShape.reduce((p, d) => p * d, 1);
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, this.factor);
  }
}

const scaleLayer: LayerDefinition<ScaleConfig> = {
  name: 'scale',
  optionsSchema: { init: { type: 'number', default: 1 } },
  input: 'flat',
  output: 'input',
  outputShape: (_config, input) => ({ shape: [...input] }),
  build: (config, { name, inputShape }) => new Scale(name, inputShape, config.init),
};

const configText = (trunk: string): string => `name: toy-layer
seed: 3
backend: wasm
data:
  dataset: synthetic-correlated
  options: { samples: 300 }
tasks:
  - { name: y1, type: regression }
  - { name: y2, type: regression }
model:
  trunk:
${trunk}
training:
  epochs: 2
  batch_size: 32
  lr: 0.01
`;

const scaleTrunk = '    - { type: dense, units: 8 }\n    - { type: scale, init: 0.5 }\n';

function problems(text: string): string[] {
  try {
    parseConfigText(text, { displayName: 'toy.yaml' });
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).details;
  }
  throw new Error('expected the config to be rejected');
}

/** What validation said of a config using `scale` before the type was registered. */
let beforeRegistration: string[] = [];

beforeAll(async () => {
  await initBackend('wasm');
  beforeRegistration = problems(configText(scaleTrunk));
  registerLayer(scaleLayer);
}, 60_000);

describe('a layer type registered from outside the package', () => {
  it('is unknown to configs before it is registered, and known after', () => {
    expect(beforeRegistration).toEqual([expect.stringMatching(/^toy\.yaml:13:15: model\.trunk\[1\]\.type: "scale" is not allowed/)]);
    const { config } = parseConfigText(configText('    - { type: dense, units: 8 }\n    - { type: scale }\n'));
    expect(config.model.trunk[1]).toEqual({ type: 'scale', init: 1 });
  });

  it("reports a misspelled option against the layer's own keys", () => {
    expect(problems(configText('    - { type: dense, units: 8 }\n    - { type: scale, inti: 2 }\n'))).toEqual([
      'toy.yaml:13:22: model.trunk[1].inti: unknown field "inti"; did you mean "init"? Allowed here: type, init.',
    ]);
  });

  it('gets the rank check its definition declares (a flat input)', () => {
    const trunk = '    - { type: reshape, shape: [4, 4, 1] }\n    - { type: scale }\n    - { type: flatten }\n';
    expect(problems(configText(trunk))).toEqual([
      'toy.yaml:13:7: model.trunk[1]: a scale layer needs a flat input but gets an image; put { type: flatten } before it',
    ]);
  });

  it('is built by a LayerStack: y = s · x, its variable named by its position', () => {
    const doubling: ScaleConfig = { type: 'scale', init: 2 };
    const stack = new LayerStack('toy', 2, [doubling], createRng(1), new StepClock(1));
    try {
      expect(stack.trainable.map((v) => v.name)).toEqual(['toy/0/scale']);
      expect(stack.outputShape).toEqual([2]);
      const y = stack.apply(tf.tensor2d([[1, -3]]), true);
      expect(Array.from(y.dataSync())).toEqual([2, -6]);
      y.dispose();
    } finally {
      stack.dispose();
    }
  });

  it('trains in a trunk; its learned scalar is in the checkpoint', async () => {
    const summary = await trainExperiment(parseConfigText(configText(scaleTrunk)), { runsDir: tempDir() });
    expect(summary.status).toBe('completed');
    expect(summary.epochs).toBe(2);
    for (const metric of ['y1/mse', 'y2/mse']) expect(Number.isFinite(summary.test[metric])).toBe(true);
    const checkpoint = path.join(summary.dir, 'checkpoints', 'last');
    const json = JSON.parse(readFileSync(path.join(checkpoint, 'model.json'), 'utf8')) as {
      weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>;
    };
    const entries = json.weightsManifest[0]?.weights ?? [];
    expect(entries.find((w) => w.name === 'shared/1/scale')?.shape).toEqual([]);
    const buffer = readFileSync(path.join(checkpoint, 'weights.bin'));
    const named = tf.io.decodeWeights(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength), entries);
    const learned = named['shared/1/scale']?.dataSync()[0];
    for (const tensor of Object.values(named)) tensor.dispose();
    // Trained from 0.5 by two epochs of Adam at lr 0.01: it moved, and stayed finite.
    expect(Number.isFinite(learned)).toBe(true);
    expect(learned).not.toBe(0.5);
  }, 60_000);
});
