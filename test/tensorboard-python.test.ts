/**
 * Opt-in (issue #19): TensorBoard's own readers open a run's event files. Runs only where Python's `tensorboard`
 * package is importable: by `$MTL_TENSORBOARD_PYTHON` if set, else the first of `python3`, `/usr/bin/python3` that
 * can import its event readers (`tensorboard.backend.event_processing`, which needs protobuf; with the environment as
 * given, so PYTHONPATH counts); skipped otherwise. Reads each split with `event_file_loader`'s loaders (every
 * record, CRCs checked by TensorBoard's record reader, where a failing record would end the list early; the legacy
 * loader as written, the current one as migrated for the scalar plugin) and `event_accumulator.EventAccumulator`,
 * and compares them with the test's own reader, metrics.jsonl and epochs.jsonl.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainExperiment } from '../src/api/train.js';
import { parseConfigText } from '../src/config/load.js';
import { readEpochLog, readMetricRows } from '../src/runs/logs.js';
import { tempDir } from './helpers.js';
import { digitsConfig } from './helpers/configs.js';
import { readEventFolder } from './helpers/tfevents-reader.js';

const PROBE = 'from tensorboard.backend.event_processing import event_accumulator, event_file_loader';

function pythonWithTensorBoard(): string | undefined {
  const candidates = process.env.MTL_TENSORBOARD_PYTHON
    ? [process.env.MTL_TENSORBOARD_PYTHON]
    : ['python3', '/usr/bin/python3'];
  return candidates.find(
    (python) => spawnSync(python, ['-c', PROBE], { stdio: 'ignore', timeout: 60_000 }).status === 0,
  );
}

const PYTHON = pythonWithTensorBoard();

/** Prints, per split folder given, the loader's events and the accumulator's scalars, as JSON. */
const READER = `
import json, os, sys
from tensorboard.backend.event_processing import event_accumulator, event_file_loader
from tensorboard.util import tensor_util
out = {}
for folder in sys.argv[1:]:
    [name] = os.listdir(folder)
    file = os.path.join(folder, name)
    events = []
    for event in event_file_loader.LegacyEventFileLoader(file).Load():
        kind = event.WhichOneof("what")
        events.append({
            "wall_time": event.wall_time, "step": event.step, "kind": kind,
            "file_version": event.file_version,
            "values": {v.tag: v.simple_value for v in event.summary.value} if kind == "summary" else {},
        })
    migrated = []
    for event in event_file_loader.EventFileLoader(file).Load():
        for v in event.summary.value:
            value = tensor_util.make_ndarray(v.tensor).item()
            migrated.append([v.metadata.plugin_data.plugin_name, v.tag, event.step, value])
    accumulator = event_accumulator.EventAccumulator(folder)
    accumulator.Reload()
    scalars = {tag: [[s.step, s.value] for s in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}
    out[os.path.basename(folder)] = {"events": events, "migrated": migrated, "scalars": scalars}
print(json.dumps(out))
`;

interface PythonSplit {
  events: { wall_time: number; step: number; kind: string; file_version: string; values: Record<string, number> }[];
  /** What TensorBoard's scalar plugin gets (data_compat): [plugin, tag, step, value]. */
  migrated: [string, string, number, number][];
  scalars: Record<string, [number, number][]>;
}

const CONFIG = `${digitsConfig({
  name: 'tensorboard-python',
  seed: 4,
  samples: 300,
  trunk: ['{ type: dense, units: 8, activation: relu }'],
  training: { batch_size: 32, epochs: 3, lr: 0.01 },
})}strategy: { name: pcgrad }\n`;

describe.skipIf(PYTHON === undefined)("TensorBoard's own reader (opt-in: Python's tensorboard package)", () => {
  let dir = '';
  let read: Record<string, PythonSplit> = {};

  beforeAll(async () => {
    dir = (await trainExperiment(parseConfigText(CONFIG), { runsDir: tempDir('mtl-tb-python-') })).dir;
    const folders = ['train', 'val', 'test'].map((split) => path.join(dir, 'tensorboard', split));
    const stdout = execFileSync(PYTHON ?? 'python3', ['-c', READER, ...folders], { encoding: 'utf8' });
    read = JSON.parse(stdout) as Record<string, PythonSplit>;
  }, 120_000);

  it('EventFileLoader reads every record (CRCs checked), file_version first, then one summary per epoch', () => {
    for (const split of ['train', 'val', 'test']) {
      const ours = readEventFolder(path.join(dir, 'tensorboard', split)).events;
      const theirs = read[split]?.events ?? [];
      expect(theirs).toHaveLength(ours.length);
      expect(theirs[0]).toMatchObject({ kind: 'file_version', file_version: 'brain.Event:2', step: 0 });
      expect(theirs.map((e) => e.wall_time)).toEqual(ours.map((e) => e.wallTime));
      expect(theirs.slice(1).map((e) => e.values)).toEqual(ours.slice(1).map((e) => e.scalars));
    }
    expect(read.train?.events.map((e) => e.step)).toEqual([0, 1, 2, 3]);
  });

  it('every value becomes a scalar of the scalars plugin (data_compat), with its value', () => {
    for (const split of ['train', 'val', 'test']) {
      const ours = readEventFolder(path.join(dir, 'tensorboard', split)).events;
      const expected = ours.flatMap((e) =>
        Object.entries(e.scalars ?? {}).map(([tag, value]) => ['scalars', tag, e.step, value]),
      );
      expect(read[split]?.migrated).toEqual(expected);
    }
  });

  it('EventAccumulator shows each tag with the values of metrics.jsonl and epochs.jsonl', () => {
    const rows = readMetricRows(dir);
    const series = (split: string, tag: string): [number, number][] =>
      rows.filter((r) => r.split === split).map((r): [number, number] => [r.epoch, Math.fround(r.metrics[tag] ?? NaN)]);
    const train = read.train?.scalars ?? {};
    expect(Object.keys(train).sort()).toEqual([
      'cosine/left|right',
      'learning_rate',
      'left/loss',
      'mean/loss',
      'right/loss',
      'weights/left',
      'weights/right',
    ]);
    expect(train['left/loss']).toEqual(series('train', 'left/loss'));
    const epochs = readEpochLog(dir);
    expect(train['cosine/left|right']).toEqual(
      epochs.map((e) => [e.epoch, Math.fround(e.gradientCosines?.['left|right'] ?? NaN)]),
    );
    expect(train['weights/right']).toEqual(epochs.map((e) => [e.epoch, Math.fround(e.taskWeights.right ?? NaN)]));
    const valTags = Object.keys(rows.find((r) => r.split === 'val')?.metrics ?? {});
    expect(Object.keys(read.val?.scalars ?? {}).sort()).toEqual([...valTags].sort());
    for (const tag of valTags) expect(read.val?.scalars[tag]).toEqual(series('val', tag));
    expect(read.test?.scalars['mean/accuracy']).toEqual(series('test', 'mean/accuracy'));
  });
});
