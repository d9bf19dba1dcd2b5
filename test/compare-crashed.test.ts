/**
 * `mtl compare` of a run killed with SIGKILL (no summary.json, status `running` with its process gone): its `best`
 * checkpoint is evaluated on the compared split, with the code `mtl eval` uses, and the run is marked as such; compare
 * only reads, so the run's files are the same afterwards.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { evaluateRun, listRuns, trainExperiment } from '../src/index.js';
import { tempDir, writeFile } from './helpers.js';
import { bin, mtl, root } from './helpers/cli.js';
import { digitsConfig } from './helpers/configs.js';

const CONFIG = `${digitsConfig({
  name: 'crashing',
  seed: 5,
  samples: 600,
  trunk: ['{ type: dense, units: 16, activation: relu }'],
  training: { lr: 0.01, batch_size: 8, epochs: 40, early_stopping: '{ metric: mean/accuracy }' },
})}strategy: { name: equal }\n`;

/** Every file under a folder with its bytes' hash and modification time. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const hash = createHash('sha256').update(readFileSync(file)).digest('hex');
    out[path.relative(dir, file)] = `${hash} ${statSync(file).mtimeMs}`;
  }
  return out;
}

describe('mtl compare of a crashed run', () => {
  it("evaluates its best checkpoint, marks it, and leaves the run's files as they were", async () => {
    const dir = tempDir('mtl-compare-crashed-');
    const runsDir = path.join(dir, 'runs');
    const done = await trainExperiment(
      parseConfigText(CONFIG.replace('epochs: 40', 'epochs: 2').replace('name: crashing', 'name: done')),
      { runsDir },
    );
    const configFile = writeFile(dir, 'crashing.yaml', CONFIG);
    const child = spawn(process.execPath, [bin, 'train', configFile, '--runs-dir', runsDir], {
      cwd: root,
      env: { ...process.env, CI: 'true' },
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    let crashedDir: string | undefined;
    for (let i = 0; i < 6000 && crashedDir === undefined && child.exitCode === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const run = readdirSync(runsDir).find((id) => id !== done.id);
      const best = run ? path.join(runsDir, run, 'checkpoints', 'best', 'model.json') : undefined;
      if (run && best && existsSync(best)) crashedDir = path.join(runsDir, run);
    }
    child.kill('SIGKILL');
    await exited;
    if (!crashedDir) throw new Error('the run wrote no best checkpoint before it ended');
    const crashed = listRuns(runsDir).find((run) => run.dir === crashedDir);
    expect(crashed?.status).toBe('crashed');
    expect(existsSync(path.join(crashedDir, 'summary.json'))).toBe(false);
    const before = files(crashedDir);

    const json = mtl(['compare', done.id, crashedDir, '--runs-dir', runsDir, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const comparison = JSON.parse(json.stdout) as {
      runs: { id: string; status: string; metricsFrom: { kind: string; epoch?: number; status?: string } }[];
      rows: { metric: string; values: (number | null)[] }[];
      warnings: string[];
    };
    expect(comparison.runs[0]?.metricsFrom).toEqual({ kind: 'summary' });
    const source = comparison.runs[1]?.metricsFrom;
    expect(source).toMatchObject({ kind: 'best-checkpoint', status: 'crashed' });
    expect(comparison.runs[1]?.status).toBe('crashed');
    expect(comparison.warnings.join('\n')).toContain('has no summary (run crashed)');
    const accuracy = comparison.rows.find((row) => row.metric === 'left/accuracy');
    expect(typeof accuracy?.values[1]).toBe('number');

    const text = mtl(['compare', done.id, crashedDir, '--runs-dir', runsDir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`(from best checkpoint, epoch ${source?.epoch}; run crashed)`);
    expect(files(crashedDir)).toEqual(before);

    // The same numbers as `mtl eval` of that checkpoint (which, unlike compare, stores its result in the run).
    const evaluated = await evaluateRun(crashedDir, { split: 'test', checkpoint: 'best' });
    expect(evaluated.metrics['left/accuracy']).toBe(accuracy?.values[1]);
    expect(evaluated.epoch).toBe(source?.epoch);
  }, 120_000);
});
