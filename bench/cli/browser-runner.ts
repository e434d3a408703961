// Our side and the peer in headless Chromium (playwright-core, --enable-unsafe-webgpu): the bench page
// exposes window.tunelabBench (bench/browser/main.ts), called one after the other through page.evaluate().
// Progress lines come back through the page's console with a "[bench] " prefix.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchOptions, Log, PeerReport } from '../core/types';
import type { Cleanups } from './cleanups';
import { pageUrl, startPageServer } from './page-server';
import type { BenchResult } from './report-json';

export interface BrowserRun {
  root: string;
  modelsDir: string;
  chromium: string;
  peer: boolean;
}

const PEER_NAME = 'TensorFlow.js WebGPU backend';

export async function runInChromium(run: BrowserRun, options: BenchOptions, progress: Log, cleanups: Cleanups): Promise<BenchResult> {
  const { chromium } = await import('playwright-core');
  if (!existsSync(run.chromium)) throw new Error(`no browser at ${run.chromium} (apt-get install chromium, or --chromium=PATH)`);
  const server = await startPageServer(run.root, run.modelsDir);
  const closeServer = () => server.close().catch(() => {});
  cleanups.add(closeServer);
  const userDataDir = await mkdtemp(join(tmpdir(), 'tunelab-bench-'));
  const removeProfile = () => rm(userDataDir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
  cleanups.add(removeProfile);
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: run.chromium,
      headless: true,
      args: [
        '--enable-unsafe-webgpu',
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    const closeBrowser = () => context.close().catch(() => {});
    cleanups.add(closeBrowser);
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (msg) => {
        const text = msg.text();
        if (text.startsWith('[bench] ')) progress(text.slice(8));
        else if (msg.type() === 'error') progress(`page: ${text}`);
      });
      page.on('pageerror', (err) => progress(`page error: ${err.message}`));
      await page.goto(pageUrl(server));
      await page.waitForFunction(() => Boolean(window.tunelabBench), null, { timeout: 60_000 });
      const ours = await page.evaluate((o) => window.tunelabBench!.ours(o), options);
      let peer: PeerReport;
      if (run.peer) {
        try {
          peer = await page.evaluate((o) => window.tunelabBench!.peer(o), options);
        } catch (err) {
          peer = { name: PEER_NAME, available: false, error: String((err as Error).message ?? err), matmul: [] };
        }
      } else {
        peer = { name: PEER_NAME, available: false, error: 'skipped (--no-peer)', matmul: [] };
      }
      return { ours, peer };
    } finally {
      await closeBrowser();
      cleanups.delete(closeBrowser);
    }
  } finally {
    await removeProfile();
    cleanups.delete(removeProfile);
    await closeServer();
    cleanups.delete(closeServer);
  }
}
