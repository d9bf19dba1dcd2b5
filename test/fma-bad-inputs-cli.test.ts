/**
 * Mistakes in `backend: { name, fma }` (issue #20 point 2), through the built CLI: `mtl validate` and `mtl train` exit
 * 2 with the located message and change no existing run. The base config's `backend: wasm` is a name, so these also
 * check that `--set backend.<key>=…` on it works as on a mapping.
 */
import { type BadInput, describeBadConfigs, tiny } from './helpers/config-cli.js';

const badInputs: BadInput[] = [
  {
    what: 'an fma value that is not auto, on or off',
    set: ['backend.fma=yes'],
    problem: '--set backend.fma=yes: backend.fma: "yes" is not allowed. Expected one of: auto, on, off.',
  },
  {
    what: 'an unknown key under backend',
    set: ['backend.fused=on'],
    problem: '--set backend.fused=on: backend.fused: unknown field "fused". Allowed here: name, fma.',
  },
  {
    what: 'a misspelled backend name in the mapping',
    set: ['backend.name=gpu'],
    problem:
      '--set backend.name=gpu: backend.name: "gpu" is not allowed; did you mean "cpu"? Expected one of: auto, ' +
      'tensorflow, wasm, cpu.',
  },
  {
    what: 'a backend mapping with a misspelled fma value in the file',
    text: tiny.replace('backend: wasm\n', 'backend: { name: wasm, fma: offf }\n'),
    problem: 'exp.yaml:3:29: backend.fma: "offf" is not allowed; did you mean "off"? Expected one of: auto, on, off.',
  },
];

describeBadConfigs('backend.fma mistakes through the CLI', badInputs);
