// Writes schema/experiment.schema.json from the registries, and schema/sweep.schema.json (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { buildExperimentSchema } from '../dist/config/schema.js';
import { SWEEP_SCHEMA } from '../dist/sweep/spec.js';

writeFileSync(
  new URL('../schema/experiment.schema.json', import.meta.url),
  `${JSON.stringify(buildExperimentSchema(), null, 2)}\n`,
);
writeFileSync(new URL('../schema/sweep.schema.json', import.meta.url), `${JSON.stringify(SWEEP_SCHEMA, null, 2)}\n`);
