#!/usr/bin/env node
// The `tunelab` command line. Node cannot run the TypeScript engine directly, so this builds it into
// build/cli/main.mjs first when a file under src/ or shaders/ (or package.json) is newer than that bundle,
// then runs it. See scripts/build-cli.mjs.

import { pathToFileURL } from 'node:url';
import { CLI_BUNDLE, ensureCliBuilt } from '../scripts/build-cli.mjs';

try {
  await ensureCliBuilt();
} catch (err) {
  process.stderr.write(`tunelab: could not build the command line: ${err?.message ?? err}\n`);
  process.exit(1);
}
// --verbose stack traces point at the TypeScript sources, through the bundle's source map.
if (process.argv.includes('--verbose')) process.setSourceMapsEnabled(true);
const { runCli } = await import(pathToFileURL(CLI_BUNDLE).href);
await runCli(process.argv.slice(2));
