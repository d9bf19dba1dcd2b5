// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell text; ${…} is the shell's
/**
 * A scheduler's SIGTERM under the emitted jobs' default MTL. Kubernetes sends SIGTERM to a pod's first process only,
 * which after the container command's `exec` is whatever MTL names. The default was `npx mtl`, and npx does not pass
 * signals on: the trial trained on to its end, unaware, and a pod deleted or preempted mid-trial was killed at the
 * end of its grace period instead of ending the trial `interrupted` with its checkpoint. Emitted from a folder that
 * holds mtl's entry point (a clone, or a project with mtl in node_modules), MTL defaults to node on it: mtl itself.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempDir } from './helpers.js';
import { bin, root } from './helpers/cli.js';
import { mtlIn } from './helpers/emit.js';
import { groupConfig } from './helpers/groups.js';

interface Container {
  env: { name: string; value: string }[];
  command: string[];
}

describe('mtl sweep --emit k8s: a pod’s SIGTERM', () => {
  it('reaches mtl under the default MTL: the trial ends interrupted, exit 130', async () => {
    const dir = tempDir('mtl-emit-sigterm-');
    writeFileSync(path.join(dir, 'base.yaml'), groupConfig({ epochs: 5000 }));
    writeFileSync(path.join(dir, 'sweep.yaml'), 'base: base.yaml\nspace:\n  training.lr: [0.001]\nseeds: [0]\n');
    const runsDir = path.join(dir, 'runs');
    // Emitted from the repository root (the folder the pods run in), the sweep given by an absolute path.
    const emitted = await mtlIn(root, [
      'sweep',
      path.join(dir, 'sweep.yaml'),
      '--emit',
      'k8s',
      '--runs-dir',
      runsDir,
      '--shards',
      '1',
    ]);
    expect(emitted.code, emitted.stderr).toBe(0);
    const manifest = parse(emitted.stdout) as { spec: { template: { spec: { containers: Container[] } } } };
    const [container] = manifest.spec.template.spec.containers;
    const mtl = container?.env.find((e) => e.name === 'MTL')?.value;
    expect(mtl).toBe(`node ${path.relative(root, bin)}`);
    // The pod: its command with the variables Kubernetes sets, in the repository root; the first process gets SIGTERM.
    const pod = spawn('sh', ['-c', container?.command[2] ?? ''], {
      cwd: root,
      env: { ...process.env, CI: 'true', MTL: mtl, JOB_COMPLETION_INDEX: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let signalled = false;
    pod.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (!signalled && /epoch 3\/5000/.test(stderr)) {
        signalled = true;
        pod.kill('SIGTERM');
      }
    });
    const code = await new Promise<number | null>((resolve) => pod.on('close', (c) => resolve(c)));
    expect(signalled, stderr).toBe(true);
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('Interrupted (SIGTERM): finishing the current batch and saving a checkpoint');
    const [sweep] = readdirSync(runsDir);
    const trials = readdirSync(path.join(runsDir, sweep ?? '')).filter((name) => /^[0-9a-f]{12}$/.test(name));
    expect(trials).toHaveLength(1);
    const meta = JSON.parse(readFileSync(path.join(runsDir, sweep ?? '', trials[0] ?? '', 'meta.json'), 'utf8')) as {
      status: string;
      epochsCompleted: number;
    };
    expect(meta.status).toBe('interrupted');
    expect(meta.epochsCompleted).toBeLessThan(5000);
  });
});
