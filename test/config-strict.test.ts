/**
 * Issue #14 points 2, 7 and 9 (config): unknown keys are refused whatever defaults apply, options the chosen method
 * does not read are errors that say which methods read them, a target among the features is refused, and a `--set`
 * that creates a path is blamed on the flag.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { architectureRegistry } from '../src/model/registry.js';
import { strategyRegistry } from '../src/strategies/registry.js';
import { TWO_DIGIT_TASKS } from './helpers/configs.js';
import { configProblems, usageError } from './helpers/expect.js';

const base = TWO_DIGIT_TASKS;
const problems = (text: string, overrides: string[] = []): string[] => configProblems(text, { overrides });

describe('unknown keys where a default applies', () => {
  it('refuses a misspelled model key when the architecture is left to its default', () => {
    expect(problems(`${base}model: { archtecture: mmoe }\n`)).toEqual([
      'exp.yaml:9:10: model.archtecture: unknown field "archtecture"; did you mean "architecture"? Allowed here: ' +
        'architecture, trunk, head.',
    ]);
  });

  it('refuses a misspelled strategy key when the strategy is left to its default', () => {
    expect(problems(`${base}strategy: { nmae: pcgrad }\n`)).toEqual([
      'exp.yaml:9:13: strategy.nmae: unknown field "nmae"; did you mean "name"? Allowed here: name.',
    ]);
  });
});

describe('options the chosen method does not read', () => {
  it('names the architectures that read model.experts, on the default hard-sharing and when named', () => {
    const readers = [...architectureRegistry.values()].filter((a) => 'experts' in a.optionsSchema).map((a) => a.name);
    const expected =
      '"experts" has no effect when model.architecture is "hard-sharing"; it is read only when ' +
      `model.architecture is one of ${readers.join(', ')}. Choose one of those, or remove "experts".`;
    expect(problems(`${base}model: { experts: 4 }\n`)).toEqual([`exp.yaml:9:10: model.experts: ${expected}`]);
    expect(problems(`${base}model: { architecture: hard-sharing, experts: 4 }\n`)).toEqual([
      `exp.yaml:9:38: model.experts: ${expected}`,
    ]);
  });

  it('names cagrad for strategy.c under the default equal', () => {
    expect(problems(`${base}strategy: { c: 0.4 }\n`)).toEqual([
      'exp.yaml:9:13: strategy.c: "c" has no effect when strategy.name is "equal"; it is read only when ' +
        'strategy.name is "cagrad". Choose that, or remove "c".',
    ]);
  });

  it("refuses every architecture's options on every architecture that does not read them", () => {
    const architectures = [...architectureRegistry.values()];
    for (const owner of architectures) {
      for (const option of Object.keys(owner.optionsSchema)) {
        const readers = architectures.filter((a) => option in a.optionsSchema).map((a) => a.name);
        for (const other of architectures.filter((a) => !readers.includes(a.name))) {
          const [message, ...rest] = problems(`${base}model: { architecture: ${other.name}, ${option}: 1 }\n`);
          expect(rest, `${option} on ${other.name}`).toEqual([]);
          expect(message, `${option} on ${other.name}`).toContain(
            `model.${option}: "${option}" has no effect when model.architecture is "${other.name}"`,
          );
          for (const reader of readers) expect(message).toContain(reader);
        }
      }
    }
  });

  it("refuses every strategy's options under every strategy that does not read them", () => {
    const strategies = [...strategyRegistry.values()];
    const checked = new Set<string>();
    for (const owner of strategies) {
      for (const option of Object.keys(owner.optionsSchema)) {
        const other = strategies.find((s) => !(option in s.optionsSchema));
        if (!other || checked.has(option)) continue;
        checked.add(option);
        const readers = strategies.filter((s) => option in s.optionsSchema).map((s) => s.name);
        const [message, ...rest] = problems(`${base}strategy: { name: ${other.name}, ${option}: 1 }\n`);
        expect(rest, `${option} under ${other.name}`).toEqual([]);
        expect(message, `${option} under ${other.name}`).toContain(
          `strategy.${option}: "${option}" has no effect when strategy.name is "${other.name}"; it is read only ` +
            `when strategy.name is ${readers.length === 1 ? `"${readers[0]}"` : `one of ${readers.join(', ')}`}.`,
        );
      }
    }
    expect(checked.size).toBeGreaterThan(20);
  });

  it('names the layer types and schedules that read an option', () => {
    expect(problems(`${base}model:\n  trunk:\n    - { type: dropout, rate: 0.1, units: 8 }\n`)).toEqual([
      'exp.yaml:11:35: model.trunk[0].units: "units" has no effect when model.trunk[0].type is "dropout"; it is ' +
        'read only when model.trunk[0].type is "dense". Choose that, or remove "units".',
    ]);
    expect(problems(`${base}training:\n  schedule: { type: cosine, gamma: 0.5 }\n`)).toEqual([
      'exp.yaml:10:29: training.schedule.gamma: "gamma" has no effect when training.schedule.type is "cosine"; it ' +
        'is read only when training.schedule.type is one of step, exponential. Choose one of those, or remove ' +
        '"gamma".',
    ]);
  });

  it('names the loss weighting that reads an option inside weights_from', () => {
    const text = `${base}strategy: { name: weighted-average, weights_from: { name: equal, temperature: 2 } }\n`;
    expect(problems(text)).toEqual([
      'exp.yaml:9:66: strategy.weights_from.temperature: "temperature" has no effect when ' +
        'strategy.weights_from.name is "equal"; it is read only when strategy.weights_from.name is "dwa". Choose ' +
        'that, or remove "temperature".',
    ]);
  });

  it('refuses a task weight under a strategy that does not read it, and names the one that does', () => {
    const weighted = base.replace(
      'type: multiclass\n  - name: right',
      'type: multiclass\n    weight: 2\n  - name: right',
    );
    const message =
      'tasks[0].weight: has no effect: strategy "equal" does not read task weights; they are read only by static, ' +
      'weighted-average (e.g. strategy: { name: static }). Change the strategy, or remove this weight.';
    expect(problems(weighted)).toEqual([`exp.yaml:7:5: ${message}`]);
    expect(problems(`${weighted}strategy: { name: pcgrad }\n`)[0]).toContain('strategy "pcgrad" does not read');
    // The README's example: under the quickstart's strategy it does nothing, so it is refused at the flag.
    expect(problems(base, ['tasks.0.weight=2'])).toEqual([`--set tasks.0.weight=2: ${message}`]);
    expect(parseConfigText(base, { overrides: ['strategy.name=static', 'tasks.0.weight=2'] }).config.tasks[0]).toEqual(
      expect.objectContaining({ weight: 2 }),
    );
    // The form the messages print works too (it was `tasks: unknown field "tasks[0]"`).
    const bracketed = parseConfigText(base, { overrides: ['strategy.name=static', 'tasks[1].weight=3'] }).config;
    expect(bracketed.tasks.map((t) => t.weight)).toEqual([1, 3]);
    expect(problems(base, ['tasks[0].weight=2'])).toEqual([`--set tasks[0].weight=2: ${message}`]);
    expect(() =>
      parseConfigText(`${weighted}strategy: { name: weighted-average, weights_from: { name: static } }\n`),
    ).not.toThrow();
  });

  it('refuses tasks[].positive on a task type that does not read it (only binary does)', () => {
    const withPositive = base.replace(
      'type: multiclass\n  - name: right',
      'type: multiclass\n    positive: "3"\n  - name: right',
    );
    expect(problems(withPositive)).toEqual([
      'exp.yaml:7:5: tasks[0].positive: has no effect on a multiclass task; it is read only by binary tasks (the ' +
        'label that counts as positive). Remove it, or change the task type.',
    ]);
  });

  it('takes a positive label written as a number or a boolean as its text (it was "expected a string, got 1")', () => {
    const binary = (positive: string): string =>
      `data: { dataset: adult-income }\ntasks:\n  - { name: income, type: binary, positive: ${positive} }\n`;
    expect(parseConfigText(binary('1')).config.tasks[0]?.positive).toBe('1');
    expect(parseConfigText(binary('true')).config.tasks[0]?.positive).toBe('true');
    expect(parseConfigText(binary('"yes"')).config.tasks[0]?.positive).toBe('yes');
    expect(problems(binary('[1]'))[0]).toMatch(/tasks\[0\]\.positive: expected a string, got \[1\]/);
  });

  it('refuses a task weight that the strategy overrides or that weighted-average never reads', () => {
    const weighted = base.replace(
      'type: multiclass\n  - name: right',
      'type: multiclass\n    weight: 2\n  - name: right',
    );
    expect(problems(`${weighted}strategy: { name: static, weights: { left: 3 } }\n`)).toEqual([
      "exp.yaml:7:5: tasks[0].weight: has no effect: strategy.weights.left sets this task's weight instead. Change " +
        'the strategy, or remove this weight.',
    ]);
    expect(problems(`${weighted}strategy: { name: weighted-average }\n`)[0]).toContain(
      'without weights_from, weighted-average reads only strategy.weights',
    );
    const fromStatic = 'weights_from: { name: static, weights: { left: 1 } }';
    const inner = `${weighted}strategy:\n  name: weighted-average\n  ${fromStatic}\n`;
    expect(problems(inner)[0]).toContain('strategy.weights_from.weights.left sets this task');
  });

  it("refuses an optimizer's options under another optimizer", () => {
    expect(problems(`${base}training: { optimizer: adam, momentum: 0.5 }\n`)).toEqual([
      'exp.yaml:9:30: training.momentum: has no effect with training.optimizer "adam"; it is read only by momentum. ' +
        'Choose that optimizer, or remove "momentum".',
    ]);
    expect(problems(`${base}training: { optimizer: sgd, beta1: 0.8, epsilon: 1e-8 }\n`)).toEqual([
      'exp.yaml:9:29: training.beta1: has no effect with training.optimizer "sgd"; it is read only by adam, adamw. ' +
        'Choose one of those, or remove "beta1".',
      'exp.yaml:9:41: training.epsilon: has no effect with training.optimizer "sgd"; it is read only by adam, adamw. ' +
        'Choose one of those, or remove "epsilon".',
    ]);
    expect(() => parseConfigText(`${base}training: { optimizer: momentum, momentum: 0.5 }\n`)).not.toThrow();
  });

  it('refuses dselect-k with more selectors than experts', () => {
    expect(problems(`${base}model: { architecture: dselect-k, experts: 3, k: 4 }\n`)).toEqual([
      'exp.yaml:9:50: model.k: k (4) is more than experts (3): each of the k selectors picks one expert, so a gate ' +
        'can use at most 3. Set k to at most 3, or raise experts.',
    ]);
    expect(() => parseConfigText(`${base}model: { architecture: dselect-k, experts: 3, k: 3 }\n`)).not.toThrow();
  });

  it('refuses dselect-k unreachable written where experts is a power of two (it was accepted and did nothing)', () => {
    const unread = (experts: number, bits: string): string =>
      `has no effect: experts (${experts}) is a power of two, so each of the ${experts} codes of a selector's ` +
      `${bits} names an expert: every selector's weights sum to 1 over the experts, and no weight falls on an ` +
      'unreachable code to penalise or renormalise. Remove "unreachable", or set experts to a number that is not ' +
      'a power of two (e.g. 3 or 5).';
    // experts left to its default, 4.
    expect(problems(`${base}model: { architecture: dselect-k, unreachable: renormalise }\n`)).toEqual([
      `exp.yaml:9:35: model.unreachable: ${unread(4, '2 bits')}`,
    ]);
    expect(problems(`${base}model: { architecture: dselect-k, experts: 2, k: 1, unreachable: penalty }\n`)).toEqual([
      `exp.yaml:9:53: model.unreachable: ${unread(2, '1 bit')}`,
    ]);
    expect(problems(`${base}model: { architecture: dselect-k }\n`, ['model.unreachable=penalty'])).toEqual([
      `--set model.unreachable=penalty: model.unreachable: ${unread(4, '2 bits')}`,
    ]);
    // Read where some codes name no expert; the default, not written, is no choice.
    for (const unreachable of ['penalty', 'renormalise']) {
      const text = `${base}model: { architecture: dselect-k, experts: 5, unreachable: ${unreachable} }\n`;
      expect(() => parseConfigText(text)).not.toThrow();
    }
    expect(() => parseConfigText(`${base}model: { architecture: dselect-k, experts: 8 }\n`)).not.toThrow();
  });

  it('refuses cgc and ple without task experts, naming mmoe (they were accepted)', () => {
    expect(problems(`${base}model: { architecture: cgc, shared_experts: 3, task_experts: 0 }\n`)).toEqual([
      'exp.yaml:9:62: model.task_experts: with no task experts, every gate mixes only the 3 shared experts of its ' +
        'level, so no expert learns for one task alone: that is MMoE, not CGC. Set task_experts to 1 or more, or ' +
        'use architecture: mmoe with experts: 3.',
    ]);
    expect(problems(`${base}model: { architecture: ple, task_experts: 0, gate_bias: true }\n`)).toEqual([
      'exp.yaml:9:43: model.task_experts: with no task experts, every gate mixes only the 2 shared experts of its ' +
        'level, so no expert learns for one task alone: the task-specific extraction PLE adds to MMoE is gone. Set ' +
        'task_experts to 1 or more, or use architecture: mmoe with experts: 2 and gate_bias: true.',
    ]);
    expect(problems(`${base}model: { architecture: ple, levels: 1, task_experts: 0 }\n`)[0]).toContain(
      'that is MMoE, not PLE',
    );
    expect(() => parseConfigText(`${base}model: { architecture: ple, task_experts: 1 }\n`)).not.toThrow();
  });
});

describe('target leakage', () => {
  it('refuses a target column among the features, naming the column and the task', () => {
    const text = base.replace('dataset: multi-digits', 'dataset: multi-digits\n  features: [p0, right]');
    expect(problems(text)).toEqual([
      'exp.yaml:4:18: data.features[1]: column "right" is the target of task "right": as a feature it gives the ' +
        'model the answer (target leakage). Remove it from data.features.',
    ]);
  });
});

describe('--set paths that the file does not have', () => {
  it('blames a path the flag created on the flag, not on line 1 of the file', () => {
    expect(problems(base, ['foo.bar.baz=1'])).toEqual([
      '--set foo.bar.baz=1: foo: unknown field "foo". Allowed here: name, seed, seeds, backend, data, tasks, ' +
        'model, training, strategy, baselines, analysis, init, logging, adversary.',
    ]);
    expect(problems(base, ['training.lr.x=1'])).toEqual([
      '--set training.lr.x=1: training.lr: expected a number, got {"x":1}',
    ]);
  });

  it('blames the more specific flag, and still blames the file for what the file wrote', () => {
    expect(problems(base, ['model.architecture=dselect-k', 'model.k=9'])).toEqual([
      '--set model.k=9: model.k: k (9) is more than experts (4): each of the k selectors picks one expert, so a ' +
        'gate can use at most 4. Set k to at most 4, or raise experts.',
    ]);
    expect(problems(`${base}training:\n  epoch: 3\n`, ['training.lr=0.1'])[0]).toMatch(
      /^exp\.yaml:10:3: training\.epoch: unknown field "epoch"/,
    );
  });

  it('refuses an index past the end of a list instead of padding it with empty entries', () => {
    const error = usageError(() => parseConfigText(base, { overrides: ['tasks.5.weight=2'] }));
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      '--set "tasks.5.weight=2": tasks has 2 entries (indices 0 to 1); index 5 is past the end. Use an index up ' +
        'to 1, or 2 to add an entry.',
    );
  });
});
