/**
 * Layers in a config: the shape rules reported at the layer's line, the schema of each image layer type, layer
 * defaults, and the ple rule on levels after the first.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { configProblems } from './helpers/expect.js';

describe('layers in a config', () => {
  const base = (trunk: string, extra = ''): string => `name: conv-errors
data:
  dataset: multi-digits
tasks:
  - { name: left, type: multiclass }
  - { name: right, type: multiclass }
model:
  trunk:
${trunk}
${extra}`;

  it('config validation reports shape rules at the layer, with its position', () => {
    const details = configProblems(
      base('    - { type: conv2d, filters: 4, kernel: 3 }\n    - { type: dense, units: 8 }'),
    );
    expect(details).toHaveLength(2);
    expect(details[0]).toMatch(/^exp\.yaml:9:7: model\.trunk\[0\]: a conv2d layer needs an image input/);
    expect(details[1]).toMatch(/^exp\.yaml:10:7: model\.trunk\[1\]: a dense layer needs a flat input/);
    const ending = configProblems(
      base('    - { type: reshape, shape: [8, 12, 1] }\n    - { type: max-pool, size: 2 }'),
    );
    expect(ending[0]).toMatch(
      /^exp\.yaml:10:7: model\.trunk\[1\]: the layers end with an image; add \{ type: flatten \}/,
    );
    const denseOnImage = configProblems(
      base('    - { type: reshape, shape: [8, 12, 1] }\n    - { type: dense, units: 8 }'),
    );
    expect(denseOnImage[0]).toMatch(/model\.trunk\[1\]: a dense layer needs a flat input but gets an image/);
  });

  it('the schema checks each new layer type', () => {
    const details = configProblems(
      base(
        [
          '    - { type: reshape, shape: [8, 12] }',
          '    - { type: conv2d, filters: 4, kernel: "3", padding: full }',
          '    - { type: max-pool, size: [2, 2], strides: 2 }',
          '    - { type: flatten, units: 3 }',
        ].join('\n'),
      ),
    );
    expect(details).toContain('exp.yaml:9:31: model.trunk[0].shape: must NOT have fewer than 3 items (got [8,12])');
    expect(details).toContain('exp.yaml:10:43: model.trunk[1].kernel: expected a whole number or a list, got "3"');
    expect(
      details.some((d) => d.includes('model.trunk[1].padding: "full" is not allowed') && d.includes('same, valid')),
    ).toBe(true);
    expect(
      details.some((d) => d.includes('model.trunk[2].strides: unknown field "strides"; did you mean "stride"?')),
    ).toBe(true);
    expect(
      details.some((d) =>
        d.includes('model.trunk[3].units: "units" has no effect when model.trunk[3].type is "flatten"; it is read'),
      ),
    ).toBe(true);
  });

  it('fills layer defaults: conv stride 1, same padding, relu, bias; pool stride = size, valid padding', () => {
    const { config } = parseConfigText(
      base(
        '    - { type: reshape, shape: [8, 12, 1] }\n    - { type: conv2d, filters: 4, kernel: [3, 2] }\n    - { ' +
          'type: avg-pool, size: [2, 3] }\n    - { type: flatten }',
      ),
    );
    expect(config.model.trunk[1]).toEqual({
      type: 'conv2d',
      filters: 4,
      kernel: [3, 2],
      stride: 1,
      padding: 'same',
      activation: 'relu',
      bias: true,
    });
    expect(config.model.trunk[2]).toEqual({ type: 'avg-pool', size: [2, 3], stride: [2, 3], padding: 'valid' });
  });

  it('ple: levels after the first need trunk layers after the flatten', () => {
    const trunk =
      '    - { type: reshape, shape: [8, 12, 1] }\n    - { type: conv2d, filters: 4, kernel: 3 }\n    - { type: ' +
      'flatten }';
    const details = configProblems(base(trunk, '  architecture: ple\n  levels: 2'));
    expect(details).toHaveLength(1);
    expect(details[0]).toMatch(
      /model\.levels: levels after the first are built from the trunk layers after its last flatten/,
    );
    expect(() => parseConfigText(base(trunk, '  architecture: ple\n  levels: 1'))).not.toThrow();
  });
});
