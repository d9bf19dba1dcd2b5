/**
 * What `--baselines` says when a baseline cannot be what the run is: a baseline that fails keeps its error's detail
 * lines (once dropped, leaving "a selector picks nothing:" with nothing after it), and the note on an early-stopping
 * metric its task lacks is grammatical for one task and for two.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSubRuns } from '../src/api/baseline-configs.js';
import { parseConfigText } from '../src/config/load.js';
import { readMeta } from '../src/runs/meta.js';
import { tempDir, writeFile } from './helpers.js';
import { mtl } from './helpers/cli.js';
import { transferConfigText } from './helpers/transfer-init.js';

describe('a baseline that fails', () => {
  it("keeps its error's detail lines: which init.load selector picks nothing, and why (exit 1)", () => {
    const dir = tempDir('mtl-baseline-messages-');
    const runsDir = path.join(dir, 'runs');
    const sourceFile = writeFile(dir, 'source.yaml', transferConfigText('source', { tasks: ['y1', 'y2'] }));
    const source = mtl(['train', sourceFile, '--runs-dir', runsDir]);
    expect(source.code, source.stderr).toBe(0);
    // "heads" picks y2's head in the run (tasks y2, y3) and in the baseline of y2, and nothing in the baseline of y3
    // (the source has no y3), which only the source tells: found when that baseline starts. (heads.y2 names a task
    // the baseline of y3 lacks, which the config tells: refused before anything trains, baselines-preflight-cli.)
    const fields = { tasks: ['y2', 'y3'], init: [`from: ${source.stdout.trim()}`, 'load: [shared, heads]'] };
    const file = writeFile(dir, 'target.yaml', transferConfigText('target', fields));
    const result = mtl(['train', file, '--runs-dir', runsDir, '--baselines', 'single-task']);
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    const first = lines.findIndex((line) => line.startsWith('mtl: '));
    expect(lines[first]).toMatch(
      new RegExp(
        '^mtl: Baseline baselines/y3 of run (\\S+) failed \\(the multi-task run \\1 completed and is unchanged\\): ' +
          'init\\.load: a selector picks nothing:$',
      ),
    );
    expect(lines.slice(first + 1)).toEqual([
      '  - "heads" picks nothing: no task of this run is in the source run (a head is loaded into the task of the ' +
        'same name); remove "heads", or name the tasks as in the source',
    ]);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const runId = /of run (\S+) failed/.exec(lines[first] ?? '')?.[1] ?? '';
    expect(readMeta(path.join(runsDir, runId)).status).toBe('completed');
  });
});

describe('the note on an early-stopping metric a baseline lacks', () => {
  it('says "does not report" for one task and "do not report" for two', () => {
    const text = [
      'name: notes',
      'data: { dataset: synthetic-correlated, options: { tasks: 3, samples: 100 } }',
      'tasks:',
      '  - { name: y1, type: regression }',
      '  - { name: y2, type: regression }',
      '  - { name: y3, type: regression }',
      'strategy: { name: uncertainty }',
      'training: { epochs: 1, early_stopping: { metric: y1/mse } }',
      'baselines: single-task',
      'analysis: { pairs: true }',
      '',
    ].join('\n');
    const plans = planSubRuns(parseConfigText(text, { displayName: 'notes.yaml' }));
    const notes = Object.fromEntries(plans.map((plan) => [plan.path, plan.config().notes ?? []]));
    expect(notes['baselines/y2']).toContain(
      'the single-task baseline of task "y2": early stopping follows "loss", as "y1/mse" (the multi-task run\'s) ' +
        'names a metric its task (y2) does not report',
    );
    expect(notes['pairs/y2+y3']).toContain(
      'the pair run y2+y3: early stopping follows "loss", as "y1/mse" (the multi-task run\'s) names a metric its ' +
        'tasks (y2, y3) do not report',
    );
    expect(notes['baselines/y1']?.join('\n') ?? '').not.toContain('early stopping');
  });
});
