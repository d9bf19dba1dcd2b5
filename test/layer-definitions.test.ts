/**
 * What the layer registry decides for every layer type: the defaults a definition fills from other options when a
 * config is resolved, and the error for a layer type nobody registered when a stack is built directly.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { UsageError } from '../src/errors.js';
import { LayerStack } from '../src/model/layers/stack.js';
import { StepClock } from '../src/model/step-clock.js';
import { createRng } from '../src/util/rng.js';

const config = (trunk: string, head: string): string => `data:
  dataset: multi-digits
tasks:
  - { name: left, type: multiclass }
model:
  trunk:
${trunk}
  head:
${head}
`;

describe('layer definitions', () => {
  it("fills a pool's stride from its window size when the config gives none, in the trunk and the head", () => {
    const { config: resolved } = parseConfigText(
      config(
        '    - { type: reshape, shape: [8, 12, 1] }\n    - { type: max-pool, size: [2, 3] }\n    - { type: ' +
          'avg-pool, size: 2, stride: 1 }\n    - { type: flatten }\n',
        '    - { type: dense, units: 4 }\n',
      ),
    );
    expect(resolved.model.trunk[1]).toEqual({ type: 'max-pool', size: [2, 3], stride: [2, 3], padding: 'valid' });
    expect(resolved.model.trunk[2]).toEqual({ type: 'avg-pool', size: 2, stride: 1, padding: 'valid' });
    expect(resolved.model.head[0]).toEqual({ type: 'dense', units: 4, activation: 'relu', bias: true });
  });

  it('names the known layer types and the closest one for an unknown type given to a stack directly', () => {
    let error: unknown;
    try {
      new LayerStack('shared', 4, [{ type: 'dens' }], createRng(1), new StepClock(1));
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(
      'Unknown layer type "dens". Did you mean "dense"? Known: dense, dropout, batch-norm, layer-norm, reshape, ' +
        'conv2d, max-pool, avg-pool, flatten.',
    );
  });
});
