/**
 * The config mistakes of issue #14 (points 2, 7, 9) through the built CLI, as a user meets them: `mtl validate` and
 * `mtl train` both exit 2 with the located message, print no stack frame, and leave an existing run untouched.
 */
import { type BadInput, describeBadConfigs } from './helpers/config-cli.js';

const badInputs: BadInput[] = [
  {
    what: 'a misspelled model key with the default architecture',
    config: 'model: { archtecture: mmoe }\n',
    problem: 'exp.yaml:11:10: model.archtecture: unknown field "archtecture"; did you mean "architecture"?',
  },
  {
    what: 'a misspelled strategy key with the default strategy',
    config: 'strategy: { nmae: pcgrad }\n',
    problem: 'exp.yaml:11:13: strategy.nmae: unknown field "nmae"; did you mean "name"?',
  },
  {
    what: "the README's --set tasks.0.weight=2 under the default strategy",
    set: ['tasks.0.weight=2'],
    problem: '--set tasks.0.weight=2: tasks[0].weight: has no effect: strategy "equal" does not read task weights',
  },
  {
    what: 'strategy.c under equal',
    set: ['strategy.c=0.5'],
    problem: '--set strategy.c=0.5: strategy.c: "c" has no effect when strategy.name is "equal"',
  },
  {
    what: 'model.experts on hard-sharing',
    set: ['model.experts=4'],
    problem: '--set model.experts=4: model.experts: "experts" has no effect when model.architecture is "hard-sharing"',
  },
  {
    what: 'dselect-k with k > experts',
    config: 'model: { architecture: dselect-k, experts: 2, k: 3 }\n',
    problem: 'exp.yaml:11:50: model.k: k (3) is more than experts (2)',
  },
  {
    what: 'Adam options under sgd',
    set: ['training.optimizer=sgd', 'training.beta2=0.9'],
    problem: '--set training.beta2=0.9: training.beta2: has no effect with training.optimizer "sgd"',
  },
  {
    what: 'a target column among the features',
    config: 'model: { trunk: [{ type: dense, units: 8 }] }\n',
    set: ['data.features=[p0, left]'],
    problem: '--set data.features=[p0, left]: data.features[1]: column "left" is the target of task "left"',
  },
  {
    what: 'a --set path that does not exist',
    set: ['foo.bar.baz=1'],
    problem: '--set foo.bar.baz=1: foo: unknown field "foo"',
  },
  {
    what: 'a --set index past the end of a list',
    set: ['tasks.5.weight=2'],
    problem: 'mtl: --set "tasks.5.weight=2": tasks has 2 entries (indices 0 to 1); index 5 is past the end.',
  },
];

describeBadConfigs('config mistakes of #14 through the CLI', badInputs);
