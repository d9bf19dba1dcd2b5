#!/usr/bin/env node
/**
 * Micro-benchmark of a dropout layer in a training step: the layer's mask drawn on the host (model/layers/dropout.ts,
 * one multiply kernel) against tf.dropout (its mask drawn through TF.js's random op, then Add, Floor, RealDiv and
 * Multiply), both under a gradient tape as the trainer runs them, on wasm, in one process, interleaved round by
 * round. Each round times `--steps` steps of sum(dropout(x)·W) and its gradient for W; the same step without dropout
 * is timed too, and subtracted, so the figures are what the dropout itself costs. Bit-identical outputs are tested in
 * test/dropout-mask.test.ts. Not part of `npm test`; needs `npx tsc -p tsconfig.json` first.
 *
 *   node bench/dropout.mjs                          # x [64, 128] (the quickstart's first layer), rate 0.1
 *   node bench/dropout.mjs --rows 256 --width 1024 --rounds 15 --json
 */
import { initBackend } from '../dist/index.js';
import { Dropout } from '../dist/model/layers/dropout.js';
import { StepClock } from '../dist/model/step-clock.js';
import { tf } from '../dist/tf.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] !== undefined ? Number(args[at + 1]) : fallback;
};
const rows = option('--rows', 64);
const width = option('--width', 128);
const rate = option('--rate', 0.1);
const rounds = option('--rounds', 11);
const steps = option('--steps', 500);

await initBackend('wasm', { fma: 'off' });
const clock = new StepClock(3);
const layer = new Dropout([width], rate, clock);
const x = tf.randomNormal([rows, width], 0, 1, 'float32', 1);
const w = tf.variable(tf.randomNormal([width, 64], 0, 1, 'float32', 2));
const taped = (forward) => (step) => {
  clock.step = step;
  tf.tidy(() => tf.variableGrads(() => tf.sum(tf.matMul(forward(), w)), [w]).value);
};
const variants = {
  host: taped(() => layer.apply(x, true)),
  tfjs: taped(() => tf.dropout(x, rate, undefined, clock.dropoutSeed(0))),
  none: taped(() => x),
};
const microseconds = (run) => {
  const start = performance.now();
  for (let step = 0; step < steps; step++) run(step);
  return ((performance.now() - start) / steps) * 1000;
};
for (const run of Object.values(variants)) microseconds(run); // warm-up: JIT, kernels
const times = { host: [], tfjs: [], none: [] };
for (let round = 0; round < rounds; round++)
  for (const [name, run] of Object.entries(variants)) times[name].push(microseconds(run));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const step = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]));
const own = { host: step.host - step.none, tfjs: step.tfjs - step.none };
const result = {
  shape: [rows, width],
  rate,
  rounds,
  steps,
  step_us: step,
  dropout_us: own,
  speedup: own.tfjs / own.host,
  live_tensors_after: tf.memory().numTensors,
};
if (args.includes('--json')) console.log(JSON.stringify(result, null, 2));
else {
  const us = (value) => `${value.toFixed(1)} µs`;
  console.log(
    `dropout on x [${rows}, ${width}], rate ${rate}, under a gradient tape ` +
      `(wasm; median of ${rounds} rounds × ${steps} steps):`,
  );
  console.log(
    `  step with the host mask ${us(step.host)}, with tf.dropout ${us(step.tfjs)}, without dropout ${us(step.none)}`,
  );
  console.log(`  the dropout itself: ${us(own.host)} against ${us(own.tfjs)} (${result.speedup.toFixed(2)}×)`);
}
