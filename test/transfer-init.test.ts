import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { tf } from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildModel,
  initBackend,
  initialiseFromSource,
  prepareData,
  readCheckpointWeights,
  readMeta,
  trainExperiment,
  type LoadedConfig,
} from '../src/index.js';
import { checkpointVariables } from '../src/model/checkpoint.js';
import type { MultiTaskModel } from '../src/model/types.js';
import { tempDir } from './helpers.js';
import { bits } from './helpers/expect.js';
import { transferConfig } from './helpers/transfer-init.js';

function values(variable: tf.Variable): number[] {
  return bits(variable.dataSync());
}

describe("init: loading another run's weights", () => {
  const dir = tempDir('mtl-init-');
  const runsDir = path.join(dir, 'runs');
  let sourceId = '';
  beforeAll(async () => {
    await initBackend('wasm', { fma: 'off' });
    const source = await trainExperiment(transferConfig(dir, 'source', { tasks: ['y1', 'y2'] }), { runsDir });
    sourceId = source.id;
  });

  async function built(loaded: LoadedConfig): Promise<MultiTaskModel> {
    const data = await prepareData(loaded.config, dir);
    return buildModel(loaded.config, data.preprocessing);
  }

  it('copies the selected parameters from the best checkpoint and leaves new heads fresh', async () => {
    const loaded = transferConfig(dir, 'target', {
      tasks: ['y2', 'y3'],
      init: [`from: ${sourceId}`, 'load: [shared, heads]'],
    });
    // Variable names are global in TF.js: the fresh model's values are read before the next one is built.
    const fresh = await built(loaded);
    const freshValues = new Map(checkpointVariables(fresh).map((v) => [v.name, values(v)]));
    fresh.dispose();
    const model = await built(loaded);
    const data = await prepareData(loaded.config, dir);
    const init = loaded.config.init;
    if (!init) throw new Error('config has init');
    const lineage = initialiseFromSource(init, model, data.preprocessing, runsDir);
    const source = readCheckpointWeights(path.join(runsDir, sourceId, 'checkpoints', 'best'));
    try {
      expect(lineage.checkpoint).toBe('best');
      expect(lineage.loaded).toEqual([
        'shared/0/kernel',
        'shared/0/bias',
        'tasks/y2/output/kernel',
        'tasks/y2/output/bias',
      ]);
      const sums = JSON.parse(
        readFileSync(path.join(runsDir, sourceId, 'checkpoints', 'best', 'checksums.json'), 'utf8'),
      );
      expect(lineage.weightsSha256).toBe(sums.files['weights.bin']);
      for (const variable of checkpointVariables(model)) {
        const loadedValue = source.named[variable.name];
        const expected = lineage.loaded.includes(variable.name)
          ? loadedValue && bits(loadedValue.dataSync())
          : freshValues.get(variable.name);
        expect(values(variable), variable.name).toEqual(expected);
      }
      // The check means something: fresh weights are not the source's.
      expect(freshValues.get('shared/0/kernel')).not.toEqual(bits(source.named['shared/0/kernel']?.dataSync() ?? []));
    } finally {
      for (const t of Object.values(source.named)) t.dispose();
      model.dispose();
    }
  });

  it('holds frozen parameters bit-identical through training while the rest trains', async () => {
    const loaded = transferConfig(dir, 'frozen', {
      tasks: ['y2', 'y3'],
      init: [`from: ${sourceId}:last`, 'load: [shared, heads]', 'freeze: [shared]'],
      training: { epochs: 3 },
    });
    const run = await trainExperiment(loaded, { runsDir });
    const source = readCheckpointWeights(path.join(runsDir, sourceId, 'checkpoints', 'last'));
    const trained = readCheckpointWeights(path.join(run.dir, 'checkpoints', 'last'));
    try {
      for (const name of ['shared/0/kernel', 'shared/0/bias']) {
        expect(bits(trained.named[name]?.dataSync() ?? []), name).toEqual(bits(source.named[name]?.dataSync() ?? []));
      }
      // The loaded y2 head is not frozen: it trained.
      const head = 'tasks/y2/output/kernel';
      expect(bits(trained.named[head]?.dataSync() ?? [])).not.toEqual(bits(source.named[head]?.dataSync() ?? []));
      const meta = readMeta(run.dir);
      expect(meta.lineage).toMatchObject({
        sourceId,
        checkpoint: 'last',
        frozen: ['shared/0/kernel', 'shared/0/bias'],
        weightsSha256: source.weightsSha256,
      });
    } finally {
      for (const t of [...Object.values(source.named), ...Object.values(trained.named)]) t.dispose();
    }
  });

  it('unfreezes after N epochs with its own learning rate and its own Adam step count', async () => {
    // One batch per epoch, so the unfreeze epoch is one Adam step. Adam's first update of a parameter with its own
    // step count t = 1 is lr·g/(|g| + ε): |Δθ| = unfrozen_lr wherever g ≠ 0 (0.64·lr if t counted the other
    // parameters' 3 updates: (1−β1)/(1−β1³) / sqrt((1−β2)/(1−β2³))).
    const unfrozenLr = 0.002;
    const loaded = transferConfig(dir, 'unfreeze', {
      tasks: ['y2'],
      init: [`from: ${sourceId}`, 'freeze: [shared]', 'unfreeze_after: 2', `unfrozen_lr: ${unfrozenLr}`],
      training: { epochs: 3, batch_size: 128 },
    });
    const kernels: Float32Array[] = [];
    const listener = {
      onEpochEnd: (_record: unknown, model: MultiTaskModel) => {
        const kernel = model.sharedVariables.find((v) => v.name === 'shared/0/kernel');
        if (kernel) kernels.push(Float32Array.from(kernel.dataSync()));
      },
    };
    await trainExperiment(loaded, { runsDir, listeners: [listener] });
    const source = readCheckpointWeights(path.join(runsDir, sourceId, 'checkpoints', 'best'));
    const start = Float32Array.from(source.named['shared/0/kernel']?.dataSync() ?? []);
    for (const t of Object.values(source.named)) t.dispose();
    expect(kernels).toHaveLength(3);
    expect(bits(kernels[0] ?? [])).toEqual(bits(start));
    expect(bits(kernels[1] ?? [])).toEqual(bits(start));
    const steps = Array.from(kernels[2] ?? [], (value, i) => Math.abs(value - (start[i] ?? NaN)));
    const moved = steps.filter((step) => step > 0);
    expect(moved.length).toBeGreaterThan(steps.length / 2);
    for (const step of moved) expect(Math.abs(step - unfrozenLr)).toBeLessThan(2e-6);
  });
});
