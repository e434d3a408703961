#!/usr/bin/env node
// Tunelab benchmark (`npm run bench`; options: --help; what it measures: bench/README.md). The driver is
// TypeScript (bench/cli/main.ts) and Node 20 cannot run TypeScript, so this loads it through Vite's SSR
// module loader, the way the driver loads bench/core/*.ts (with their ?raw WGSL imports) for --node, and
// runs it. Nothing else belongs here.

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const entry = fileURLToPath(import.meta.url);
const root = resolve(dirname(entry), '..');

const loader = await createServer({
  configFile: false,
  root,
  logLevel: 'error',
  clearScreen: false,
  appType: 'custom',
  cacheDir: join(root, 'node_modules/.vite-bench-cli'),
  server: { middlewareMode: true, hmr: false, ws: false, watch: null },
  optimizeDeps: { noDiscovery: true, include: [] },
});
let code = 1;
try {
  const { main } = await loader.ssrLoadModule('/bench/cli/main.ts');
  code = await main(process.argv.slice(2), entry);
} catch (err) {
  console.error(`bench: ${err?.stack ?? err}`);
} finally {
  await loader.close().catch(() => {});
}
// dawn.node keeps the process alive while its GPU objects exist.
process.exit(code);
