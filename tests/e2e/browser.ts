// Launches the system Chromium (never a downloaded one) headless, with a fresh profile per launch.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export interface LaunchOptions {
  /** Pass --enable-unsafe-webgpu (Chromium on Linux offers no adapter without it). */
  webgpu: boolean;
  extraArgs?: string[];
}

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab that records uncaught page errors into `errors`. */
  newPage(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

const CHROMIUM = process.env.TUNELAB_CHROMIUM ?? '/usr/bin/chromium';

const QUIET_ARGS = [
  '--no-sandbox', // the test machines run as root, where Chromium's sandbox cannot start
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launchChromium(options: LaunchOptions): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}. Install the system package (apt-get install chromium) or set TUNELAB_CHROMIUM; ` +
        'the e2e tests never download a browser.',
    );
  }
  const userDataDir = await mkdtemp(join(tmpdir(), 'tunelab-e2e-'));
  const args = [...QUIET_ARGS, ...(options.webgpu ? ['--enable-unsafe-webgpu'] : []), ...(options.extraArgs ?? [])];
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: { width: 1100, height: 900 },
  });
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      return { page, errors };
    },
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
