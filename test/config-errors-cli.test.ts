/**
 * Config errors that were already clear before issue #14, kept as the catalogue (docs/bad-inputs.md) lists them:
 * through the built CLI, `mtl validate` and `mtl train` exit 2 with the located message and change no existing run.
 */
import { type BadInput, describeBadConfigs } from './helpers/config-cli.js';

const badInputs: BadInput[] = [
  {
    what: 'a config file that does not exist',
    file: 'nothere.yaml',
    problem: 'mtl: Config file not found: nothere.yaml.',
  },
  { what: 'an empty config file', text: '', problem: 'mtl: exp.yaml is empty: expected a mapping with at least' },
  {
    what: 'a YAML syntax error',
    config: 'model: { trunk: [ }\n',
    // Each problem ends with the library's sentence, not its "at line L, column C:" (the position leads the line).
    problem:
      'mtl: exp.yaml is not valid YAML:\n  - exp.yaml:11:19: Flow sequence in block collection must be sufficiently ' +
      'indented and end with a ]\n  - exp.yaml:11:20: ',
  },
  {
    what: 'a config without tasks',
    text: 'data: { dataset: multi-digits }\n',
    problem: 'exp.yaml:1:1: (top level): missing required field "tasks"',
  },
  {
    what: 'a CSV that does not exist',
    text: 'data: { csv: nothere.csv }\ntasks: [{ name: y, type: regression }]\n',
    problem: 'exp.yaml:1:14: data.csv: file not found: nothere.csv (paths are relative to the config file)',
  },
  {
    what: 'a misspelled key',
    set: ['training.epoch=3'],
    problem: '--set training.epoch=3: training.epoch: unknown field "epoch"; did you mean "epochs"?',
  },
  {
    what: 'a value of the wrong type',
    set: ['training.lr=fast'],
    problem: '--set training.lr=fast: training.lr: expected a number, got "fast"',
  },
  {
    what: 'a number YAML reads as infinite (was "got null")',
    set: ['seed=1e400'],
    problem: '--set seed=1e400: seed: expected a finite whole number, got Infinity',
  },
  {
    what: 'a YAML .inf where a number goes (was "got null")',
    set: ['training.lr=.inf'],
    problem: '--set training.lr=.inf: training.lr: expected a finite number, got Infinity',
  },
  {
    what: 'an unknown key without a near name: the sentence ends before the allowed keys',
    set: ['training.zzz=1'],
    problem: '--set training.zzz=1: training.zzz: unknown field "zzz". Allowed here: ',
  },
  {
    what: 'a reshape that does not fit its input (validate used to pass it: only building the model finds it)',
    set: ['model.trunk=[{type: reshape, shape: [8, 8, 1]}, {type: flatten}]'],
    problem:
      'mtl: model.trunk[0] (reshape): shape [8, 8, 1] holds 64 values, but its input (the model input) has 96; ' +
      'choose [height, width, channels] with height × width × channels = 96',
  },
  {
    what: 'init.load: [] (it loaded nothing, yet recorded the source as the run’s lineage)',
    set: ['init.from=some-run', 'init.load=[]'],
    problem: '--set init.load=[]: init.load: is an empty list; give at least one entry, or remove the field',
  },
  {
    what: 'a misspelled architecture',
    set: ['model.architecture=mmeo'],
    problem: '--set model.architecture=mmeo: model.architecture: "mmeo" is not allowed; did you mean "mmoe"?',
  },
  {
    what: 'a misspelled strategy',
    set: ['strategy.name=pcgard'],
    problem: '--set strategy.name=pcgard: strategy.name: "pcgard" is not allowed; did you mean "pcgrad"?',
  },
  {
    what: 'an unknown built-in dataset',
    set: ['data.dataset=multi-digit'],
    problem: 'data.dataset: unknown built-in dataset "multi-digit"; did you mean "multi-digits"?',
  },
  {
    what: 'split fractions that do not sum to 1',
    set: ['data.split={train: 0.5, val: 0.2, test: 0.2}'],
    problem: 'data.split: train + val + test must sum to 1 (they sum to 0.9)',
  },
  {
    what: 'two tasks with one name',
    set: ['tasks.1.name=left'],
    problem: '--set tasks.1.name=left: tasks[1].name: duplicate task name "left"',
  },
  {
    what: 'an early-stopping metric of a misspelled task',
    set: ['training.early_stopping.metric=lft/accuracy'],
    problem: 'training.early_stopping.metric: no task named "lft"; did you mean "left"?',
  },
  {
    what: 'a loss that does not fit the task type',
    set: ['tasks.0.loss=mse'],
    problem:
      '--set tasks.0.loss=mse: tasks[0].loss: loss "mse" does not fit a multiclass task; use one of: ' +
      'cross-entropy',
  },
  {
    what: 'a metric that does not apply to the task type',
    set: ['tasks.0.metrics=[r2]'],
    problem: 'tasks[0].metrics[0]: metric "r2" does not apply to a multiclass task',
  },
  {
    what: 'a --set without "="',
    set: ['training.lr'],
    problem: 'mtl: --set "training.lr": expected path.to.key=value, e.g. --set training.lr=0.003',
  },
  {
    what: 'mtadam with an Adam optimizer',
    set: ['strategy.name=mtadam'],
    problem: 'exp.yaml:10:11: training.optimizer: optimizer "adam" with strategy "mtadam": MTAdam is an optimizer',
  },
  {
    // It was two problems: "expected a string, got 1" and the list.
    what: 'a value neither of the type nor of the list',
    set: ['strategy.name=loss-ratio', 'strategy.scale=1'],
    problem:
      'exp.yaml has 1 problem:\n' +
      '  - --set strategy.scale=1: strategy.scale: 1 is not allowed. Expected one of: tasks, one.\n',
  },
  {
    // It named the file's `strategy:` line (name: equal), which the flag had replaced.
    what: 'a strategy set by a flag that runs only on a representation the architecture lacks',
    config: 'model: { architecture: mmoe }\nstrategy: { name: equal }\n',
    set: ['strategy.name=graddrop'],
    problem:
      '--set strategy.name=graddrop: strategy.name: strategy "graddrop" on the representation needs a shared ' +
      'representation, which architecture "mmoe" does not have',
  },
  {
    // It named model.architecture, which has such a layer where the trunk has one.
    what: 'GradNorm with a trunk set by a flag that has no layer of weights',
    set: ['strategy.name=gradnorm', 'model.trunk=[{type: dropout, rate: 0.1}]'],
    problem:
      '--set model.trunk=[{type: dropout, rate: 0.1}]: model.trunk: strategy "gradnorm" measures the task gradient ' +
      'norms at the last shared layer of weights: model.trunk has no dense or conv2d layer',
  },
  {
    what: 'a dense layer on an image',
    set: [
      'model.trunk=[{type: reshape, shape: [8,12,1]}, {type: conv2d, filters: 2, kernel: 3}, {type: dense, units: 4}]',
    ],
    problem: 'model.trunk[2]: a dense layer needs a flat input but gets an image; put { type: flatten } before it',
  },
  {
    what: 'representation gradients on an architecture without a shared representation',
    set: ['model.architecture=soft-sharing', 'strategy.name=pcgrad', 'strategy.grad_target=representation'],
    problem:
      'strategy.grad_target: strategy "pcgrad" on the representation needs a shared representation, which ' +
      'architecture "soft-sharing" does not have',
  },
];

// The reshape reaches building the model, the deepest a config error goes before training.
describeBadConfigs(
  'config errors through the CLI',
  badInputs,
  'a reshape that does not fit its input (validate used to pass it: only building the model finds it)',
);
