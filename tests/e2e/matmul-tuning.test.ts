// The Device page's matmul tuning in Chromium (SwiftShader): a fresh profile has none; "Tune now" measures
// in the worker with progress (about 15-25 s here) and lists every shape class with its chosen variant and
// each candidate's figure; after a reload the worker reads the same record back from IndexedDB.

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MATMUL_CLASSES } from '../../src/engine/ops/gpu/matmul-classes';
import { launchChromium, type TestBrowser } from './browser';
import { openStudioPage, waitForView } from './studio-page';

/** Class id -> chosen variant, as the table shows them. */
async function choices(page: Page): Promise<Record<string, string>> {
  const rows = page.getByTestId('matmul-class');
  const out: Record<string, string> = {};
  for (let i = 0; i < (await rows.count()); i++) {
    const row = rows.nth(i);
    out[(await row.getAttribute('data-class')) ?? ''] = (await row.getAttribute('data-choice')) ?? '';
  }
  return out;
}

describe('matmul tuning on the Device page', () => {
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    browser = await launchChromium({ webgpu: true });
    ({ page, errors } = await browser.newPage());
    expect(await openStudioPage(page, inject('studioUrl'), 'device')).toBe('ready');
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('measures on request, shows every class, and reads the record back after a reload', async () => {
    const panel = page.getByTestId('matmul-tuning');
    await page.waitForSelector('[data-testid=matmul-tuning][data-state=none]');
    expect(await page.getByTestId('matmul-tuning-none').textContent()).toMatch(/none is cached for this adapter/);
    expect((await page.getByTestId('matmul-retune').textContent())?.trim()).toBe('Tune now');

    await page.getByTestId('matmul-retune').click();
    await page.getByTestId('matmul-tune-progress').waitFor();
    await page.waitForSelector('[data-testid=matmul-tuning][data-state=tuned]', { timeout: 120_000 });
    const measured = await choices(page);
    expect(Object.keys(measured)).toEqual(MATMUL_CLASSES.map((c) => c.id));
    // Each row marks its choice among its candidates: timed, or the built-in one where the 15 s budget ran
    // out before the class was reached (the first class always runs).
    for (const [i, [id, choice]] of Object.entries(measured).entries()) {
      const row = panel.locator(`[data-class="${id}"]`);
      const chosen = row.locator('.candidate.chosen');
      expect(await chosen.getAttribute('data-variant'), id).toBe(choice);
      const figure = (await chosen.textContent())?.trim() ?? '';
      if (i === 0 || !figure.endsWith('—')) expect(figure, id).toMatch(/\d\.\d+$/);
      else expect(await row.textContent(), id).toContain('the built-in choice');
    }
    expect(await page.getByTestId('matmul-tuning-summary').textContent()).toMatch(/Measured just now in \d+\.\d s \(budget 15 s, small products\).*Measured in this session\./s);

    // A new load: a new worker, which reads the stored record when it opens the device.
    await page.reload();
    expect(await waitForView(page)).toBe('ready');
    await page.waitForSelector('main[data-page=device]');
    await page.waitForSelector('[data-testid=matmul-tuning][data-state=tuned]');
    expect(await choices(page)).toEqual(measured);
    expect(await page.getByTestId('matmul-tuning-summary').textContent()).toMatch(/Read from this browser’s storage\./);
    expect((await page.getByTestId('matmul-retune').textContent())?.trim()).toBe('Re-tune');
    expect(errors).toEqual([]);
  });
});
