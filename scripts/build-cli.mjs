// Builds the `tunelab` command line (src/cli/main.ts) into one ES module for Node: Node cannot run
// TypeScript, and the engine imports its WGSL with Vite's `?raw` suffix, so Vite bundles it. Packages
// (webgpu, @huggingface/*) stay external and load from node_modules at run time.
//
//   node scripts/build-cli.mjs        (or `npm run cli:build`) builds unconditionally
//   bin/tunelab.mjs                   calls ensureCliBuilt(), which builds only when a source is newer
//
// Everything this prints goes to stderr: stdout belongs to the command's output.

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_OUT_DIR = join(root, 'build', 'cli');
export const CLI_BUNDLE = join(CLI_OUT_DIR, 'main.mjs');

/** What the bundle is built from: a change to any of these makes it stale. */
const SOURCE_DIRS = ['src', 'shaders'];
const SOURCE_FILES = ['package.json', 'scripts/build-cli.mjs'];

/** A file's modification time; 0 when it vanished between listing and stat (an editor's temp file). */
function mtimeOf(path) {
  return statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0;
}

function newestMtimeIn(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtimeIn(path) : mtimeOf(path);
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

/** The newest modification time among the bundle's sources (a few ms: only stat calls). */
export function newestSourceMtime() {
  let newest = 0;
  for (const dir of SOURCE_DIRS) newest = Math.max(newest, newestMtimeIn(join(root, dir)));
  for (const file of SOURCE_FILES) newest = Math.max(newest, mtimeOf(join(root, file)));
  return newest;
}

export function cliBundleIsFresh() {
  if (!existsSync(CLI_BUNDLE)) return false;
  return statSync(CLI_BUNDLE).mtimeMs >= newestSourceMtime();
}

/** Builds the bundle; returns the seconds it took. */
export async function buildCli() {
  const started = Date.now();
  const { build } = await import('vite');
  // Build beside the final file and rename it into place, so two commands started at once never load a
  // half-written bundle.
  const tmpDir = join(root, 'build', `cli-tmp-${process.pid}`);
  try {
    await build({
      configFile: false,
      root,
      logLevel: 'warn', // warnings and errors go to stderr; Vite's info lines would go to stdout
      clearScreen: false,
      build: {
        ssr: join(root, 'src/cli/main.ts'),
        outDir: tmpDir,
        emptyOutDir: true,
        target: 'node20',
        minify: false,
        sourcemap: true,
        copyPublicDir: false,
        reportCompressedSize: false,
        rolldownOptions: {
          output: { format: 'es', entryFileNames: 'main.mjs', codeSplitting: false },
        },
      },
    });
    mkdirSync(CLI_OUT_DIR, { recursive: true });
    renameSync(join(tmpDir, 'main.mjs.map'), join(CLI_BUNDLE + '.map'));
    renameSync(join(tmpDir, 'main.mjs'), CLI_BUNDLE);
    // Stamp the bundle with the build's start: a source saved during the build is then newer than it.
    const startedAt = new Date(started);
    utimesSync(CLI_BUNDLE, startedAt, startedAt);
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
  return (Date.now() - started) / 1000;
}

/** Builds when the bundle is missing or older than a source; says so on stderr. */
export async function ensureCliBuilt() {
  if (cliBundleIsFresh()) return;
  process.stderr.write('tunelab: building the command line (sources changed)...\n');
  const seconds = await buildCli();
  process.stderr.write(`tunelab: built ${CLI_BUNDLE} in ${seconds.toFixed(1)} s\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const seconds = await buildCli();
  process.stderr.write(`built ${CLI_BUNDLE} in ${seconds.toFixed(1)} s\n`);
}
