/**
 * What `--baselines` says when a baseline cannot be what the run is: a baseline that fails keeps its error's detail
 * lines (once dropped, leaving "a selector picks nothing:" with nothing after it), and the note on an early-stopping
 * metric its task lacks is grammatical for one task and for two.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSubRuns } from '../src/api/baseline-configs.js';
import { trainWithBaselines } from '../src/api/baselines.js';
import { loadConfig, parseConfigText } from '../src/config/load.js';
import { readMeta } from '../src/runs/meta.js';
import { tempDir, writeFile } from './helpers.js';
import { mtl } from './helpers/cli.js';
import { transferConfigText } from './helpers/transfer-init.js';

describe('a baseline that fails', () => {
  it("keeps its error's detail lines: which init.load selector picks nothing, and why (exit 1)", async () => {
    const dir = tempDir('mtl-baseline-messages-');
    const runsDir = path.join(dir, 'runs');
    const sourceFile = writeFile(dir, 'source.yaml', transferConfigText('source', { tasks: ['y2', 'y3'] }));
    const source = mtl(['train', sourceFile, '--runs-dir', runsDir]);
    expect(source.code, source.stderr).toBe(0);
    const sourceId = source.stdout.trim();
    // "heads" picks y2's and y3's heads in the run (tasks y2, y3), and each baseline's own. mtl train checks that
    // against the source's tasks before anything trains (baselines-preflight-cli), so the source is changed under it
    // here, once the run has trained: its y3 becomes y1, and the baseline of y3 then finds no head to load.
    const fields = { tasks: ['y2', 'y3'], init: [`from: ${sourceId}`, 'load: [shared, heads]'] };
    const file = writeFile(dir, 'target.yaml', transferConfigText('target', fields));
    const resolved = path.join(runsDir, sourceId, 'config.resolved.json');
    let runId = '';
    const failing = trainWithBaselines(loadConfig(file, ['baselines=single-task']), {
      runsDir,
      onRunCreated: (run) => {
        runId ||= run.id;
      },
      onSubRunStart: (event) => {
        if (event.label === 'y3') writeFileSync(resolved, readFileSync(resolved, 'utf8').replaceAll('"y3"', '"y1"'));
      },
    });
    const error: unknown = await failing.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toMatchObject({
      exitCode: 1,
      message:
        `Baseline baselines/y3 of run ${runId} failed (the multi-task run ${runId} completed and is unchanged): ` +
        'init.load: a selector picks nothing:',
      details: [
        '"heads" picks nothing: no task of this run is in the source run (a head is loaded into the task of the ' +
          'same name); remove "heads", or name the tasks as in the source',
      ],
    });
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
