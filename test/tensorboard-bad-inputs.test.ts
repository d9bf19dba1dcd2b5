/**
 * Mistakes in the `logging:` section (issue #19's TensorBoard switch) through the built CLI: `mtl validate` and
 * `mtl train` both exit 2 with the located message, print no stack frame, and leave an existing run untouched.
 */
import { type BadInput, describeBadConfigs } from './helpers/config-cli.js';

const badInputs: BadInput[] = [
  {
    what: 'logging.tensorboard not a boolean',
    config: 'logging: { tensorboard: maybe }\n',
    problem: 'exp.yaml:11:25: logging.tensorboard: expected true or false, got "maybe"',
  },
  {
    what: 'a misspelled logging key',
    config: 'logging: { tensorbord: false }\n',
    problem: 'exp.yaml:11:12: logging.tensorbord: unknown field "tensorbord"; did you mean "tensorboard"?',
  },
  {
    what: 'logging: false instead of logging: { tensorboard: false }',
    config: 'logging: false\n',
    problem: 'exp.yaml:11:10: logging: expected a mapping (key: value), got false',
  },
];

describeBadConfigs('mistakes in the logging section through the CLI', badInputs);
