// Writes schema/experiment.schema.json from the registries (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { buildExperimentSchema } from '../dist/config/schema.js';

writeFileSync(
  new URL('../schema/experiment.schema.json', import.meta.url),
  `${JSON.stringify(buildExperimentSchema(), null, 2)}\n`,
);
