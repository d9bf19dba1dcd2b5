#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

const code = await main(process.argv.slice(2));
// Let stdout drain before exiting, so piped JSON is never cut short.
process.stdout.write('', () => process.exit(code));
