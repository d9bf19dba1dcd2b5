/**
 * The library refuses what the CLI refuses: inputs that plain JavaScript (or a notebook) can pass past the types to
 * `combineGradients`, `evaluateRun` and the registries are UsageErrors naming what was wrong and how to fix it,
 * not results computed from them or a TypeError from deep inside.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  architectureRegistry,
  combineGradients,
  evaluateRun,
  layerRegistry,
  loadConfig,
  lossRegistry,
  registerLayer,
  strategyRegistry,
  taskKindRegistry,
  trainExperiment,
} from '../src/index.js';
import { UsageError } from '../src/errors.js';
import type { LossDefinition } from '../src/tasks/types.js';
import { tempDir, writeFile } from './helpers.js';
import { TWO_DIGIT_TASKS } from './helpers/configs.js';
import { configProblems, rejectedUsageError, usageError } from './helpers/expect.js';

const TWO = [
  [1, 0],
  [0, 1],
];

/** The message of the UsageError a call throws. */
const refusal = (f: () => unknown): string => usageError(f).message;

describe('combineGradients checks options as a config does', () => {
  it('refuses cagrad c: -1 and nash-mtl max_norm: -1 with the words of config validation', () => {
    const library = refusal(() => combineGradients('cagrad', TWO, { c: -1 }));
    const config = configProblems(`${TWO_DIGIT_TASKS}strategy: { name: cagrad, c: -1 }\n`);
    expect(config).toHaveLength(1);
    const problem = config[0]!.replace(/^exp\.yaml:\d+:\d+: /, '');
    expect(problem).toBe('strategy.c: must be >= 0 (got -1)');
    expect(library).toBe(
      `combineGradients("cagrad"): ${problem}. A config's strategy section refuses the same values; the allowed ` +
        'ones are under "cagrad" in schema/experiment.schema.json.',
    );
    expect(refusal(() => combineGradients('nash-mtl', TWO, { max_norm: -1 }))).toMatch(
      /^combineGradients\("nash-mtl"\): strategy\.max_norm: must be >= 0 \(got -1\)\. /,
    );
    expect(refusal(() => combineGradients('nash-mtl', TWO, { update_weights_every: 1.5 }))).toMatch(
      /strategy\.update_weights_every: expected a whole number, got 1\.5\. /,
    );
  });

  it("keeps the option readers' own messages and accepts what a config accepts", () => {
    expect(refusal(() => combineGradients('cagrad', TWO, { rescale: 3 }))).toBe(
      'strategy.rescale: expected one of 0, 1, 2, got 3.',
    );
    expect(combineGradients('cagrad', TWO, { c: 0 }).combined).toEqual([0.5, 0.5]);
    expect(combineGradients('nash-mtl', TWO, { max_norm: 0 }).combined.every(Number.isFinite)).toBe(true);
  });

  it('refuses weights_from on weighted-average, saying why and to pass weights instead', () => {
    const message = refusal(() =>
      combineGradients('weighted-average', TWO, { weights_from: { name: 'dwa', temperature: 2 } }),
    );
    expect(message).toMatch(/^combineGradients\("weighted-average"\) does not take weights_from: /);
    expect(message).toMatch(/loss-weighting method as it runs through training/);
    expect(message).toMatch(/Pass the weights themselves instead: \{ weights: \[w_1, …, w_T\] \}/);
    expect(combineGradients('weighted-average', TWO, { weights: [3, 1] }).combined).toEqual([0.75, 0.25]);
    expect(refusal(() => combineGradients('pcgrad', TWO, { grad_target: 'params' }))).toMatch(
      /^combineGradients\("pcgrad"\) does not take grad_target: .*so leave it out\.$/,
    );
  });
});

describe('combineGradients checks the gradients', () => {
  it('refuses a NaN or an infinity, naming the task and the coordinate', () => {
    expect(
      refusal(() =>
        combineGradients('pcgrad', [
          [1, Number.NaN],
          [0, 1],
        ]),
      ),
    ).toBe(
      'combineGradients("pcgrad"): task gradient 0 has NaN at coordinate 1; every entry must be a finite number ' +
        '(a NaN or an infinity usually means the loss it came from diverged).',
    );
    expect(
      refusal(() =>
        combineGradients('mgda', [
          [1, 0],
          [0, 1],
          [2, Number.POSITIVE_INFINITY],
        ]),
      ),
    ).toMatch(/: task gradient 2 has Infinity at coordinate 1;/);
    const nanLoss = [1, Number.NaN];
    expect(refusal(() => combineGradients('db-mtl', TWO, { losses: nanLoss }))).toBe(
      'combineGradients("db-mtl"): losses[1] is NaN; pass one finite loss per task.',
    );
    const extra = [
      [
        [1, 0],
        [0, Number.NaN],
      ],
      TWO,
    ];
    expect(refusal(() => combineGradients('sdmgrad', TWO, { extraSamples: extra }))).toMatch(
      /: extraSamples\[0\] task gradient 1 has NaN at coordinate 1;/,
    );
  });

  it('refuses ragged and empty gradient lists, naming the task', () => {
    expect(
      refusal(() =>
        combineGradients('pcgrad', [
          [1, 0],
          [0, 1, 2],
        ]),
      ),
    ).toBe(
      'combineGradients("pcgrad"): task gradient 1 has 3 coordinates, expected 2 (as task gradient 0): every ' +
        'task gradient is over the same shared parameters, so pass lists of one length.',
    );
    expect(refusal(() => combineGradients('pcgrad', []))).toBe(
      'combineGradients("pcgrad") needs at least one task gradient (a list of number lists, one per task), got [].',
    );
    expect(refusal(() => combineGradients('pcgrad', [[], []]))).toBe(
      'combineGradients("pcgrad"): the task gradients have no coordinates; pass at least one per task.',
    );
  });
});

describe('evaluateRun checks split and checkpoint', () => {
  const dir = tempDir('mtl-library-inputs-');
  const runsDir = path.join(dir, 'runs');
  let runId = '';
  beforeAll(async () => {
    writeFile(dir, 'd.csv', `x,y\n${Array.from({ length: 30 }, (_, i) => `${i},${(i * 0.3) % 2}`).join('\n')}\n`);
    const config = writeFile(
      dir,
      'exp.yaml',
      'backend: wasm\ndata: { csv: d.csv }\ntasks: [{ name: y, type: regression }]\n' +
        'model: { trunk: [{ type: dense, units: 4 }] }\ntraining: { epochs: 1 }\n',
    );
    runId = (await trainExperiment(loadConfig(config), { runsDir })).id;
  }, 120_000);

  it('refuses an unknown split with the message the CLI prints for --split, and writes nothing', async () => {
    const files = (): string[] => readdirSync(path.join(runsDir, runId), { recursive: true }).map(String).sort();
    const before = files();
    // What plain JavaScript can pass: the types refuse 'bogus' in TypeScript.
    const options: { split?: 'test' } = JSON.parse('{ "split": "bogus" }');
    const error = await rejectedUsageError(evaluateRun(runId, { runsDir, ...options }));
    expect(error.message).toBe('split "bogus": expected train, val or test.');
    expect(files()).toEqual(before);
    expect((await evaluateRun(runId, { runsDir, split: 'val' })).data).toBe('val');
  });

  it('refuses an unknown checkpoint name, and a split beside a data file, as the CLI refuses the flags', async () => {
    const checkpoint: { checkpoint?: 'best' } = JSON.parse('{ "checkpoint": "newest" }');
    const named = await rejectedUsageError(evaluateRun(runId, { runsDir, ...checkpoint }));
    // It said the run has no "newest" checkpoint, as if one could exist.
    expect(named.message).toBe('checkpoint "newest": expected best or last.');
    const both = await rejectedUsageError(
      evaluateRun(runId, { runsDir, split: 'val', dataFile: path.join(dir, 'd.csv') }),
    );
    expect(both.message).toBe(
      "split picks rows of the run's own data; with dataFile(s) every row of the file is evaluated.",
    );
  });
});

describe('registering a definition', () => {
  const logCosh: LossDefinition = {
    ...lossRegistry.lookup('mse'),
    name: 'log-cosh',
    description: 'a loss registered by a test',
    fits: ['regression'],
  };

  it('refuses a name that is taken, saying so and how to pick another', () => {
    const taken = usageError(() => lossRegistry.register({ ...logCosh, name: 'mse' }));
    expect(taken.message).toBe(
      'Cannot register loss "mse": the name is taken (by a built-in loss or an earlier register call), and ' +
        'configs refer to definitions by name alone. Give yours another name, e.g. "my-mse"; known: ' +
        `${lossRegistry.names().join(', ')}.`,
    );
    expect(lossRegistry.lookup('mse').description).not.toBe('a loss registered by a test');
    const binary = taskKindRegistry.lookup('binary');
    expect(() => taskKindRegistry.register(binary)).toThrow(/^Cannot register task type "binary": the name is taken/);
    const dense = layerRegistry.lookup('dense');
    expect(() => registerLayer(dense)).toThrow(UsageError);
    const mmoe = architectureRegistry.lookup('mmoe');
    expect(() => architectureRegistry.register(mmoe)).toThrow(/^Cannot register architecture "mmoe"/);
    const pcgrad = strategyRegistry.lookup('pcgrad');
    expect(() => strategyRegistry.register(pcgrad)).toThrow(/^Cannot register strategy "pcgrad"/);
  });

  it('refuses a name a config could not hold, offering one it could', () => {
    const names = lossRegistry.names();
    expect(refusal(() => lossRegistry.register({ ...logCosh, name: 'Bad Name' }))).toBe(
      'Cannot register loss "Bad Name": a name is lower-case letters and digits in words joined by hyphens, ' +
        'starting with a letter (as loss "cross-entropy"), because configs refer to it by that name. Name it ' +
        '"bad-name".',
    );
    expect(refusal(() => lossRegistry.register({ ...logCosh, name: '' }))).toMatch(
      /^Cannot register loss "": .* Give it a name of that form\.$/,
    );
    expect(refusal(() => lossRegistry.register({ ...logCosh, name: 'logCosh' }))).toMatch(/Name it "log-cosh"\.$/);
    expect(lossRegistry.names()).toEqual(names);
  });

  it('refuses a loss whose fits names a task type that is not registered', () => {
    const names = lossRegistry.names();
    expect(refusal(() => lossRegistry.register({ ...logCosh, fits: ['nope'] }))).toBe(
      'Cannot register loss "log-cosh": fits names "nope", not a registered task type (known: ' +
        `${taskKindRegistry.names().join(', ')}). Register the task type first (taskKindRegistry.register(kind)), ` +
        'or fix the name.',
    );
    expect(lossRegistry.names()).toEqual(names);
  });
});
