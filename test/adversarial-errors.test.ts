/**
 * Bad inputs around adversaries and domains (issue #18; docs/notes/bad-inputs-adv-task.md), through the CLI (the
 * first case the built one, the others its `main` in this process): each exits 2 with a message that names the file
 * and field (or the data file), what was expected and how to fix it, no stack frame, and leaves a run made before it
 * exactly as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  contextFor,
  folderDigest,
  makeExistingRun,
  removeTree,
  runCase,
  type BadInputCase,
  type ExistingRun,
} from './helpers/bad-inputs.js';

/** 40 rows: x0, x1, a numeric y, a binary c (p/n), a domain column dom (a/b, and one row of c when asked). */
function csv(options: { thirdDomain: boolean }): string {
  const lines = ['x0,x1,y,c,dom'];
  for (let r = 0; r < 40; r++) {
    const dom = options.thirdDomain && r === 7 ? 'c' : r % 3 === 0 ? 'b' : 'a';
    lines.push(`${(r % 7) / 7},${(r % 3) / 3},${(r / 10).toFixed(2)},${r % 2 === 0 ? 'p' : 'n'},${dom}`);
  }
  return `${lines.join('\n')}\n`;
}

const config = (options: { data?: string; tasks?: string; model?: string; rest?: string } = {}) => `name: bad
backend: wasm
data: { csv: data.csv${options.data ?? ''} }
tasks:
${options.tasks ?? '  - { name: y, type: regression }\n  - { name: c, type: binary, adversarial: { lambda: 1 } }'}
model: { architecture: ${options.model ?? 'hard-sharing'}, trunk: [{ type: dense, units: 4, activation: relu }] }
training: { epochs: 1 }
${options.rest ?? ''}`;

const domains = (fields: string) => `, domains: { ${fields} }`;
const ok = 'column: dom, source: a, target: b';

type Case = BadInputCase & { thirdDomain?: boolean; config: string };
const cases: Case[] = [
  {
    does: 'puts an adversarial task on an architecture without a shared representation (mmoe)',
    config: config({ model: 'mmoe' }),
    args: () => [],
    exitCode: 2,
    message: /model\.architecture: adversarial task "c" reads the shared .* "mmoe" has no .*: hard-sharing, attention/,
  },
  {
    does: 'makes every task adversarial',
    config: config({ tasks: '  - { name: c, type: binary, adversarial: { lambda: 1 } }' }),
    args: () => [],
    exitCode: 2,
    message: /tasks: every task is adversarial \(c\): .* at least one task must not be adversarial/,
  },
  {
    does: 'gives an adversarial task a negative λ',
    config: config({
      tasks: '  - { name: y, type: regression }\n  - { name: c, type: binary, adversarial: { lambda: -0.5 } }',
    }),
    args: () => [],
    exitCode: 2,
    message: /tasks\[1\]\.adversarial\.lambda: λ must be ≥ 0 \(got -0\.5\)/,
  },
  {
    does: 'gives the DANN schedule a negative maximum',
    config: config({
      tasks:
        '  - { name: y, type: regression }\n' +
        '  - { name: c, type: binary, adversarial: { lambda: { max: -1, schedule: dann } } }',
    }),
    args: () => [],
    exitCode: 2,
    message: /tasks\[1\]\.adversarial\.lambda\.max: λ must be ≥ 0 \(got -1\)/,
  },
  {
    does: 'makes a regression task adversarial',
    config: config({
      tasks: '  - { name: c, type: binary }\n  - { name: y, type: regression, adversarial: { lambda: 1 } }',
    }),
    args: () => [],
    exitCode: 2,
    message: /tasks\[1\]\.type: an adversarial task .* must be binary or multiclass \(got regression\)/,
  },
  {
    does: 'asks for single-task baselines of a run with an adversary',
    config: config({ rest: 'baselines: single-task\n' }),
    args: () => [],
    exitCode: 2,
    message: /baselines: baselines would train the adversarial task \(c\) as ordinary tasks/,
  },
  {
    does: 'gives an adversarial task a weight',
    config: config({
      tasks: '  - { name: y, type: regression }\n  - { name: c, type: binary, weight: 2, adversarial: { lambda: 1 } }',
      rest: 'strategy: { name: static }\n',
    }),
    args: () => [],
    exitCode: 2,
    message: /tasks\[1\]\.weight: has no effect: an adversarial task is not one of the strategy's tasks/,
  },
  {
    does: "stops early on the adversary's metric",
    config: config({ rest: 'training: { epochs: 1, early_stopping: { metric: c/accuracy } }\n' }).replace(
      'training: { epochs: 1 }\n',
      '',
    ),
    args: () => [],
    exitCode: 2,
    message: /training\.early_stopping\.metric: task "c" is adversarial: it reports in "adversaries"/,
  },
  {
    does: "gives data.domains a negative λ: one problem, at data.domains (not again at the discriminator's task)",
    config: config({ data: domains(`${ok}, lambda: -2`), tasks: '  - { name: y, type: regression }' }),
    args: () => [],
    exitCode: 2,
    message: /has 1 problem:\n {2}- \S*exp\.yaml:3:\d+: data\.domains\.lambda: λ must be ≥ 0 \(got -2\)/,
  },
  {
    does: 'writes data.domains without a column, source or target (a domain discriminator without domains)',
    config: config({ data: domains('lambda: 1'), tasks: '  - { name: y, type: regression }' }),
    args: () => [],
    exitCode: 2,
    message: /data\.domains: missing required field "(column|source|target)"/,
  },
  {
    does: 'names a data.domains target value the domain column does not have',
    config: config({ data: domains('column: dom, source: a, target: B'), tasks: '  - { name: y, type: regression }' }),
    args: () => [],
    exitCode: 2,
    message: /\S*exp\.yaml:3:67: data\.domains\.target: "B" is not a value of column "dom" in \S*data\.csv/,
  },
  {
    does: 'names a data.domains column the data does not have',
    config: config({
      data: domains('column: domain_x, source: a, target: b'),
      tasks: '  - { name: y, type: regression }',
    }),
    args: () => [],
    exitCode: 2,
    message: /data\.domains\.column: column "domain_x" is not in .*data\.csv/,
  },
  {
    does: 'has rows of a domain that is neither source nor target',
    thirdDomain: true,
    config: config({ data: domains(ok), tasks: '  - { name: y, type: regression }' }),
    args: () => [],
    exitCode: 2,
    message: /data\.csv: data\.domains: column "dom" has rows of domain "c", neither source nor target/,
  },
  {
    does: 'lists the target domain among the sources',
    config: config({
      data: domains('column: dom, source: [a, b], target: b'),
      tasks: '  - { name: y, type: regression }',
    }),
    args: () => [],
    exitCode: 2,
    message: /data\.domains\.target: "b" is also a source domain/,
  },
  {
    does: "masks the target domain's labels with data.missing_targets: drop",
    config: config({ data: `, missing_targets: drop${domains(ok)}`, tasks: '  - { name: y, type: regression }' }),
    args: () => [],
    exitCode: 2,
    message: /data\.domains\.target_labels: none masks the target domain's labels, and data\.missing_targets is "drop"/,
  },
  {
    does: 'names a task "domain" beside data.domains',
    config: config({ data: domains(ok), tasks: '  - { name: domain, type: regression, target: y }' }),
    args: () => [],
    exitCode: 2,
    message: /tasks\[0\]\.name: "domain" is the name of the domain discriminator that data\.domains adds/,
  },
  {
    does: 'uses data.domains on an architecture without a shared representation',
    config: config({ data: domains(ok), tasks: '  - { name: y, type: regression }', model: 'cross-stitch' }),
    args: () => [],
    exitCode: 2,
    message: /model\.architecture: the domain discriminator reads the shared representation/,
  },
];

let existing: ExistingRun;
beforeAll(() => {
  existing = makeExistingRun();
}, 120_000);
afterAll(() => removeTree(existing.base));

describe('bad inputs with adversaries and domains: exit 2, a message, the existing run untouched', () => {
  // The first case through the built CLI, the others through its `main` in this process (the same messages).
  for (const [index, testCase] of cases.entries()) {
    it(testCase.does, async () => {
      const context = contextFor(existing);
      const before = folderDigest(existing.runDir);
      context.file('data.csv', csv({ thirdDomain: testCase.thirdDomain === true }));
      const file = context.file('exp.yaml', testCase.config);
      const result = await runCase(testCase, ['train', file, '--runs-dir', existing.runsDir], index > 0);
      expect(result.code, result.stderr).toBe(testCase.exitCode);
      expect(result.stderr).toMatch(testCase.message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stdout).toBe('');
      expect(folderDigest(existing.runDir)).toEqual(before);
    }, 60_000);
  }
});
