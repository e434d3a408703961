// The Vite dev server that serves the bench page (bench/index.html + bench/browser/*.ts) to Chromium, with
// the offline model folder (scripts/offline-models.ts, as `npm start -- --models DIR` serves it) so the page
// reads stories260K the way the studio does. Inline config: vite.config.ts (the studio's) is not used.

import { join } from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { offlineModels } from '../../scripts/offline-models';

export async function startPageServer(root: string, modelsDir: string): Promise<ViteDevServer> {
  const server = await createServer({
    configFile: false,
    root,
    logLevel: 'error',
    clearScreen: false,
    // Our own dependency cache, apart from the studio's.
    cacheDir: join(root, 'node_modules/.vite-bench'),
    plugins: [offlineModels(modelsDir)],
    server: { host: '127.0.0.1', port: 0, strictPort: true, hmr: false, watch: null },
    optimizeDeps: {
      entries: ['bench/index.html'],
      include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu'],
    },
  });
  await server.listen();
  return server;
}

/** The page's address on a listening server. */
export function pageUrl(server: ViteDevServer): string {
  const base = server.resolvedUrls?.local?.[0];
  if (!base) throw new Error('the Vite server did not report a local URL');
  return new URL('bench/index.html', base).href;
}
