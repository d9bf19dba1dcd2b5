/**
 * The exact-resume check several test files make: a run trained alone, the same config interrupted at a batch, then
 * resumed; the resumed run must end with the alone run's test metrics and logs (timings aside). Also what runs
 * compared bit for bit read: their logs and their checkpoints' bytes.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { LoadedConfig } from '../../src/config/load.js';
import { resumeExperiment } from '../../src/api/resume.js';
import { trainExperiment } from '../../src/api/train.js';
import { readEpochLog, readMetricRows } from '../../src/runs/logs.js';

/** Every checkpoint file's sha256, by path under the run's checkpoints/ folder. */
export function checkpointHashes(runDir: string): Record<string, string> {
  const dir = path.join(runDir, 'checkpoints');
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.bin')) continue;
    out[entry] = createHash('sha256')
      .update(readFileSync(path.join(dir, entry)))
      .digest('hex');
  }
  return out;
}

/** metrics.jsonl and epochs.jsonl without the wall-clock fields. */
export function runLogs(runDir: string): unknown {
  return {
    rows: readMetricRows(runDir),
    epochs: readEpochLog(runDir).map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest),
  };
}

/** Trains `load()` alone and interrupted at (epoch, batch) then resumed; asserts they end alike; returns both dirs. */
export async function expectExactResume(
  load: () => LoadedConfig,
  runsDir: string,
  stopAt: { epoch: number; batch: number },
): Promise<{ alone: string; resumed: string }> {
  const alone = await trainExperiment(load(), { runsDir });
  const controller = new AbortController();
  const stopped = await trainExperiment(load(), {
    runsDir,
    signal: controller.signal,
    listeners: [
      { onBatch: (info) => void (info.epoch === stopAt.epoch && info.batch === stopAt.batch && controller.abort()) },
    ],
  });
  expect(stopped.status).toBe('interrupted');
  const resumed = await resumeExperiment(stopped.id, { runsDir });
  expect(resumed.test).toEqual(alone.test);
  expect(runLogs(resumed.dir)).toEqual(runLogs(alone.dir));
  return { alone: alone.dir, resumed: resumed.dir };
}
