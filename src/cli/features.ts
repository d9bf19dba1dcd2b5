import { extractFeatures, type FeatureTable } from '../api/features.js';
import type { BackendChoice } from '../config/types.js';
import { checkCheckpointName } from '../api/evaluate.js';
import { ExitCode, UsageError } from '../errors.js';
import { writeUserFileAtomic } from '../runs/atomic.js';
import type { CommonFlags } from './commands.js';
import { log } from './output.js';

export interface FeaturesFlags extends CommonFlags {
  data?: string[];
  layer?: string;
  split?: string;
  checkpoint?: string;
  idColumns?: string;
  withTargets?: boolean;
  output?: string;
  backend?: BackendChoice;
}

/**
 * `mtl features RUN`: each row's representation as CSV on stdout (or `-o FILE`, written whole or not at all), the
 * header `[id columns…,] f0…fK-1[, targets…]`; what was written is said on stderr.
 */
export async function featuresCommand(run: string, flags: FeaturesFlags): Promise<number> {
  const splits = ['train', 'val', 'test', 'all'] as const;
  const split = splits.find((s) => s === flags.split);
  if (flags.split !== undefined && split === undefined) {
    throw new UsageError(`--split "${flags.split}": expected train, val, test or all.`);
  }
  if (flags.split !== undefined && flags.data !== undefined) {
    throw new UsageError("--split picks rows of the run's own data; with --data every row of the file is written.", [
      'leave out one of --split and --data',
    ]);
  }
  const checkpoint = flags.checkpoint ? checkCheckpointName(flags.checkpoint, '--checkpoint') : undefined;
  const idColumns = flags.idColumns?.split(',').map((name) => name.trim());
  if (idColumns?.some((name) => name === '')) {
    throw new UsageError(`--id-columns "${flags.idColumns}": expected column names separated by commas (a,b).`);
  }
  const result = await extractFeatures(run, {
    ...(flags.runsDir ? { runsDir: flags.runsDir } : {}),
    ...(flags.data && flags.data.length > 0 ? { dataFiles: flags.data } : {}),
    ...(split ? { split } : {}),
    ...(checkpoint ? { checkpoint } : {}),
    ...(flags.layer ? { layer: flags.layer } : {}),
    ...(idColumns ? { idColumns } : {}),
    ...(flags.withTargets ? { withTargets: true } : {}),
    ...(flags.backend ? { backend: flags.backend } : {}),
  });
  for (const warning of result.warnings) log(`warning: ${warning}`);
  const csv = toCsv(result);
  if (flags.output) writeUserFileAtomic(flags.output, csv, '-o');
  else process.stdout.write(csv);
  const width = result.header.filter((name) => /^f\d+$/.test(name)).length;
  log(
    `run ${result.run}, ${result.checkpoint} checkpoint (epoch ${result.epoch}), layer ${result.layer}: ` +
      `${result.rows.length} rows × ${width} features from ${result.data}${flags.output ? ` → ${flags.output}` : ''}`,
  );
  return ExitCode.ok;
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(table: Pick<FeatureTable, 'header' | 'rows'>): string {
  return [table.header, ...table.rows].map((row) => `${row.map(csvField).join(',')}\n`).join('');
}
