// Run by test/fma-resume.test.ts as `node --experimental-wasm-relaxed-simd test/helpers/fma-resume-child.mjs
// <runsDir> <config file>`: the config trained alone, then interrupted at epoch 2 batch 3 and resumed, all with
// backend.fma on (dist/, as the CLI tests use). Prints the ids, test metrics and recorded paths as one JSON line;
// with a third argument `stop-only`, only the interrupted run.
import { resumeExperiment } from '../../dist/api/resume.js';
import { trainExperiment } from '../../dist/api/train.js';
import { loadConfig } from '../../dist/config/load.js';
import { readMeta } from '../../dist/runs/meta.js';

const [runsDir, file, mode] = process.argv.slice(2);
const load = () => loadConfig(file, ['backend.fma=on']);
const path = (dir) => readMeta(dir).backend?.fma?.path;
const controller = new AbortController();
const stopped = await trainExperiment(load(), {
  runsDir,
  signal: controller.signal,
  listeners: [{ onBatch: (info) => void (info.epoch === 2 && info.batch === 3 && controller.abort()) }],
});
if (mode === 'stop-only') {
  console.log(JSON.stringify({ stopped: stopped.id, status: stopped.status, path: path(stopped.dir) }));
} else {
  const alone = await trainExperiment(load(), { runsDir });
  const resumed = await resumeExperiment(stopped.id, { runsDir });
  console.log(
    JSON.stringify({
      status: stopped.status,
      alone: { test: alone.test, path: path(alone.dir) },
      resumed: { test: resumed.test, path: path(resumed.dir) },
    }),
  );
}
