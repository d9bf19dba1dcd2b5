/**
 * Baselines of a run with a feature adversary (`adversary:`, issue #18): the single-task and towers baselines are
 * the plain single-task models the multi-task method is compared with, so they train without the adversary (the
 * towers baseline was refused before: soft-sharing has no shared representation for it to read).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mtl } from './helpers/cli.js';
import { groupConfig } from './helpers/groups.js';
import { tempDir, writeFile } from './helpers.js';

const ADVERSARY = [
  'adversary:',
  '  type: discriminator',
  '  features: shared',
  '  real: { prior: normal }',
  '  fake: { rows: all }',
  '  weight: 0.1',
].join('\n');

describe('baselines of a run with adversary:', () => {
  it.each(['towers', 'single-task'])(
    'baselines: %s train without the adversary, and say so',
    (baselines) => {
      const dir = tempDir('mtl-adversary-baselines-');
      const config = writeFile(dir, 'run.yaml', `${groupConfig({ epochs: 2 })}baselines: ${baselines}\n${ADVERSARY}\n`);
      const result = mtl(['train', config, '--runs-dir', path.join(dir, 'runs'), '--json']);
      expect(result.stderr).not.toMatch(/would not be a valid config/);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain("trained without the run's adversary (adversary: is left out)");
      const run = JSON.parse(result.stdout) as { dir: string };
      const mtlConfig = JSON.parse(readFileSync(path.join(run.dir, 'config.resolved.json'), 'utf8'));
      expect(mtlConfig.adversary).toBeDefined();
      const sub = baselines === 'towers' ? 'baselines/towers' : 'baselines/y1';
      const baseline = JSON.parse(readFileSync(path.join(run.dir, sub, 'config.resolved.json'), 'utf8'));
      expect(baseline.adversary).toBeUndefined();
    },
    120_000,
  );
});
