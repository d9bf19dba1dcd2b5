/**
 * The bench's check of which kernels OpenBLAS runs PyTorch's reference on (bench/blas-core.mjs): OpenBLAS 0.3.21
 * takes a CPU model newer than itself for a pre-AVX "Prescott" and runs SSE3 code, which made PyTorch look 2.7× slower
 * than it is on an AVX-512 Xeon; the bench then sets OPENBLAS_CORETYPE for the PyTorch children, and says so.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { coreOverride, cpuClass, cpuFlags, openblasCorePlan, probeOpenblasCore } from '../bench/blas-core.mjs';

const XEON_CPUINFO = [
  'processor\t: 0',
  'vendor_id\t: GenuineIntel',
  'cpu family\t: 6',
  'model\t\t: 207',
  'model name\t: Intel(R) Xeon(R) Processor',
  'flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx avx2 avx512f avx512dq avx512cd avx512bw avx512vl',
  '',
  'processor\t: 1',
  'flags\t\t: fpu sse',
].join('\n');

describe('the CPU flags', () => {
  it('are read from the first processor of /proc/cpuinfo', () => {
    const flags = cpuFlags(XEON_CPUINFO);
    expect(flags.has('avx512bw')).toBe(true);
    expect(flags.has('fpu')).toBe(true);
    expect(flags.size).toBe(14);
    expect(cpuFlags('processor : 0\n').size).toBe(0);
  });

  it('give the newest kernel class: AVX-512 needs all of F, CD, BW, DQ and VL', () => {
    expect(cpuClass(cpuFlags(XEON_CPUINFO))).toBe(3);
    expect(cpuClass(new Set(['avx', 'avx2', 'fma', 'avx512f']))).toBe(2);
    expect(cpuClass(new Set(['avx', 'avx2']))).toBe(1);
    expect(cpuClass(new Set(['sse4_2']))).toBe(0);
  });
});

describe('the OPENBLAS_CORETYPE the bench sets', () => {
  const avx512 = cpuFlags(XEON_CPUINFO);

  it('is SKYLAKEX where OpenBLAS fell back to Prescott on an AVX-512 CPU, with the reason', () => {
    const override = coreOverride({ detected: 'Prescott', flags: avx512, userSet: undefined });
    expect(override?.coretype).toBe('SKYLAKEX');
    expect(override?.reason).toContain('Prescott kernels');
    expect(override?.reason).toContain('AVX-512');
  });

  it('is the newest family the flags allow: HASWELL with AVX2 and FMA, SANDYBRIDGE with AVX', () => {
    expect(coreOverride({ detected: 'Core2', flags: new Set(['avx', 'avx2', 'fma']), userSet: undefined })).toEqual(
      expect.objectContaining({ coretype: 'HASWELL' }),
    );
    expect(coreOverride({ detected: 'nehalem', flags: new Set(['avx']), userSet: undefined })).toEqual(
      expect.objectContaining({ coretype: 'SANDYBRIDGE' }),
    );
  });

  it('is none where OpenBLAS chose modern kernels (its own tuning), the user set one, or the name is unknown', () => {
    expect(coreOverride({ detected: 'Haswell', flags: avx512, userSet: undefined })).toBeUndefined();
    expect(coreOverride({ detected: 'Zen', flags: avx512, userSet: undefined })).toBeUndefined();
    expect(coreOverride({ detected: 'SkylakeX', flags: avx512, userSet: undefined })).toBeUndefined();
    expect(coreOverride({ detected: 'Prescott', flags: avx512, userSet: 'HASWELL' })).toBeUndefined();
    expect(coreOverride({ detected: 'NeoverseN1', flags: avx512, userSet: undefined })).toBeUndefined();
    expect(coreOverride({ detected: undefined, flags: avx512, userSet: undefined })).toBeUndefined();
  });

  it('is none on a CPU without AVX (the fallback is then the right kernel)', () => {
    expect(coreOverride({ detected: 'Prescott', flags: new Set(['sse3']), userSet: undefined })).toBeUndefined();
  });
});

describe('the plan against a Python that stands in for OpenBLAS', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mtl-blas-core-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Answers the probe as OpenBLAS 0.3.21 does on the Emerald Rapids VM: Prescott unless OPENBLAS_CORETYPE says.
  const fakePython = (name: string, forcedCore: string) => {
    const file = path.join(dir, name);
    writeFileSync(
      file,
      [
        '#!/bin/sh',
        'if [ -n "$OPENBLAS_CORETYPE" ]; then core=' + forcedCore + '; else core=Prescott; fi',
        'echo "$core"',
        'echo "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY $core MAX_THREADS=64"',
      ].join('\n'),
    );
    chmodSync(file, 0o755);
    return file;
  };

  it('sets OPENBLAS_CORETYPE for the children and names what it did', () => {
    const saved = process.env.OPENBLAS_CORETYPE;
    delete process.env.OPENBLAS_CORETYPE;
    try {
      const plan = openblasCorePlan(fakePython('python-ok', 'SkylakeX'), { LD_LIBRARY_PATH: '/x' }, XEON_CPUINFO);
      expect(plan.env).toEqual({ LD_LIBRARY_PATH: '/x', OPENBLAS_CORETYPE: 'SKYLAKEX' });
      expect(plan.core).toBe('SkylakeX');
      expect(plan.detected).toBe('Prescott');
      expect(plan.how).toMatch(/^OpenBLAS 0\.3\.21, SkylakeX kernels, OPENBLAS_CORETYPE=SKYLAKEX set by the bench/);
    } finally {
      if (saved !== undefined) process.env.OPENBLAS_CORETYPE = saved;
    }
  });

  it('keeps the env where the override does not take, and says that', () => {
    const saved = process.env.OPENBLAS_CORETYPE;
    delete process.env.OPENBLAS_CORETYPE;
    try {
      const plan = openblasCorePlan(fakePython('python-stuck', 'Prescott'), {}, XEON_CPUINFO);
      expect(plan.env).toEqual({});
      expect(plan.core).toBe('Prescott');
      expect(plan.how).toContain('OPENBLAS_CORETYPE=SKYLAKEX did not change it');
    } finally {
      if (saved !== undefined) process.env.OPENBLAS_CORETYPE = saved;
    }
  });

  it('leaves a BLAS that is not OpenBLAS alone (the probe fails)', () => {
    expect(probeOpenblasCore(path.join(dir, 'no-such-python'), {})).toBeUndefined();
    const plan = openblasCorePlan(path.join(dir, 'no-such-python'), { A: 'b' }, XEON_CPUINFO);
    expect(plan).toEqual({ env: { A: 'b' }, core: undefined, how: undefined });
  });

  const openblas = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
  it.runIf(existsSync('/usr/bin/python3') && existsSync(path.join(openblas, 'libblas.so.3')))(
    "reads the installed OpenBLAS's kernel family, and OPENBLAS_CORETYPE changes it",
    () => {
      const env = { LD_LIBRARY_PATH: openblas };
      expect(probeOpenblasCore('/usr/bin/python3', env)?.config).toMatch(/^OpenBLAS \d/);
      expect(probeOpenblasCore('/usr/bin/python3', { ...env, OPENBLAS_CORETYPE: 'PRESCOTT' })?.core).toBe('Prescott');
    },
  );
});
