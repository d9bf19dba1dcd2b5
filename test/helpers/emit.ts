/**
 * Fixtures for `mtl sweep --emit` and `mtl runs merge`: a "checkout" (a folder holding a tiny base config and a
 * sweep file, as a repository would), shell commands run in one with MTL set to the built CLI (as a job runs
 * them), and what a finished sweep left in a store.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers.js';
import { bin, type CliResult } from './cli.js';
import { groupConfig } from './groups.js';

/** 3 configurations × 1 seed on synthetic-correlated, 1 epoch each. */
export const SMALL_SWEEP = 'base: base.yaml\nspace:\n  training.lr: [0.001, 0.003, 0.01]\nseeds: [0]\n';
/** 2 × 2: four trials. */
export const FOUR_TRIALS = 'base: base.yaml\nspace:\n  training.lr: [0.001, 0.003]\nseeds: [0, 1]\n';

/** How the jobs call mtl here: the built CLI. */
export const MTL = `${process.execPath} ${bin}`;

/** A fresh folder with base.yaml and sweep.yaml, as a repository checkout on a job's machine holds them. */
export function checkout(sweep: string, epochs = 1): string {
  const dir = tempDir('mtl-emit-');
  writeFileSync(path.join(dir, 'base.yaml'), groupConfig({ epochs }));
  writeFileSync(path.join(dir, 'sweep.yaml'), sweep);
  return dir;
}

/** Another checkout of the same files (another machine). */
export function copyCheckout(from: string): string {
  const dir = tempDir('mtl-emit-job-');
  for (const file of ['base.yaml', 'sweep.yaml']) copyFileSync(path.join(from, file), path.join(dir, file));
  return dir;
}

/** Runs `sh -c script` (or `sh FILE` when `file`) in `cwd`, MTL set to the built CLI, not on a TTY. */
export function shell(
  cwd: string,
  script: string,
  env: Record<string, string> = {},
  options: { file?: boolean } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', options.file ? [script] : ['-c', script], {
      cwd,
      env: { ...process.env, CI: 'true', MTL, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** `mtl …args` in `cwd` (the paths an emitted job names resolve from there). */
export function mtlIn(cwd: string, args: string[]): Promise<CliResult> {
  return shell(cwd, `$MTL ${args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`);
}

export interface PlannedTrialRow {
  index: number;
  hash: string;
  id: string;
  status: string;
}

/** `mtl sweep sweep.yaml --dry-run --json` in `cwd` against `runsDir`. */
export async function dryRun(cwd: string, runsDir = 'runs'): Promise<{ id: string; trials: PlannedTrialRow[] }> {
  const result = await mtlIn(cwd, ['sweep', 'sweep.yaml', '--dry-run', '--json', '--runs-dir', runsDir]);
  if (result.code !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as { id: string; trials: PlannedTrialRow[] };
}

/** The trial folders a sweep folder holds (those with meta.json), sorted. */
export function trialFolders(sweepDir: string): string[] {
  if (!existsSync(sweepDir)) return [];
  return readdirSync(sweepDir)
    .filter((entry) => existsSync(path.join(sweepDir, entry, 'meta.json')))
    .sort();
}

export interface TrialOnDisk {
  status: string;
  startedAt: string;
  resumes: number;
  test: unknown;
  val: unknown;
}

/** Each trial's meta.json status, start and resumes, and summary.json metrics, by hash. */
export function trialsOnDisk(sweepDir: string): Map<string, TrialOnDisk> {
  const trials = new Map<string, TrialOnDisk>();
  for (const hash of trialFolders(sweepDir)) {
    const meta = JSON.parse(readFileSync(path.join(sweepDir, hash, 'meta.json'), 'utf8')) as {
      status: string;
      startedAt: string;
      resumes?: unknown[];
    };
    const summary = JSON.parse(readFileSync(path.join(sweepDir, hash, 'summary.json'), 'utf8')) as {
      test: unknown;
      val: unknown;
    };
    trials.set(hash, {
      status: meta.status,
      startedAt: meta.startedAt,
      resumes: meta.resumes?.length ?? 0,
      test: summary.test,
      val: summary.val,
    });
  }
  return trials;
}

/** Copies a folder tree (an artifact upload and download, emulated). */
export function copyFolder(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) copyFolder(source, target);
    else copyFileSync(source, target);
  }
}
