import cliProgress from 'cli-progress';
import type { EpochRecord } from '../runs/records.js';
import type { TrainListener } from '../train/trainer.js';
import { formatNumber, log } from './output.js';
import { adversaryText } from './adversary-output.js';

function epochLine(record: EpochRecord, epochs: number): string {
  const losses = Object.entries(record.trainLoss)
    .map(([task, v]) => `${task}=${formatNumber(v)}`)
    .join(' ');
  const monitor = `${record.monitor.name}=${formatNumber(record.monitor.value)}${record.monitor.improved ? ' *' : ''}`;
  const adversaries = adversaryText(record.adversaries);
  return (
    `epoch ${record.epoch}/${epochs}  loss ${losses}  ${monitor}  ${adversaries ? `${adversaries}  ` : ''}` +
    `${Math.round(record.samplesPerSecond)} samples/s  ${record.seconds.toFixed(1)}s`
  );
}

/**
 * A progress bar per epoch on a terminal (batch, per-task loss, throughput, ETA); one line per epoch otherwise
 * (not a TTY, --quiet, or CI), always on stderr so stdout carries data only.
 */
export function progressListener(options: { interactive: boolean }): TrainListener {
  let epochs = 0;
  if (!options.interactive) {
    return {
      onStart: (info) => {
        epochs = info.epochs;
      },
      onEpochEnd: (record) => log(epochLine(record, epochs)),
      onDiverged: (record) => log(`${epochLine(record, epochs)}  diverged`),
    };
  }
  let bar: cliProgress.SingleBar | undefined;
  let lossText = '';
  return {
    batchLossEvery: 20,
    onStart: (info) => {
      epochs = info.epochs;
    },
    onBatch: (info) => {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format:
              `epoch ${info.epoch + 1}/${epochs} {bar} {value}/{total} | {losses} | {speed} samples/s | ETA ` +
              `{eta}s`,
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(info.batches, 0, { losses: '', speed: 0 });
      }
      if (info.losses)
        lossText = Object.entries(info.losses)
          .map(([t, v]) => `${t} ${formatNumber(v, 3)}`)
          .join(' ');
      bar.update(info.batch, { losses: lossText, speed: Math.round(info.samplesPerSecond) });
    },
    onEpochEnd: (record) => {
      bar?.stop();
      bar = undefined;
      lossText = '';
      log(epochLine(record, epochs));
    },
    onDiverged: (record) => {
      bar?.stop();
      bar = undefined;
      log(`${epochLine(record, epochs)}  diverged`);
    },
  };
}
