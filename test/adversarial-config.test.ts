/**
 * What validation refuses in the adversarial options of issue #18 (adversarial/config.ts): each with the config line,
 * the field, what was expected and how to fix it; on the CLI exit code 2, no stack trace, an existing run untouched.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/select.js';
import { parseConfigText } from '../src/config/load.js';
import { trainExperiment } from '../src/index.js';
import { tempDir } from './helpers.js';
import { shiftedConfig, writeShiftedSources } from './helpers/adversarial.js';
import { mtl } from './helpers/cli.js';
import { usageError } from './helpers/expect.js';
import { snapshotRun } from './helpers/run-snapshot.js';
import { writeFileSync } from 'node:fs';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { fma: 'off' });
  dir = tempDir('mtl-adversarial-config-');
  writeShiftedSources(dir, 40);
}, 60_000);

const problems = (text: string): string[] => {
  const error = usageError(() => parseConfigText(text, { file: path.join(dir, 'exp.yaml'), displayName: 'exp.yaml' }));
  expect(error.exitCode).toBe(2);
  return error.details;
};

/** One source (a.csv) for both tasks: one input per row. */
const singleInput = (lines: string) => `name: single
data: { csv: a.csv }
tasks:
  - { name: y, type: regression }
  - { name: v, type: regression, target: x1 }
${lines}
`;

describe('refused adversarial configs', () => {
  it('a feature discriminator on an architecture without a shared representation', () => {
    const text = singleInput(
      'model: { architecture: soft-sharing, trunk: [{ type: dense, units: 4 }] }\nadversary: { type: discriminator }',
    );
    expect(problems(text)).toEqual([
      'exp.yaml:7:12: adversary.features: the discriminator reads the shared representation, and architecture ' +
        '"soft-sharing" has none (no layer output every task reads); use one with a shared representation ' +
        '(hard-sharing, attention) or remove adversary',
    ]);
  });

  it('{ task: … } selections with one input per row', () => {
    const text = singleInput('adversary: { type: discriminator, real: { task: y }, fake: { task: v } }');
    const [real, fake] = problems(text);
    expect(real).toBe(
      "exp.yaml:6:49: adversary.real.task: one task's features against another's need tasks with their own data " +
        '(tasks[].data, a multi-input run): here every task reads the same rows; give the tasks their own data or ' +
        'use real: { prior: normal }',
    );
    expect(fake).toMatch(/^exp\.yaml:6:68: adversary\.fake\.task: one task's features against another's need/);
  });

  it('an unknown task name, with a suggestion', () => {
    const text = shiftedConfig({
      epochs: 1,
      adversary: '{ type: discriminator, real: { task: yy }, fake: { task: z } }',
    });
    expect(problems(text)).toEqual([
      'exp.yaml:10:49: adversary.real.task: no task is named "yy" (did you mean "y"?); expected one of y, z',
    ]);
  });

  it('a prior on the fake side, every row on the real side, and a domain before data.domains exists', () => {
    const text = singleInput('adversary: { type: discriminator, real: { rows: all }, fake: { prior: normal } }');
    expect(problems(text)).toEqual([
      'exp.yaml:6:41: adversary.real: every row is on the fake side already, so nothing would differ: use real: ' +
        '{ prior: normal } or { task: … }, and fake: { rows: all } or { task: … }',
      'exp.yaml:6:62: adversary.fake: the fake side must be features the model makes (the generator moves them): ' +
        'use real: { prior: normal } or { task: … }, and fake: { rows: all } or { task: … }',
    ]);
    const domain = singleInput('adversary: { type: discriminator, real: { domain: target } }');
    expect(problems(domain)).toEqual([
      'exp.yaml:6:51: adversary.real.domain: domain selections need data.domains (domain-adversarial transfer), ' +
        'which this config does not define; use { prior: normal } or { task: … } instead',
    ]);
  });

  it('two tasks that read the same data', () => {
    const text = shiftedConfig({
      epochs: 1,
      adversary: '{ type: discriminator, real: { task: y }, fake: { task: w } }',
    }).replace('  - { name: z,', '  - { name: w, type: regression, target: x1 }\n  - { name: z,');
    expect(problems(text)).toEqual([
      'exp.yaml:11:68: adversary.fake.task: tasks "y" and "w" read the same data, so their rows are the same rows; ' +
        'pick tasks with different data sources',
    ]);
  });

  it("shared-private's task discriminator with one input per row", () => {
    const text = singleInput(
      'model:\n  architecture: shared-private\n  trunk: [{ type: dense, units: 4 }]\n' +
        '  task_discriminator: { weight: 0.1 }',
    );
    expect(problems(text)).toEqual([
      'exp.yaml:9:23: model.task_discriminator: the task discriminator tells tasks apart by the data their rows come ' +
        'from, and here every task reads the same rows (one input per row), so it has nothing to learn; give the ' +
        'tasks their own data (tasks[].data, a multi-input run) or remove model.task_discriminator',
    ]);
  });

  it('a selection with two keys, and an unknown option (the schema)', () => {
    const both = problems(singleInput('adversary: { type: discriminator, real: { prior: normal, task: y } }'));
    expect(both).toEqual([
      'exp.yaml:6:41: adversary.real: a selection names exactly one of prior, rows, task or domain; got prior and ' +
        'task: use real: { prior: normal } or { task: … }, and fake: { rows: all } or { task: … }',
    ]);
    const unknown = problems(singleInput('adversary: { type: discriminator, wieght: 1 }'));
    expect(unknown.join('\n')).toContain('adversary.wieght');
  });
});

describe('on the command line', () => {
  it('exit code 2, the message without a stack trace, and an existing run left as it was', async () => {
    const runsDir = path.join(dir, 'runs');
    const run = await trainExperiment(
      parseConfigText(shiftedConfig({ epochs: 1 }), { file: path.join(dir, 'ok.yaml') }),
      {
        runsDir,
      },
    );
    const before = snapshotRun(run.dir);
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, singleInput('adversary: { type: discriminator, real: { task: y }, fake: { task: v } }'));
    const result = mtl(['train', file, '--runs-dir', runsDir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('bad.yaml:6:49: adversary.real.task: ');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(snapshotRun(run.dir)).toEqual(before);
  }, 60_000);
});
