import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { resumeExperiment } from '../src/api/resume.js';
import { extractFeatures } from '../src/api/features.js';
import { relaxedSimdSupported } from '../src/backend/simd/module.js';
import { UsageError } from '../src/errors.js';
import { tempDir, writeFile } from './helpers.js';
import { root } from './helpers/cli.js';
import { smallDigitsConfig } from './helpers/configs.js';
import { snapshotRun } from './helpers/run-snapshot.js';

/**
 * Resume on the recorded kernels (issue #20 point 2): a run trained with fused multiply-add continues on them, bit for
 * bit; without relaxed SIMD it is refused (exit 2), because the plain kernels would silently change its numbers. The
 * FMA side runs in a child `node --experimental-wasm-relaxed-simd` (vitest's Node 20 has no relaxed SIMD).
 */
function child(runsDir: string, file: string, mode?: string): Record<string, unknown> {
  // Node ≥ 22 has relaxed SIMD on and refuses the flag: only Node 20 gets it.
  const flags = relaxedSimdSupported() ? [] : ['--experimental-wasm-relaxed-simd'];
  const args = [...flags, 'test/helpers/fma-resume-child.mjs', runsDir, file];
  const result = spawnSync(process.execPath, mode ? [...args, mode] : args, { cwd: root, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

describe('resume with backend.fma on', () => {
  it('interrupted and resumed on the FMA kernels: the metrics of the run left alone, bit for bit', () => {
    const file = writeFile(tempDir(), 'fma.yaml', smallDigitsConfig(3));
    const report = child(tempDir(), file);
    expect(report).toMatchObject({ status: 'interrupted', alone: { path: 'fma' }, resumed: { path: 'fma' } });
    const { alone, resumed } = report as { alone: { test: unknown }; resumed: { test: unknown } };
    expect(resumed.test).toEqual(alone.test);
  });

  it.skipIf(relaxedSimdSupported())(
    'without relaxed SIMD: resume and features refused, the run untouched',
    async () => {
      const runsDir = tempDir();
      const file = writeFile(tempDir(), 'fma.yaml', smallDigitsConfig(3));
      const { stopped, path } = child(runsDir, file, 'stop-only') as { stopped: string; path: string };
      expect(path).toBe('fma');
      const dir = `${runsDir}/${stopped}`;
      const before = snapshotRun(dir);
      const expected =
        `Run ${stopped} was trained on the fused multiply-add kernels (meta.json backend.fma.path "fma"), but this ` +
        `runtime (Node ${process.version}) has no WebAssembly relaxed SIMD, which they need: on the plain kernels ` +
        'its numbers would change.';
      const resumed = resumeExperiment(stopped, { runsDir });
      await expect(resumed).rejects.toThrow(UsageError);
      await expect(resumed).rejects.toThrow(expected);
      await expect(extractFeatures(stopped, { runsDir, checkpoint: 'last' })).rejects.toThrow(expected);
      expect(snapshotRun(dir)).toEqual(before);
    },
  );
});
