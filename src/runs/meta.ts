import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BackendReport } from '../backend/select.js';
import { packageRoot } from '../util/paths.js';
import type { RunStatus } from './store.js';

/** Everything needed to re-run and to judge a run: stored as meta.json and rewritten as the run goes. */
export interface RunMeta {
  id: string;
  name: string;
  status: RunStatus;
  /** Why it ended that way (failure message, divergence, early stop). */
  statusReason?: string;
  startedAt: string;
  updatedAt: string;
  endedAt?: string;
  seed: number;
  backend?: BackendReport;
  versions: { mtl: string; node: string; tfjs: string };
  command: string[];
  cwd: string;
  configFile?: string;
  overrides: string[];
  git?: { commit: string; dirty: boolean };
  epochsCompleted: number;
  bestEpoch?: number;
  parameterCount?: { shared: number; perTask: Record<string, number>; total: number };
}

export function mtlVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The git commit of a folder's work tree, when it is in one (the config's folder, where the experiment lives). */
export function gitInfo(dir: string): { commit: string; dirty: boolean } | undefined {
  try {
    const options = { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], timeout: 5000 };
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], options).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], options).toString().trim() !== '';
    return { commit, dirty };
  } catch {
    return undefined;
  }
}
