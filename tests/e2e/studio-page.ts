// Helpers that read the studio page the way a person would, plus the data-* hooks the page exposes.

import type { Page } from 'playwright-core';

export type StudioView = 'starting' | 'worker-failed' | 'no-gpu' | 'ready';

/** Opens the studio and waits until the worker has answered (the page leaves its 'starting' view). */
export async function openStudio(page: Page, url: string): Promise<StudioView> {
  await page.goto(url);
  return waitForView(page);
}

/** Opens one page of the studio (`#model`, ...) and waits until the worker has answered. */
export async function openStudioPage(page: Page, url: string, name: 'device' | 'model' | 'data' | 'train' | 'chat' | 'adapters' | 'evaluate'): Promise<StudioView> {
  const target = new URL(url);
  target.hash = name;
  await page.goto(target.href);
  const view = await waitForView(page);
  if (view === 'ready') await page.waitForSelector(`main[data-page=${name}]`);
  return view;
}

/** Svelte's runtime warnings (stale deriveds, ...) count as errors: they mean a page can show old state. */
export function collectSvelteWarnings(page: Page, errors: string[]): void {
  page.on('console', (m) => {
    if (m.text().includes('svelte.dev/e/')) errors.push(`console ${m.type()}: ${m.text()}`);
  });
}

export async function waitForView(page: Page): Promise<StudioView> {
  const view = await page.waitForFunction(
    () => {
      const v = document.querySelector('main')?.dataset.view;
      return v && v !== 'starting' ? v : null;
    },
    null,
    { timeout: 60_000 },
  );
  return (await view.jsonValue()) as StudioView;
}

/** Text of the element with `testId`, trimmed; throws if it is missing. */
export async function text(page: Page, testId: string): Promise<string> {
  const t = await page.getByTestId(testId).textContent({ timeout: 5_000 });
  if (t === null) throw new Error(`no text in [data-testid=${testId}]`);
  return t.trim();
}

/** What the page's own main thread sees from WebGPU, to check the worker's report against. */
export interface BrowserAdapter {
  vendor: string;
  architecture: string;
  features: string[];
  limits: Record<string, number>;
}

export function adapterFromMainThread(page: Page): Promise<BrowserAdapter | null> {
  return page.evaluate(async () => {
    const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return null;
    const limits: Record<string, number> = {};
    for (const name of [
      'maxStorageBufferBindingSize',
      'maxBufferSize',
      'maxComputeWorkgroupStorageSize',
      'maxComputeInvocationsPerWorkgroup',
    ] as const) {
      limits[name] = adapter.limits[name];
    }
    return {
      vendor: adapter.info.vendor,
      architecture: adapter.info.architecture,
      features: [...adapter.features],
      limits,
    };
  });
}
