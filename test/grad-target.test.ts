/**
 * issue 13, points 1 and 5: `grad_target: auto` is the target each method's paper uses, an explicit target the paper
 * does not define is allowed with a note, the target used is recorded and printed; MTAdam refuses an Adam optimizer
 * on top of its own step and representation gradients.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { readMeta, type RunStrategy } from '../src/runs/meta.js';
import { strategyRegistry } from '../src/strategies/registry.js';
import { tempDir } from './helpers.js';
import { writeLinearRegressionCsv } from './helpers/csv.js';
import { TWO_DIGIT_TASKS } from './helpers/configs.js';
import { configProblems, usageError } from './helpers/expect.js';

const base = TWO_DIGIT_TASKS;

const needs = (name: string, gradTarget: string, hasSharedRepresentation: boolean): string =>
  strategyRegistry.get(name)!.needs({ name, grad_target: gradTarget }, { hasSharedRepresentation });

describe('grad_target: auto is the target of the paper', () => {
  it('PCGrad, CAGrad, GradVac, Nash-MTL, MTAdam, Aligned-MTL, projection, weighted-average: the parameters', () => {
    for (const name of ['pcgrad', 'cagrad', 'gradvac', 'nash-mtl', 'mtadam', 'aligned-mtl', 'projection']) {
      expect(needs(name, 'auto', true), name).toBe('parameter-gradients');
    }
    expect(needs('weighted-average', 'auto', true)).toBe('parameter-gradients');
  });

  it('MGDA (MGDA-UB), IMTL-G, IMTL: the representation where there is one, else the parameters', () => {
    for (const name of ['mgda', 'imtl-g', 'imtl']) {
      expect(needs(name, 'auto', true), name).toBe('representation-gradients');
      expect(needs(name, 'auto', false), name).toBe('parameter-gradients');
    }
  });

  it('GradDrop: the representation, and only it (test/graddrop-paper.test.ts checks the refusals)', () => {
    expect(needs('graddrop', 'auto', true)).toBe('representation-gradients');
    expect(needs('graddrop', 'auto', false)).toBe('representation-gradients');
  });

  it('an explicit representation target the paper does not define is allowed, with a located note', () => {
    const text = `${base}strategy:\n  name: pcgrad\n  grad_target: representation\n`;
    const loaded = parseConfigText(text, { displayName: 'exp.yaml' });
    expect(loaded.notes).toHaveLength(1);
    expect(loaded.notes![0]).toMatch(
      new RegExp(
        String.raw`^exp\.yaml:11:16: strategy\.grad_target: "pcgrad" runs on representation gradients as asked, ` +
          String.raw`but its paper defines it on params gradients only: Yu et al\.`,
      ),
    );
    // The paper's own target, auto, and a representation variant the paper defines: nothing to say.
    for (const strategy of ['{ name: pcgrad, grad_target: params }', '{ name: pcgrad }', '{ name: mgda }']) {
      expect(parseConfigText(`${base}strategy: ${strategy}\n`).notes, strategy).toBeUndefined();
    }
    for (const name of ['mgda', 'imtl-g', 'imtl', 'aligned-mtl', 'weighted-average']) {
      for (const target of ['params', 'representation']) {
        const loadedVariant = parseConfigText(`${base}strategy: { name: ${name}, grad_target: ${target} }\n`);
        expect(loadedVariant.notes, `${name} ${target}`).toBeUndefined();
      }
    }
  });

  it('an explicit representation target on an architecture without one is still refused', () => {
    const model = 'model: { architecture: soft-sharing }\n';
    const text = `${base}${model}strategy: { name: cagrad, grad_target: representation }\n`;
    expect(configProblems(text)[0]).toMatch(
      new RegExp(
        String.raw`^exp\.yaml:\d+:\d+: strategy\.grad_target: strategy "cagrad" on the representation needs a ` +
          'shared representation',
      ),
    );
  });
});

describe('MTAdam is an optimizer', () => {
  it('refuses training.optimizer adam and adamw, at the optimizer, saying to use sgd', () => {
    for (const optimizer of ['adam', 'adamw']) {
      const problems = configProblems(`${base}training: { optimizer: ${optimizer} }\nstrategy: { name: mtadam }\n`);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        new RegExp(
          String.raw`^exp\.yaml:9:24: training\.optimizer: optimizer "${optimizer}" with strategy "mtadam": ` +
            String.raw`MTAdam is an optimizer: .*use training\.optimizer: sgd`,
        ),
      );
    }
    // The default optimizer is adam: a bare `strategy: mtadam` is refused the same way.
    expect(configProblems(`${base}strategy: { name: mtadam }\n`)[0]).toMatch(/training\.optimizer: optimizer "adam"/);
    for (const optimizer of ['sgd', 'momentum']) {
      expect(() =>
        parseConfigText(`${base}training: { optimizer: ${optimizer} }\nstrategy: { name: mtadam }\n`),
      ).not.toThrow();
    }
  });

  it('refuses representation gradients, at grad_target, in validation and when created', () => {
    const text = `${base}training: { optimizer: sgd }\nstrategy: { name: mtadam, grad_target: representation }\n`;
    expect(configProblems(text)).toEqual([
      expect.stringMatching(
        new RegExp(
          String.raw`^exp\.yaml:10:40: strategy\.grad_target: "mtadam" cannot run on representation gradients: ` +
            'Malkiel & Wolf .*; use grad_target: params$',
        ),
      ),
    ]);
    const tasks = parseConfigText(`${base}training: { optimizer: sgd }\nstrategy: { name: mtadam }\n`).config.tasks;
    const error = usageError(() =>
      strategyRegistry.get('mtadam')!.create({ name: 'mtadam', grad_target: 'representation' }, { tasks, seed: 0 }),
    );
    expect(error.message).toMatch(/strategy\.grad_target: "mtadam" cannot run on representation gradients/);
  });
});

describe('the target used is recorded and reported', () => {
  it('meta.json keeps strategy.gradTarget and the notes; onModelBuilt reports them', async () => {
    const dir = tempDir();
    writeLinearRegressionCsv(dir, 'lin.csv', {
      seed: 1,
      rows: 64,
      features: 3,
      targets: [
        { weights: [1, 0, 0], noise: 0.1 },
        { weights: [0, 1, 0], noise: 0.1 },
      ],
    });
    const config = (strategy: string): string => `name: g
seed: 1
backend: wasm
data: { csv: lin.csv }
tasks:
  - { name: a, type: regression, target: y1 }
  - { name: b, type: regression, target: y2 }
model:
  trunk: [{ type: dense, units: 4 }]
training: { epochs: 1, batch_size: 32 }
strategy: ${strategy}
`;
    const run = async (strategy: string): Promise<{ meta?: RunStrategy; reported?: RunStrategy }> => {
      let reported: RunStrategy | undefined;
      const loaded = parseConfigText(config(strategy), { file: path.join(dir, 'exp.yaml') });
      const summary = await trainExperiment(loaded, {
        runsDir: path.join(dir, 'runs'),
        onModelBuilt: (info) => {
          reported = info.strategy;
        },
      });
      expect(JSON.parse(readFileSync(path.join(summary.dir, 'meta.json'), 'utf8')).strategy).toEqual(reported);
      return { meta: readMeta(summary.dir).strategy, ...(reported ? { reported } : {}) };
    };
    // Hard sharing has a shared representation; PCGrad on auto runs on the parameters, as its paper.
    expect(await run('{ name: pcgrad }')).toEqual({
      meta: { name: 'pcgrad', gradTarget: 'params' },
      reported: { name: 'pcgrad', gradTarget: 'params' },
    });
    expect((await run('{ name: mgda }')).meta).toEqual({ name: 'mgda', gradTarget: 'representation' });
    const asked = (await run('{ name: gradvac, grad_target: representation }')).meta;
    expect(asked?.gradTarget).toBe('representation');
    expect(asked?.notes?.[0]).toMatch(/strategy\.grad_target: "gradvac" runs on representation gradients as asked/);
    expect((await run('{ name: equal }')).meta).toEqual({ name: 'equal' });
  });
});
