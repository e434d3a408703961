// Builds the studio once and serves dist/ on 127.0.0.1 (a secure context, which WebGPU requires) on a
// free port. Set TUNELAB_E2E_SKIP_BUILD=1 to serve an existing dist/ as is (model-page.test.ts's Hub mirror
// then needs it built with TUNELAB_CONNECT_SRC='http://127.0.0.1:*').
//
// The preview server also serves ../shared/assets/models as the offline model folder (TUNELAB_MODELS, as
// `npm start -- --models DIR` sets it), so the Model page lists stories260K there.
//
// The build runs under its Content-Security-Policy (scripts/content-security-policy.ts) with
// TUNELAB_CONNECT_SRC=http://127.0.0.1:* added, as the tests' Hub mirrors listen on 127.0.0.1 at random ports;
// csp.test.ts builds its own, allowing only its one mirror.
//
// The server also answers to INSECURE_HOST, a name tests map to 127.0.0.1 inside Chromium: the same page
// from a non-local http origin is not a secure context, so it has no navigator.gpu at all.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';
import type { TestProject } from 'vitest/node';

export const INSECURE_HOST = 'tunelab.test';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** The shared test models (read in place, never copied into the repo). */
const modelsDir = resolve(root, '../shared/assets/models');

/** The tests' local servers (Hub mirrors) at any port of 127.0.0.1. */
export const TEST_CONNECT_SRC = 'http://127.0.0.1:*';

/** Builds the studio for production into `outDir` (default dist/), with `connectSrc` as TUNELAB_CONNECT_SRC. */
export async function buildStudio(connectSrc: string, outDir?: string): Promise<void> {
  // vitest sets NODE_ENV=test; the studio under test must be the production build.
  const saved = { NODE_ENV: process.env.NODE_ENV, TUNELAB_CONNECT_SRC: process.env.TUNELAB_CONNECT_SRC };
  process.env.NODE_ENV = 'production';
  process.env.TUNELAB_CONNECT_SRC = connectSrc;
  try {
    await build({ root, mode: 'production', logLevel: 'warn', ...(outDir ? { build: { outDir, emptyOutDir: true } } : {}) });
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!process.env.TUNELAB_E2E_SKIP_BUILD) await buildStudio(TEST_CONNECT_SRC);
  if (!existsSync(modelsDir)) throw new Error(`The shared test models are missing: ${modelsDir}`);
  // vite.config.ts reads it when preview() loads the config.
  process.env.TUNELAB_MODELS = modelsDir;
  const server = await preview({
    root,
    logLevel: 'warn',
    preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false, allowedHosts: [INSECURE_HOST] },
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview started but reported no local URL');
  project.provide('studioUrl', url);
  project.provide('insecureHost', INSECURE_HOST);
  project.provide('modelsDir', modelsDir);
  return async () => {
    await server.close();
  };
}
