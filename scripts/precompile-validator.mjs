// Compiles the experiment schema's validator into dist/config/experiment-validator.cjs (run after `tsc -b`), so that
// no command compiles it at start-up (src/config/precompiled-validator.ts).
import { buildExperimentSchema } from '../dist/config/schema.js';
import { writePrecompiledValidator } from '../dist/config/precompiled-validator.js';

writePrecompiledValidator(buildExperimentSchema());
