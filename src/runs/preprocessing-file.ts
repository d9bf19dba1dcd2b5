/**
 * A run's preprocessing.json read back (`mtl eval`, baselines, transfer): the encodings fitted at training, each
 * field checked. A task's encoding fields come from its kind in the task registry, which is why this is not in
 * inputs.ts: describing a run (`mtl runs`) reads its config without loading the task kinds and, with them, TF.js.
 */
import type { FeatureEncoding, GroupEncoding, Preprocessing } from '../data/preprocess.js';
import { taskKindRegistry } from '../tasks/registry.js';
import type { TargetEncoding } from '../tasks/types.js';
import { JsonFields } from './json.js';
import { runFile } from './layout.js';

export function readPreprocessing(runDir: string): Preprocessing {
  const fields = JsonFields.read(runFile(runDir, 'preprocessing'));
  const preprocessing: Preprocessing = {
    features: fields.objects('features').map(readFeatureEncoding),
    tasks: fields.objects('tasks').map(readTargetEncoding),
    inputSize: fields.number('inputSize'),
    missing: fields.oneOf('missing', ['error', 'drop', 'impute']),
  };
  // Multi-input runs: each data group's own feature encoding (absent for a single source, read as before).
  if (!fields.has('groups')) return preprocessing;
  const groups = fields.objects('groups').map(readGroupEncoding);
  if (!fields.has('adapters')) return { ...preprocessing, groups };
  const adapters = fields.object('adapters');
  return {
    ...preprocessing,
    groups,
    adapters: {
      sharedWidth: adapters.number('sharedWidth'),
      groups: adapters.objects('groups').map((group) => ({
        width: group.number('width'),
        ...(group.has('adapter') ? { adapter: group.string('adapter') } : {}),
      })),
    },
  };
}

function readGroupEncoding(fields: JsonFields): GroupEncoding {
  return {
    field: fields.string('field'),
    source: fields.string('source'),
    tasks: fields.strings('tasks'),
    features: fields.objects('features').map(readFeatureEncoding),
    inputSize: fields.number('inputSize'),
    missing: fields.oneOf('missing', ['error', 'drop', 'impute']),
  };
}

function readFeatureEncoding(fields: JsonFields): FeatureEncoding {
  const column = fields.string('column');
  if (fields.oneOf('kind', ['numeric', 'categorical']) === 'numeric') {
    return {
      kind: 'numeric',
      column,
      center: fields.number('center'),
      scale: fields.number('scale'),
      fill: fields.number('fill'),
    };
  }
  return { kind: 'categorical', column, categories: fields.strings('categories'), fill: fields.string('fill') };
}

function readTargetEncoding(fields: JsonFields): TargetEncoding {
  const name = fields.string('name');
  const type = fields.oneOf('type', taskKindRegistry.names());
  // The fields the kind's encoding adds, checked by their declared JSON types; the kind reads them itself.
  const added: Record<string, string | string[] | number[]> = {};
  for (const [key, kind] of Object.entries(taskKindRegistry.lookup(type).encodingFields)) {
    added[key] =
      kind === 'string' ? fields.string(key) : kind === 'strings' ? fields.strings(key) : fields.numbers(key);
  }
  return { name, type, ...added };
}
