/**
 * Which kernels OpenBLAS runs PyTorch's reference on, and a fix for when it picks the wrong ones.
 *
 * OpenBLAS built with DYNAMIC_ARCH (Debian's is) chooses its kernels when it loads, from the CPU's family and model
 * numbers. A model newer than the library falls back to its oldest x86-64 kernels: OpenBLAS 0.3.21 (Debian 12) takes
 * Intel's family 6 model 207 (Emerald Rapids Xeons) for a "Prescott" and runs SSE3 code on a core with AVX-512. Its
 * one-thread sgemm then does ~34 GFLOP/s where its SkylakeX kernels do ~165 on the same core (measured on the 2-core
 * CI VM, 2026-12-07), and every "vs PyTorch" ratio of the bench flatters us five-fold. No PyTorch user gets that
 * baseline on purpose: pip's wheels link MKL or a newer OpenBLAS.
 *
 * So the bench asks the library which kernels it chose (`openblas_get_corename`), and where that is one of the
 * pre-AVX fallbacks while /proc/cpuinfo lists AVX, AVX2 + FMA or AVX-512, it sets OPENBLAS_CORETYPE (OpenBLAS's own
 * override) to the newest kernel family the flags allow for the PyTorch children, and says so. A choice OpenBLAS made
 * among modern kernels (Haswell kernels on a Zen, say) is its own tuning and is left alone, as is an
 * OPENBLAS_CORETYPE the user set.
 */
import { execFileSync } from 'node:child_process';

/**
 * The instruction-set class of each kernel family OpenBLAS names (its `corename` strings, lower case): 0 pre-AVX, 1
 * AVX, 2 AVX2 + FMA, 3 AVX-512. Names not listed (other architectures, later families) are not judged.
 * @type {Map<string, number>}
 */
const CORE_CLASSES = new Map(
  /** @type {[number, string[]][]} */ ([
    [0, ['katmai', 'coppermine', 'northwood', 'prescott', 'banias', 'core2', 'penryn', 'dunnington', 'nehalem']],
    [0, ['atom', 'athlon', 'opteron', 'opteron_sse3', 'barcelona', 'bobcat', 'nano', 'generic']],
    [1, ['sandybridge', 'bulldozer', 'piledriver']],
    [2, ['haswell', 'zen', 'steamroller', 'excavator']],
    [3, ['skylakex', 'cooperlake', 'sapphirerapids']],
  ]).flatMap(([isa, names]) => names.map((name) => /** @type {[string, number]} */ ([name, isa]))),
);

/** OPENBLAS_CORETYPE for each class the CPU's flags allow: the kernels OpenBLAS itself uses for such cores. */
const CORETYPE_FOR_CLASS = ['', 'SANDYBRIDGE', 'HASWELL', 'SKYLAKEX'];

/** The AVX-512 subsets OpenBLAS's SkylakeX kernels need (F, CD, BW, DQ, VL: what it checks before choosing them). */
const AVX512_FLAGS = ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'];

/**
 * The flags of the first processor in a /proc/cpuinfo text (empty where there is no `flags` line).
 * @param {string} cpuinfo
 * @returns {Set<string>}
 */
export function cpuFlags(cpuinfo) {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l));
  return new Set(line?.split(':')[1]?.trim().split(/\s+/) ?? []);
}

/**
 * 0 pre-AVX, 1 AVX, 2 AVX2 + FMA, 3 AVX-512 (F, CD, BW, DQ, VL): the newest kernel class the flags allow.
 * @param {ReadonlySet<string>} flags
 * @returns {0 | 1 | 2 | 3}
 */
export function cpuClass(flags) {
  if (AVX512_FLAGS.every((f) => flags.has(f))) return 3;
  if (flags.has('avx2') && flags.has('fma')) return 2;
  return flags.has('avx') ? 1 : 0;
}

/**
 * The OPENBLAS_CORETYPE to set, with the reason in words, or undefined to leave OpenBLAS's choice. `detected` is its
 * `corename` as it loaded without an override; `userSet` an OPENBLAS_CORETYPE already in the environment.
 * @param {{ detected: string | undefined, flags: ReadonlySet<string>, userSet: string | undefined }} input
 * @returns {{ coretype: string, reason: string } | undefined}
 */
export function coreOverride({ detected, flags, userSet }) {
  if (userSet || !detected) return undefined;
  const chosen = CORE_CLASSES.get(detected.toLowerCase());
  const best = cpuClass(flags);
  // Only a pre-AVX fallback on a CPU with AVX or later: the symptom of a model the library does not know.
  if (chosen !== 0 || best === 0) return undefined;
  const coretype = CORETYPE_FOR_CLASS[best] ?? '';
  const isa = ['', 'AVX', 'AVX2 and FMA', 'AVX-512'][best] ?? '';
  return {
    coretype,
    reason:
      `by itself OpenBLAS chose its ${detected} kernels (a pre-AVX fallback for a CPU model it does not know) ` +
      `on a CPU with ${isa}`,
  };
}

/**
 * The kernel family and build line of the OpenBLAS that `python` loads as libblas.so.3 under `env` (the PyTorch
 * children's library path), or undefined where that BLAS is not OpenBLAS or Python cannot load it.
 * @param {string} python
 * @param {Record<string, string>} env
 * @returns {{ core: string, config: string } | undefined}
 */
export function probeOpenblasCore(python, env) {
  const script = [
    'import ctypes',
    "lib = ctypes.CDLL('libblas.so.3')",
    'name = lib.openblas_get_corename; name.restype = ctypes.c_char_p',
    'config = lib.openblas_get_config; config.restype = ctypes.c_char_p',
    "print(name().decode() + '\\n' + config().decode())",
  ].join('\n');
  try {
    const out = execFileSync(python, ['-c', script], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20_000,
    });
    const [core, config] = out.trim().split('\n');
    return core ? { core, config: config ?? '' } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the PyTorch children's OpenBLAS runs on: probes it, and where {@link coreOverride} says so, adds
 * OPENBLAS_CORETYPE to `env` and probes again to confirm. Returns the env to use and a description for the output
 * (`how` undefined where the BLAS is not OpenBLAS).
 * @param {string} python
 * @param {Record<string, string>} env
 * @param {string} cpuinfo
 * @returns {{ env: Record<string, string>, core: string | undefined, detected?: string, how: string | undefined }}
 */
export function openblasCorePlan(python, env, cpuinfo) {
  const userSet = process.env.OPENBLAS_CORETYPE;
  const detected = probeOpenblasCore(python, env);
  if (!detected) return { env, core: undefined, how: undefined };
  // "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH …": its version.
  const library = /^OpenBLAS \S+/.exec(detected.config)?.[0] ?? 'OpenBLAS';
  /** @param {string} core */
  const kernels = (core) => `${library}, ${core} kernels`;
  if (userSet)
    return { env, core: detected.core, how: `${kernels(detected.core)} (OPENBLAS_CORETYPE=${userSet} given)` };
  const override = coreOverride({ detected: detected.core, flags: cpuFlags(cpuinfo), userSet });
  if (!override) return { env, core: detected.core, how: `${kernels(detected.core)} (its own choice)` };
  const forced = { ...env, OPENBLAS_CORETYPE: override.coretype };
  const confirmed = probeOpenblasCore(python, forced);
  if (!confirmed || confirmed.core.toLowerCase() === detected.core.toLowerCase())
    return {
      env,
      core: detected.core,
      how: `${kernels(detected.core)} (${override.reason}; OPENBLAS_CORETYPE=${override.coretype} did not change it)`,
    };
  return {
    env: forced,
    core: confirmed.core,
    detected: detected.core,
    how: `${kernels(confirmed.core)}, OPENBLAS_CORETYPE=${override.coretype} set by the bench: ${override.reason}`,
  };
}
