import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigText } from '../src/config/load.js';
import { buildExperimentSchema } from '../src/config/schema.js';
import { UsageError } from '../src/errors.js';
import { tempDir, writeFile } from './helpers.js';
import { TWO_DIGIT_TASKS } from './helpers/configs.js';
import { configProblems } from './helpers/expect.js';

const base = TWO_DIGIT_TASKS;

const problems = (text: string, overrides: string[] = []): string[] => configProblems(text, { overrides });

describe('config loading', () => {
  it('fills defaults and resolves task targets, losses and metrics', () => {
    const { config } = parseConfigText(base);
    expect(config.training.optimizer).toBe('adam');
    expect(config.training.lr).toBe(0.001);
    expect(config.model.architecture).toBe('hard-sharing');
    expect(config.strategy.name).toBe('equal');
    expect(config.tasks[0]).toMatchObject({
      targets: ['left'],
      loss: 'cross-entropy',
      metrics: ['accuracy', 'macro-f1', 'log-loss'],
      weight: 1,
    });
    // multi-digits controls its own split so composite images never straddle train and test
    expect(config.data.split).toEqual({ column: 'split' });
    expect(Object.isFrozen(config.training)).toBe(true);
  });

  it('reports a misspelled key at its line and column with a suggestion', () => {
    const [message] = problems(`${base}training:\n  epoch: 3\n`);
    expect(message).toBe(
      'exp.yaml:10:3: training.epoch: unknown field "epoch"; did you mean "epochs"? Allowed here: optimizer, lr, ' +
        'momentum, beta1, beta2, epsilon, weight_decay, schedule, warmup_epochs, batch_size, epochs, ' +
        'grad_clip_norm, early_stopping, divergence, eval_batch_size, checkpoint_every_steps, multi_input.',
    );
  });

  it('reports a misspelled enum value with a suggestion', () => {
    const [message] = problems(base.replace('type: multiclass\n  - name: right', 'type: multiclas\n  - name: right'));
    expect(message).toMatch(
      /^exp\.yaml:6:11: tasks\[0\]\.type: "multiclas" is not allowed; did you mean "multiclass"\?/,
    );
  });

  it('reports a wrong type and an out-of-range number', () => {
    const details = problems(`${base}training:\n  batch_size: many\n  lr: -1\n`);
    expect(details).toContain('exp.yaml:10:15: training.batch_size: expected a whole number, got "many"');
    expect(details).toContain('exp.yaml:11:7: training.lr: must be > 0 (got -1)');
  });

  it('reports a missing required field at the parent', () => {
    const details = problems(`${base}model:\n  trunk:\n    - { type: dense }\n`);
    expect(details).toEqual(['exp.yaml:11:7: model.trunk[0]: missing required field "units"']);
  });

  it('reports several errors at once', () => {
    const details = problems(`${base}seed: -3\nbackend: gpu\nstrategy:\n  name: equl\n`);
    expect(details).toHaveLength(3);
    expect(details[2]).toMatch(/strategy\.name: "equl" is not allowed; did you mean "equal"\?/);
  });

  it('reports data given both ways or neither', () => {
    expect(problems('data: {}\ntasks: [{name: a, type: binary}]\n')[0]).toMatch(
      /^exp\.yaml:1:7: data: expected either "dataset: <built-in name>" or "csv: <file path>"/,
    );
  });

  it('checks cross-field rules: split fractions, duplicate tasks, metric fit, early-stopping reference', () => {
    const text = `name: t
data:
  dataset: multi-digits
  split: { train: 0.5, val: 0.1, test: 0.1 }
tasks:
  - { name: left, type: multiclass, metrics: [r2] }
  - { name: left, type: multiclass }
training:
  early_stopping: { metric: rigth/accuracy }
`;
    const details = problems(text);
    expect(details).toContain('exp.yaml:4:10: data.split: train + val + test must sum to 1 (they sum to 0.7)');
    expect(details).toContain('exp.yaml:7:13: tasks[1].name: duplicate task name "left"');
    expect(
      details.some((d) =>
        d.startsWith('exp.yaml:6:47: tasks[0].metrics[0]: metric "r2" does not apply to a multiclass task'),
      ),
    ).toBe(true);
    expect(details.some((d) => d.includes('training.early_stopping.metric: no task named "rigth"'))).toBe(true);
  });

  it('says what is wrong inside the form of a field the config took (split fractions), else names both forms', () => {
    const split = (value: string): string[] =>
      problems(
        `name: t\ndata:\n  dataset: multi-digits\n  split: ${value}\ntasks:\n  - { name: left, type: multiclass }\n`,
      );
    expect(split('{ train: 0.8, val: 0.2, test: 0 }')).toEqual(['exp.yaml:4:40: data.split.test: must be > 0 (got 0)']);
    expect(split('{ column: 7 }')).toEqual([
      'exp.yaml:4:20: data.split.column: expected a string, got 7; YAML reads unquoted numbers, true and false as ' +
        `such: quote text (column: "…", or --set 'data.split.column="…"')`,
    ]);
    expect(split('{ train: 0.8, colum: x }')).toEqual([
      'exp.yaml:4:10: data.split: expected either "column: <split column>" or fractions "train", "val", "test"',
    ]);
  });

  it('reports an unknown dataset with a suggestion and bad dataset options', () => {
    expect(problems(base.replace('multi-digits', 'multi-digit'))[0]).toMatch(
      /^exp\.yaml:3:12: data\.dataset: unknown built-in dataset "multi-digit"; did you mean "multi-digits"\?/,
    );
    expect(
      problems(base.replace('dataset: multi-digits', 'dataset: multi-digits\n  options: { ofset: 2 }'))[0],
    ).toMatch(/^exp\.yaml:4:14: data\.options\.ofset: unknown field "ofset"; did you mean "offset"\?/);
  });

  it('refuses a representation-gradient strategy on an architecture without a shared representation', () => {
    const text = `${base}model: { architecture: soft-sharing }\nstrategy: { name: pcgrad, grad_target: representation }
`;
    expect(problems(text)[0]).toMatch(
      new RegExp(
        String.raw`^exp\.yaml:\d+:\d+: strategy\.grad_target: strategy "pcgrad" on the representation needs a shared ` +
          'representation, which architecture "soft-sharing" does not have',
      ),
    );
    expect(() =>
      parseConfigText(text.replace('soft-sharing', 'cross-stitch').replace('representation', 'auto')),
    ).not.toThrow();
    // Soft sharing shares no parameters either: a gradient method would train exactly as equal (it ran, silently).
    for (const name of ['pcgrad', 'cagrad', 'mtadam']) {
      const training = name === 'mtadam' ? 'training: { optimizer: sgd }\n' : '';
      const onParams = `${base}${training}model: { architecture: soft-sharing }\nstrategy: { name: ${name} }\n`;
      expect(problems(onParams), name).toEqual([
        expect.stringMatching(
          new RegExp(
            String.raw`^exp\.yaml:\d+:\d+: strategy\.name: strategy "${name}" combines the tasks' gradients of the ` +
              String.raw`shared parameters, and architecture "soft-sharing" shares none, so there is nothing to ` +
              String.raw`combine: .* as under "equal"; use an architecture with shared parameters \(hard-sharing, `,
          ),
        ),
      ]);
    }
    expect(() =>
      parseConfigText(`${base}model: { architecture: soft-sharing }\nstrategy: { name: dwa }\n`),
    ).not.toThrow();
  });

  it('applies --set overrides with YAML typing and validates them, naming the flag', () => {
    const { config } = parseConfigText(base, {
      overrides: [
        'training.lr=3e-3',
        'strategy.name=static',
        'tasks.1.weight=2',
        'model.trunk=[{type: dense, units: 8}]',
      ],
    });
    expect(config.training.lr).toBe(0.003);
    expect(config.tasks[1]?.weight).toBe(2);
    expect(config.model.trunk).toEqual([{ type: 'dense', units: 8, activation: 'relu', bias: true }]);
    expect(problems(base, ['training.lr=fast'])).toEqual([
      '--set training.lr=fast: training.lr: expected a number, got "fast"',
    ]);
    expect(() => parseConfigText(base, { overrides: ['training.lr'] })).toThrow(/expected path\.to\.key=value/);
  });

  // `--set name=0x10` said only "expected a string, got 16": the user had written no 16, and was not told how to pass
  // the text.
  it('says how to write text that YAML reads as a number or a boolean, in the file and in --set', () => {
    const hint = (field: string, key: string): string =>
      `; YAML reads unquoted numbers, true and false as such: quote text (${key}: "…", or --set '${field}="…"')`;
    expect(problems(base, ['name=0x10'])).toEqual([
      `--set name=0x10: name: expected a string, got 16${hint('name', 'name')}`,
    ]);
    expect(problems(`name: 2024\n${base.replace(/^name: .*\n/m, '')}`)).toEqual([
      `exp.yaml:1:7: name: expected a string, got 2024${hint('name', 'name')}`,
    ]);
    expect(problems(base, ['tasks.0.name=true'])).toEqual([
      `--set tasks.0.name=true: tasks[0].name: expected a string, got true${hint('tasks[0].name', 'name')}`,
    ]);
    // Quoted, as the hint says, the text is taken.
    expect(parseConfigText(base, { overrides: ['name="0x10"'] }).config.name).toBe('0x10');
    // A number where a number is wanted gets no such hint.
    expect(problems(base, ['training.lr=fast'])[0]).not.toContain('quote');
  });

  it('reports YAML syntax errors with a position', () => {
    expect(problems('data:\n  dataset: [multi-digits\ntasks: []\n')[0]).toMatch(/^exp\.yaml:\d+:\d+: /);
  });

  it('names a missing config file and a missing CSV', () => {
    expect(() => loadConfig('/nope/missing.yaml')).toThrow('Config file not found: /nope/missing.yaml');
    const dir = tempDir();
    const file = writeFile(dir, 'exp.yaml', 'data: { csv: nothere.csv }\ntasks: [{ name: y, type: regression }]\n');
    expect(() => loadConfig(file)).toThrow(UsageError);
    try {
      loadConfig(file);
    } catch (error) {
      expect((error as UsageError).format()).toMatch(/exp\.yaml:1:14: data\.csv: file not found: .*nothere\.csv/);
    }
  });

  it('ships example configs that validate and a schema file in sync with the code', () => {
    const root = path.resolve(import.meta.dirname, '..');
    // Byte for byte what `npm run schema` writes (scripts/write-schema.mjs), key order included.
    const shipped = readFileSync(path.join(root, 'schema', 'experiment.schema.json'), 'utf8');
    expect(shipped).toBe(`${JSON.stringify(buildExperimentSchema(), null, 2)}\n`);
    const quick = loadConfig(path.join(root, 'configs', 'quickstart.yaml'));
    expect(quick.sourceText.startsWith('# yaml-language-server: $schema=../schema/experiment.schema.json')).toBe(true);
  });
});

/** Every YAML config under configs/, its folders included, relative to configs/. */
function shippedConfigs(dir = path.resolve(import.meta.dirname, '..', 'configs'), prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? shippedConfigs(path.join(dir, entry.name), `${prefix}${entry.name}/`)
      : entry.name.endsWith('.yaml')
        ? [`${prefix}${entry.name}`]
        : [],
  );
}

describe('shipped configs', () => {
  const configs = shippedConfigs();

  it('include the top-level examples and the reference configs', () => {
    expect(configs).toEqual(
      expect.arrayContaining(['quickstart.yaml', 'multi-digits-conv.yaml', 'reference/penguins.yaml']),
    );
    expect(configs.length).toBeGreaterThanOrEqual(13);
  });

  it.each(configs)('configs/%s validates, and its $schema line points at the shipped schema', (name) => {
    const file = path.resolve(import.meta.dirname, '..', 'configs', name);
    const loaded = loadConfig(file);
    expect(loaded.config.tasks.length).toBeGreaterThan(0);
    const schemaLine = /^# yaml-language-server: \$schema=(\S+)$/m.exec(loaded.sourceText.split('\n')[0] ?? '');
    expect(schemaLine, 'first line').not.toBeNull();
    expect(path.resolve(path.dirname(file), schemaLine?.[1] ?? '')).toBe(
      path.resolve(import.meta.dirname, '..', 'schema', 'experiment.schema.json'),
    );
  });
});
