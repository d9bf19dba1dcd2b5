import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKernels } from '../src/backend/run-kernels.js';
import { relaxedSimdSupported } from '../src/backend/simd/module.js';
import { initBackend } from '../src/backend/select.js';
import { fmaKernelsActive } from '../src/backend/wasm/index.js';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { readMeta } from '../src/runs/meta.js';
import { readResolvedConfig } from '../src/runs/inputs.js';
import { tempDir } from './helpers.js';
import { smallDigitsConfig, TWO_DIGIT_TASKS } from './helpers/configs.js';
import { configProblems } from './helpers/expect.js';

/** `backend` as a name or `{ name, fma }` (issue #20 point 2), and how runs record and replay the kernels' path. */
describe('config backend: a name or { name, fma }', () => {
  it('a bare name still loads as before (fma auto)', () => {
    expect(parseConfigText(`${TWO_DIGIT_TASKS}backend: wasm\n`).config.backend).toBe('wasm');
    expect(parseConfigText(TWO_DIGIT_TASKS).config.backend).toBe('auto');
  });

  it('an object gets auto for what it leaves out', () => {
    expect(parseConfigText(`${TWO_DIGIT_TASKS}backend:\n  fma: off\n`).config.backend).toEqual({
      name: 'auto',
      fma: 'off',
    });
    expect(parseConfigText(`${TWO_DIGIT_TASKS}backend: { name: cpu }\n`).config.backend).toEqual({
      name: 'cpu',
      fma: 'auto',
    });
  });

  it('--set backend.fma=… on a config whose backend is a name keeps the name', () => {
    const { config } = parseConfigText(`${TWO_DIGIT_TASKS}backend: wasm\n`, { overrides: ['backend.fma=on'] });
    expect(config.backend).toEqual({ name: 'wasm', fma: 'on' });
  });

  it('a bad fma value or an unknown key: a located problem naming what is allowed', () => {
    const [bad] = configProblems(`${TWO_DIGIT_TASKS}backend:\n  fma: yes\n`);
    expect(bad).toBe('exp.yaml:10:8: backend.fma: "yes" is not allowed. Expected one of: auto, on, off.');
    const [unknown] = configProblems(`${TWO_DIGIT_TASKS}backend:\n  fused: on\n`);
    expect(unknown).toBe('exp.yaml:10:3: backend.fused: unknown field "fused". Allowed here: name, fma.');
    const [name] = configProblems(`${TWO_DIGIT_TASKS}backend: wsm\n`);
    expect(name).toBe(
      'exp.yaml:9:10: backend: "wsm" is not allowed; did you mean "wasm"? Expected one of: auto, tensorflow, ' +
        'wasm, cpu.',
    );
  });
});

describe('the recorded path', () => {
  it('initBackend: fma off = the plain kernels; on the cpu backend fma is not applicable (ignored)', async () => {
    const plain = await initBackend('wasm', { fma: 'off' });
    expect(plain.fma).toEqual({ requested: 'off', path: 'plain', reason: 'backend.fma is off' });
    expect(fmaKernelsActive()).toBe(false);
    const cpu = await initBackend({ name: 'cpu', fma: 'on' });
    expect(cpu.fma).toMatchObject({ requested: 'on', path: 'not-applicable' });
    expect(cpu.fma.reason).toBe("the cpu backend does not run the project's SIMD kernels");
    await initBackend('wasm', { fma: 'off' });
  });

  it('a second initBackend with the same choice reports its own reason, not the pinned one before', async () => {
    // A process that replays a run pinned to the plain kernels (eval, resume) and then trains a new run with fma off:
    // the new run's meta.json must not say the other run pinned it.
    const pinned = await initBackend('wasm', { fma: 'off', pinnedBy: 'Run r1 was trained on the plain kernels' });
    expect(pinned.fma.reason).toBe('Run r1 was trained on the plain kernels');
    const own = await initBackend('wasm', { fma: 'off' });
    expect(own.fma).toEqual({ requested: 'off', path: 'plain', reason: 'backend.fma is off' });
  });

  it('a meta.json from before backend.fma reads as the plain path, and replays pinned to it', async () => {
    const run = await trainExperiment(parseConfigText(smallDigitsConfig(1)), { runsDir: tempDir() });
    const file = path.join(run.dir, 'meta.json');
    const meta = JSON.parse(readFileSync(file, 'utf8'));
    // auto: FMA where this Node has relaxed SIMD (≥ 22), else the plain kernels (Node 20 as vitest runs it).
    expect(meta.backend.fma).toMatchObject({ requested: 'auto', path: relaxedSimdSupported() ? 'fma' : 'plain' });
    delete meta.backend.fma; // as written before issue #20
    writeFileSync(file, JSON.stringify(meta));
    const read = readMeta(run.dir);
    expect(read.backend?.fma).toMatchObject({ requested: 'off', path: 'plain' });
    expect(runKernels('old', read.backend).fma).toBe('off');
    expect(runKernels('new', { ...read.backend!, fma: { requested: 'auto', path: 'fma', reason: '' } }).fma).toBe('on');
  });

  it('a stored config.resolved.json with backend { name, fma } reads back', () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const { config } = parseConfigText(`${TWO_DIGIT_TASKS}backend: { name: wasm, fma: off }\n`);
    writeFileSync(path.join(dir, 'config.resolved.json'), JSON.stringify(config));
    expect(readResolvedConfig(dir).backend).toEqual({ name: 'wasm', fma: 'off' });
  });
});
