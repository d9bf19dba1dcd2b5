/**
 * `mtl analyze RUN [--json] [--checkpoint best|last]` as a user runs it: the report on stdout, `analysis.json` stored
 * in the run (replaced by the next analysis, nothing else of the run touched), and the exit code 2 with a clear
 * message for an unknown run, a run without a checkpoint, a run with one task and a bad --checkpoint.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { trainExperiment } from '../src/index.js';
import { tempDir } from './helpers.js';
import { mtl, mtlInProcess } from './helpers/cli.js';

const CONFIG = (name: string, tasks: string) => `name: ${name}
seed: 5
backend: wasm
data: { dataset: synthetic-correlated, options: { correlation: 0.8, samples: 300 } }
tasks:
${tasks}
model: { trunk: [{ type: dense, units: 8, activation: relu }] }
training: { epochs: 3, batch_size: 32, lr: 0.01 }
`;
const TWO = '  - { name: y1, type: regression }\n  - { name: y2, type: regression }';

/** Every file of a run folder but analysis.json, with its content hash, to see that nothing else was written. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string): void => {
    for (const entry of readdirSync(at)) {
      const file = path.join(at, entry);
      if (statSync(file).isDirectory()) walk(file);
      else if (entry !== 'analysis.json')
        out[path.relative(dir, file)] = createHash('sha256').update(readFileSync(file)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

describe('mtl analyze', () => {
  const runsDir = tempDir('mtl-analyze-cli-');
  let id = '';
  let dir = '';
  let other = '';
  beforeAll(async () => {
    const run = await trainExperiment(parseConfigText(CONFIG('pair', TWO)), { runsDir });
    id = run.id;
    dir = run.dir;
    other = (await trainExperiment(parseConfigText(CONFIG('other', TWO)), { runsDir })).dir;
  });

  it('prints the tables, stores analysis.json and touches nothing else; a second analysis replaces it', async () => {
    const before = fingerprint(dir);
    const otherBefore = fingerprint(other);
    const first = mtl(['analyze', id, '--runs-dir', runsDir]);
    expect(first.stderr).not.toContain('internal error');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^gradients \(parameters, from the best checkpoint, \d+ steps\)$/m);
    expect(first.stdout).toMatch(/^pair +mean cosine +conflict$/m);
    expect(first.stdout).toMatch(/^data \(training split, 210 rows\)$/m);
    expect(first.stdout).toMatch(/^suggested grouping \(from gradient-cosine\): /m);
    // One line per step on stderr, in order (issue #19: long operations say where they are).
    const steps = first.stderr.split('\n').filter((line) => line.startsWith('analyze: '));
    expect(steps.map((line) => line.replace(/ \(.*$/, ''))).toEqual([
      'analyze: reading the train and val splits…',
      'analyze: data relatedness of the targets',
      'analyze: task gradients: one pass over 7 batches',
      'analyze: model similarity',
    ]);
    expect(first.stderr).toContain('affinity: train with `analysis: { affinity: true }`');
    expect(first.stderr).toContain('performance: train with `--baselines single-task`');
    expect(first.stderr).toContain(`saved ${path.relative(process.cwd(), path.join(dir, 'analysis.json'))}`);
    const stored = JSON.parse(readFileSync(path.join(dir, 'analysis.json'), 'utf8'));
    expect(stored.run).toBe(id);
    expect(stored.tasks).toEqual(['y1', 'y2']);
    expect(stored.gradient.source).toBe('checkpoint-pass');
    expect(stored.rules.grouping).toContain('exhaustive for ≤ 8 tasks');

    const second = await mtlInProcess(['analyze', id, '--runs-dir', runsDir, '--json', '--checkpoint', 'last']);
    expect(second.code).toBe(0);
    const printed = JSON.parse(second.stdout);
    expect(printed.gradient.checkpoint).toBe('last');
    expect(JSON.parse(readFileSync(path.join(dir, 'analysis.json'), 'utf8'))).toEqual(printed);
    expect(fingerprint(dir)).toEqual(before);
    expect(fingerprint(other)).toEqual(otherBefore);
  });

  it('an unknown run: exit 2, naming the store and how to list runs; no run changed', async () => {
    const before = fingerprint(dir);
    const result = await mtlInProcess(['analyze', 'no-such-run', '--runs-dir', runsDir]);
    expect(result.code).toBe(2);
    expect(fingerprint(dir)).toEqual(before);
    expect(result.stderr).toContain(`mtl: No run "no-such-run" in ${runsDir}`);
    expect(result.stderr).toContain('`mtl runs` lists them');
  });

  it('a bad --checkpoint: exit 2, the run unchanged', async () => {
    const before = fingerprint(dir);
    const result = await mtlInProcess(['analyze', id, '--runs-dir', runsDir, '--checkpoint', 'first']);
    expect(result.code).toBe(2);
    expect(fingerprint(dir)).toEqual(before);
    expect(result.stderr).toContain('--checkpoint "first": expected best or last.');
  });

  it('a run without checkpoints: exit 2, nothing stored', async () => {
    const run = await trainExperiment(parseConfigText(CONFIG('bare', TWO)), { runsDir });
    rmSync(path.join(run.dir, 'checkpoints'), { recursive: true });
    const result = await mtlInProcess(['analyze', run.id, '--runs-dir', runsDir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`mtl: Run ${run.id} has no "best" checkpoint (status: completed).`);
    expect(result.stderr).not.toContain('    at ');
    expect(readdirSync(run.dir)).not.toContain('analysis.json');
  });

  it('a run with one task: exit 2, nothing stored', async () => {
    const run = await trainExperiment(parseConfigText(CONFIG('single', '  - { name: y1, type: regression }')), {
      runsDir,
    });
    const result = await mtlInProcess(['analyze', run.id, '--runs-dir', runsDir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`mtl: Run ${run.id} has one task (y1); relatedness needs two or more.`);
    expect(readdirSync(run.dir)).not.toContain('analysis.json');
  });
});
