// The studio on a real WebGPU adapter (SwiftShader in Chromium here): GPU panel, the kernel self-test in
// the worker, IndexedDB from the worker across a reload, and a newer Tunelab in another tab upgrading the
// database (this tab then says to reload, before and after a reload with its older code).

import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { allKernelChecks } from '../../src/engine/selftest/registry';
import { DB_VERSION } from '../../src/storage/db';
import { launchChromium, type TestBrowser } from './browser';
import { adapterFromMainThread, openStudio, openStudioPage, text, waitForView } from './studio-page';

const artifacts = fileURLToPath(new URL('../../test-results/e2e/', import.meta.url));

describe('studio with a WebGPU adapter', () => {
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    browser = await launchChromium({ webgpu: true });
    ({ page, errors } = await browser.newPage());
    // Without a page in the URL the studio opens on the Model page, with the offline demo offered.
    expect(await openStudio(page, inject('studioUrl'))).toBe('ready');
    await page.waitForSelector('main[data-page=model]');
    expect(await page.getByTestId('demo-load').isVisible()).toBe(true);
    expect(await openStudioPage(page, inject('studioUrl'), 'device')).toBe('ready');
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('shows the adapter the browser offers, its features and its limits', async () => {
    const truth = await adapterFromMainThread(page);
    expect(truth, 'the page itself sees no adapter: is --enable-unsafe-webgpu passed?').not.toBeNull();

    const architecture = await text(page, 'adapter-architecture');
    const description = await text(page, 'adapter-description');
    const reported = [architecture, description].filter((t) => t !== 'not reported');
    expect(reported.length, 'neither architecture nor description reported').toBeGreaterThan(0);
    expect(architecture).toBe(truth!.architecture || 'not reported');
    expect(await text(page, 'adapter-vendor')).toBe(truth!.vendor || 'not reported');
    expect(await text(page, 'adapter-fallback')).toMatch(/^(yes|no)\b/);

    for (const feature of ['shader-f16', 'subgroups', 'timestamp-query']) {
      expect(await text(page, `feature-${feature}`), feature).toBe(truth!.features.includes(feature) ? 'yes' : 'no');
    }

    for (const [name, exact] of Object.entries(truth!.limits)) {
      const cell = page.getByTestId(`limit-${name}`);
      expect(Number(await cell.getAttribute('data-value')), name).toBe(exact);
      expect(exact, name).toBeGreaterThan(0);
      // Human units on the page, the exact number in the title.
      const title = (await cell.getAttribute('title')) ?? '';
      expect(title.replace(/,/g, ''), name).toContain(String(exact));
      if (name !== 'maxComputeInvocationsPerWorkgroup') {
        expect((await cell.textContent())?.trim(), name).toMatch(/^\d+(\.\d+)? (bytes|KiB|MiB|GiB|TiB)$/);
      }
    }
    expect(errors).toEqual([]);
  });

  it('runs every registered kernel check in the worker, and all pass', async () => {
    const panel = page.getByTestId('selftest');
    expect(Number(await panel.getAttribute('data-registry-count'))).toBe(allKernelChecks.length);
    expect(allKernelChecks.length).toBeGreaterThan(0);

    // Record what the progress line says while the test runs.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { progressSeen: string[] }).progressSeen = seen;
      new MutationObserver(() => {
        const t = document.querySelector('[data-testid=selftest-progress]')?.textContent?.trim();
        if (t && seen.at(-1) !== t) seen.push(t);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });

    // The main thread must stay responsive: the checks run in the worker. Chromium reports tasks over
    // 50 ms as 'longtask'; allow up to 100 ms so a busy 2-core machine cannot make this flaky.
    expect(await page.evaluate(() => PerformanceObserver.supportedEntryTypes.includes('longtask'))).toBe(true);
    await page.evaluate(() => {
      const lt: number[] = [];
      (window as unknown as { longTasks: number[] }).longTasks = lt;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) lt.push(Math.round(e.duration));
      }).observe({ type: 'longtask' });
    });
    await page.getByRole('button', { name: 'Run kernel self-test' }).click();
    const summary = page.getByTestId('selftest-summary');
    await summary.waitFor({ timeout: 240_000 });

    const longTasks = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
    expect(longTasks.filter((ms) => ms > 100), `main-thread long tasks (ms): ${longTasks.join(', ')}`).toEqual([]);
    const n = allKernelChecks.length;
    const failed = page.locator('[data-testid=selftest-row][data-pass=false]');
    const failures: string[] = [];
    for (let i = 0; i < (await failed.count()); i++) {
      await failed.nth(i).getByRole('button', { name: 'Details' }).click();
    }
    for (const d of await page.getByTestId('selftest-details').all()) failures.push((await d.innerText()).trim());
    expect(failures, 'failing kernel checks').toEqual([]);
    expect((await summary.textContent())?.trim()).toBe(`${n} of ${n} kernels pass`);
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
    expect(seen.some((t) => t.startsWith(`Check 1 of ${n}: ${allKernelChecks[0].name}`)), seen.join(' | ')).toBe(true);

    const rows = page.getByTestId('selftest-row');
    expect(await rows.count()).toBe(n);
    for (let i = 0; i < n; i++) {
      const row = rows.nth(i);
      const name = allKernelChecks[i].name;
      expect((await row.locator('td').first().textContent())?.trim()).toBe(name);
      expect(await row.getAttribute('data-pass'), name).toBe('true');
      const maxError = row.getByTestId('max-error');
      const shown = Number((await maxError.textContent())?.trim());
      expect(Number.isFinite(shown), `${name}: max error "${await maxError.textContent()}"`).toBe(true);
      expect(shown, name).toBeGreaterThanOrEqual(0);
      expect(shown, name).toBeLessThan(1);
    }

    // Details on demand: the first check's outcomes, phrased by the comparison helper.
    await rows.first().getByRole('button', { name: 'Details' }).click();
    const details = page.getByTestId('selftest-details');
    expect(await details.count()).toBe(1);
    expect(await details.textContent()).toMatch(/ok max\|err\|=/);

    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: `${artifacts}studio-after-selftest.png`, fullPage: true });
    expect(errors).toEqual([]);
  });

  it('writes IndexedDB from the worker and reads it back after a reload', async () => {
    const line = page.getByTestId('storage-line');
    await page.waitForFunction(() => document.querySelector('[data-testid=storage-line]')?.getAttribute('data-status') !== 'pending');
    expect(await line.getAttribute('data-status'), await line.textContent() ?? '').toBe('ok');
    expect(await line.textContent()).toContain('OK');
    const first = await line.getAttribute('data-token');
    expect(first).toMatch(/^[0-9a-f]{16}$/);

    // The record is really in this origin's IndexedDB, not just in the worker's memory.
    const stored = await page.evaluate(
      () =>
        new Promise<string | null>((resolve, reject) => {
          const open = indexedDB.open('tunelab');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const db = open.result;
            const get = db.transaction('meta').objectStore('meta').get('storage-probe');
            get.onsuccess = () => {
              db.close();
              resolve((get.result as { token?: string } | undefined)?.token ?? null);
            };
            get.onerror = () => reject(get.error);
          };
        }),
    );
    expect(stored).toBe(first);

    await page.reload();
    expect(await waitForView(page)).toBe('ready');
    await page.waitForFunction(() => document.querySelector('[data-testid=storage-line]')?.getAttribute('data-status') !== 'pending');
    expect(await line.getAttribute('data-status')).toBe('ok');
    expect(await line.getAttribute('data-previous-token')).toBe(first);
    expect(await line.getAttribute('data-token')).not.toBe(first);
    expect(errors).toEqual([]);
  });
  // Last: the profile's database stays at the newer version.
  it('another tab opening a newer database version: a banner says to reload, and says so again after a reload with this code', async () => {
    const upgraded = 'Tunelab was updated in another tab — reload to continue.';
    const other = await browser.newPage();
    // Any page of the origin will do; this one does not start a studio of its own.
    await other.page.goto(new URL('/datasets/stories-setting/train.jsonl', inject('studioUrl')).href);
    const version = await other.page.evaluate(
      () =>
        new Promise<number>((resolve, reject) => {
          const current = indexedDB.open('tunelab');
          current.onerror = () => reject(current.error);
          current.onsuccess = () => {
            const next = current.result.version + 1;
            current.result.close();
            const open = indexedDB.open('tunelab', next);
            open.onupgradeneeded = () => open.result.createObjectStore('fromTheFuture');
            open.onblocked = () => reject(new Error('the upgrade was blocked by the studio tab'));
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              open.result.close();
              resolve(next);
            };
          };
        }),
    );
    expect(version).toBe(DB_VERSION + 1);
    const banner = page.getByTestId('storage-upgraded');
    await banner.waitFor({ timeout: 10_000 });
    expect((await banner.textContent())?.trim()).toBe(`${upgraded} Reload`);

    await Promise.all([page.waitForEvent('load'), banner.getByRole('button', { name: 'Reload' }).click()]);
    expect(await waitForView(page)).toBe('ready');
    // This page's code is older than the saved data: it says so again, and storage calls say why they fail.
    await page.getByTestId('storage-upgraded').waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('[data-testid=storage-line]')?.getAttribute('data-status') !== 'pending');
    expect(await page.getByTestId('storage-line').textContent()).toContain(`StorageUpgradedError: ${upgraded}`);
    expect(errors).toEqual([]);
    expect(other.errors).toEqual([]);
  });
});
