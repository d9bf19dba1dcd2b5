import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relaxedSimdSupported } from '../src/backend/simd/module.js';
import { mtl } from './helpers/cli.js';

describe('help', () => {
  it('asked for, exits 0; shown because no command was given, exits 2 (a usage error) with the help on stderr', () => {
    for (const args of [['--help'], ['help'], ['help', 'train'], ['train', '--help']]) {
      const asked = mtl(args);
      expect(asked.code, args.join(' ')).toBe(0);
      expect(asked.stdout, args.join(' ')).toMatch(/^Usage: mtl/);
    }
    for (const args of [[], ['--verbose']]) {
      const missing = mtl(args);
      expect(missing.code, `mtl ${args.join(' ')}`).toBe(2);
      expect(missing.stdout).toBe('');
      expect(missing.stderr).toMatch(/^Usage: mtl \[options\] \[command\]/);
    }
  });
});

describe('mtl --version', () => {
  it('prints the version alone, and with --verbose the backends as mtl doctor does', () => {
    const plain = mtl(['--version']);
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);

    const verbose = mtl(['--version', '--verbose']);
    expect(verbose.code).toBe(0);
    const [version, ...rest] = verbose.stdout.trim().split('\n');
    expect(version).toBe(plain.stdout.trim());
    const report = rest.join('\n');
    expect(report).toMatch(/^node v\d+/);
    expect(report).toMatch(/@tensorflow\/tfjs-node-gpu\s+(yes|no)/);
    expect(report).toMatch(/^wasm\s+yes$/m);
    expect(report).toMatch(/^cpu\s+yes$/m);

    const json = mtl(['-V', '--verbose', '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout.trim().split('\n').slice(1).join('\n')) as {
      backends: Array<{ backend: string; ok: boolean }>;
    };
    expect(parsed.backends.find((b) => b.backend === 'wasm')?.ok).toBe(true);
  });
});

describe('what the CLI loads', () => {
  // Whether a CommonJS module of TF.js is in Node's module cache after `main(args)` (the ESM loader puts the
  // CommonJS packages it loads there), in a process of its own, with the command's exit code; its output is dropped.
  const loads = (args: string[]): { tfjs: boolean; code: number } => {
    const script = [
      `const { main } = await import(${JSON.stringify(pathToFileURL(path.resolve('dist/cli/main.js')).href)});`,
      `const code = await main(${JSON.stringify(args)});`,
      "const { createRequire } = await import('node:module');",
      'const cache = createRequire(`${process.cwd()}/`).cache;',
      "process.stderr.write(`tfjs=${Object.keys(cache).some((k) => k.includes('@tensorflow'))} code=${code}\\n`);",
    ].join('\n');
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const verdict = /tfjs=(true|false) code=(\d+)/.exec(run.stderr);
    if (!verdict) throw new Error(`no verdict for ${args.join(' ')}: ${run.stderr}`);
    return { tfjs: verdict[1] === 'true', code: Number(verdict[2]) };
  };
  let runsDir = '';
  const ids: string[] = [];
  beforeAll(() => {
    runsDir = mkdtempSync(path.join(os.tmpdir(), 'mtl-cli-loads-'));
    const config = path.resolve('configs/quickstart.yaml');
    for (const seed of [1, 2]) {
      const set = ['training.epochs=1', 'data.options.samples=300', `seed=${seed}`].flatMap((s) => ['--set', s]);
      const trained = mtl(['train', config, '--runs-dir', runsDir, '--backend', 'wasm', ...set]);
      if (trained.code !== 0) throw new Error(`training failed:\n${trained.stderr}`);
      ids.push(trained.stdout.trim());
    }
  });
  afterAll(() => rmSync(runsDir, { recursive: true, force: true }));

  it('--version, --help, and `runs`, `compare`, `report` of stored runs load no TF.js (~0.4 s of each start)', () => {
    for (const args of [
      ['--version'],
      ['--help'],
      ['train', '--help'],
      ['runs', '--runs-dir', runsDir],
      ['compare', ids[0]!, ids[1]!, '--runs-dir', runsDir],
      ['compare', ids[0]!, ids[1]!, '--runs-dir', runsDir, '--json'],
      ['report', ids[0]!, ids[1]!, '--runs-dir', runsDir, '-o', path.join(runsDir, 'report.html')],
    ])
      expect(loads(args), args.join(' ')).toEqual({ tfjs: false, code: 0 });
  });

  it('a command that evaluates, trains or probes the backends does', () => {
    expect(loads(['doctor', '--json'])).toEqual({ tfjs: true, code: 0 });
    expect(loads(['eval', ids[0]!, '--runs-dir', runsDir, '--json'])).toEqual({ tfjs: true, code: 0 });
  });
});

describe('mtl doctor: the wasm matrix kernels', () => {
  it('says whether fused multiply-add (backend.fma) is available here, and how to get it where not', () => {
    const bin = path.resolve('bin/mtl.js');
    const plain = spawnSync(process.execPath, [bin, 'doctor', '--json'], { encoding: 'utf8' });
    expect(plain.status).toBe(0);
    const report = JSON.parse(plain.stdout) as { kernels: { simd: boolean; fma: boolean; fmaWhyNot?: string } };
    expect(report.kernels.simd).toBe(true);
    expect(report.kernels.fma).toBe(relaxedSimdSupported());
    if (!report.kernels.fma) {
      expect(report.kernels.fmaWhyNot).toMatch(/--experimental-wasm-relaxed-simd/);
      const text = spawnSync(process.execPath, [bin, 'doctor'], { encoding: 'utf8' });
      expect(text.stdout).toMatch(/fused multiply-add \(backend\.fma\) no\n {2}fused multiply-add: no WebAssembly/);
      // Node 20 with the flag has it (Node ≥ 22 has it by default and refuses the flag: nothing to try there).
      const flagged = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', bin, 'doctor', '--json'], {
        encoding: 'utf8',
      });
      expect((JSON.parse(flagged.stdout) as typeof report).kernels).toEqual({ simd: true, fma: true });
    }
  });
});
