import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { tempDir } from './helpers.js';
import { mtl } from './helpers/cli.js';
import { smallDigitsConfig } from './helpers/configs.js';
import { snapshotRun } from './helpers/run-snapshot.js';

describe('mtl train on a diverging run (#14 point 6)', () => {
  it('lr 1e6 with Adam: exit 1, the tasks and a remedy on stderr, no "best -1", other runs untouched', async () => {
    const runsDir = tempDir();
    const earlier = await trainExperiment(parseConfigText(smallDigitsConfig(1)), { runsDir });
    const before = snapshotRun(earlier.dir);

    const result = mtl([
      'train',
      'configs/quickstart.yaml',
      '--runs-dir',
      runsDir,
      '--set',
      'training.lr=1e6',
      '--set',
      'data.options.samples=600',
    ]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/epoch 1\/15 .* diverged\n/);
    expect(result.stderr).toMatch(/status diverged; backend \w+; 1 epoch, no best epoch; /);
    expect(result.stderr).toMatch(
      /\ndiverged: task left: training loss \S+ in epoch 1, above \S+ = training\.divergence/,
    );
    expect(result.stderr).toContain('lower training.lr (now 1000000) or set training.grad_clip_norm (e.g. 1)');
    expect(result.stderr).not.toContain('best -1');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const id = result.stdout.trim();
    const meta = JSON.parse(readFileSync(path.join(runsDir, id, 'meta.json'), 'utf8'));
    expect(meta.status).toBe('diverged');
    expect(snapshotRun(earlier.dir)).toEqual(before);

    // Nothing to evaluate: no weights were kept, and the message says why.
    const evaluated = mtl(['eval', id, '--runs-dir', runsDir]);
    expect(evaluated.code, evaluated.stderr).toBe(2);
    expect(evaluated.stderr).toMatch(
      /^mtl: Run \S+ has no "best" checkpoint \(status: diverged\)\.\n {2}- it diverged: task left: training loss/,
    );
    expect(evaluated.stderr).not.toMatch(/\n\s+at /);
    expect(snapshotRun(earlier.dir)).toEqual(before);
  });

  it('with --json: the summary on stdout, and why it diverged on stderr too (what a CI log keeps)', () => {
    const runsDir = tempDir();
    const args = ['--set', 'training.lr=1e6', '--set', 'data.options.samples=600', '--runs-dir', runsDir, '--json'];
    const result = mtl(['train', 'configs/quickstart.yaml', ...args]);
    expect(result.code, result.stderr).toBe(1);
    const summary = JSON.parse(result.stdout) as { status: string; statusReason: string };
    expect(summary.status).toBe('diverged');
    expect(result.stderr).toMatch(/status diverged; backend \w+; 1 epoch, no best epoch; /);
    expect(result.stderr).toContain(`diverged: ${summary.statusReason}`);
  });
});
