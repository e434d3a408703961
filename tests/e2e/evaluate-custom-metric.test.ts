// The custom metric's sandbox through the Evaluate page, as a person uses it: stories260K from the offline
// folder, a six-item task suite imported from a JSONL file with a custom metric whose source does something
// different per item (by the record's id): it calls fetch (aimed at a local canary server), loops forever,
// throws, or returns the output's length. The base model alone is evaluated. The evaluation completes; each
// bad item carries its own error naming the cause (fetch blocked, the time limit, the thrown message) and no
// custom score; the good items carry their score; the suite's value is the mean (with the harness's stderr)
// over the items that have a score, as run-task.ts documents; nothing reached the canary, though the page
// itself can reach it; and the page's main thread never stalls for 100 ms or more meanwhile.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startCanaryServer, type CanaryServer } from '../helpers/canary-server';
import { launchChromium, type TestBrowser } from './browser';
import { collectSvelteWarnings, openStudioPage, text } from './studio-page';

const MODEL = 'stories260K';
const SAMPLE = resolve(__dirname, '../../public/datasets/stories-setting/eval.jsonl');
const METRIC = 'chars';
/** Per call: the endless loop costs this much, once. */
const TIME_LIMIT_MS = 300;
const SUITE = 'sandbox probe';
/** Item ids, in file order: what the metric does with each. */
const IDS = ['fetch', 'good-1', 'loop', 'good-2', 'throw', 'good-3'] as const;
const GOOD = IDS.filter((id) => id.startsWith('good'));

/** The metric: one behaviour per item id. Its text must not contain the word the sandbox refuses (import). */
function metricSource(canaryUrl: string): string {
  return `(output, item) => {
  if (item.id === 'fetch') { fetch('${canaryUrl}/from-metric'); return 1; }
  if (item.id === 'loop') { while (true) {} }
  if (item.id === 'throw') throw new Error('no score for ' + item.id);
  return output.length;
}`;
}

interface ShownItem {
  id: string;
  error: string;
  output: string;
  /** The scores line parsed back: key -> value as shown (4 significant digits). */
  scores: Record<string, number>;
}

function shownItems(page: Page): Promise<ShownItem[]> {
  return page.getByTestId('eval-item').evaluateAll((els) =>
    els.map((e) => {
      const d = (e as HTMLElement).dataset;
      const line = e.querySelector('.scores')?.textContent ?? '';
      const scores: Record<string, number> = {};
      for (const part of line.split(' · ').filter((p) => p.trim() !== '')) {
        const [key, value] = part.trim().split(' ');
        scores[key] = Number(value);
      }
      return { id: d.id ?? '', error: d.error ?? '', output: e.querySelector('pre')?.textContent ?? '', scores };
    }),
  );
}

describe('Evaluate page: a custom metric that fetches, loops or throws', () => {
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];
  let canary: CanaryServer;
  let dir: string;

  beforeAll(async () => {
    canary = await startCanaryServer();
    dir = await mkdtemp(join(tmpdir(), 'tunelab-metric-'));
    browser = await launchChromium({ webgpu: true });
    ({ page, errors } = await browser.newPage());
    collectSvelteWarnings(page, errors);
    expect(await openStudioPage(page, inject('studioUrl'), 'model')).toBe('ready');
  });

  afterAll(async () => {
    await browser?.close();
    await canary?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gives each failing item its own error, scores the others and completes with the page responsive', async () => {
    // Six held-out settings of the sample, each given the id that picks the metric's behaviour.
    const sample = (await readFile(SAMPLE, 'utf8')).split('\n').filter((l) => l.trim() !== '');
    const file = join(dir, 'sandbox-probe.jsonl');
    await writeFile(file, IDS.map((id, i) => JSON.stringify({ id, ...JSON.parse(sample[i]) })).join('\n') + '\n');

    const entry = page.locator(`[data-testid=offline-model][data-id=${MODEL}]`);
    await entry.waitFor({ timeout: 30_000 });
    await entry.getByRole('button', { name: 'Load' }).click();
    await page.waitForSelector('[data-testid=load-progress][data-status=ready]', { timeout: 120_000 });

    await page.getByTestId('nav-evaluate').click();
    await page.waitForSelector('main[data-page=evaluate]');
    await page.getByTestId('suite-import-as').selectOption('task');
    await page.getByTestId('suite-file-input').setInputFiles(file);
    const draft = page.getByTestId('suite-draft');
    await draft.waitFor({ timeout: 30_000 });
    expect(await draft.getAttribute('data-kind')).toBe('task');
    expect(await draft.getAttribute('data-items')).toBe(String(IDS.length));
    await page.getByTestId('task-max-new-tokens').fill('24');
    await page.getByTestId('task-perplexity').uncheck();
    await page.getByTestId('task-custom-source').fill(metricSource(canary.url));
    await page.getByTestId('task-custom-name').fill(METRIC);
    await page.getByTestId('task-custom-timeout').fill(String(TIME_LIMIT_MS));
    await page.getByTestId('suite-draft-name').fill(SUITE);
    await page.getByTestId('suite-draft-save').click();
    const suiteRow = page.locator(`[data-testid=suite-row][data-name="${SUITE}"]`);
    await suiteRow.waitFor({ timeout: 30_000 });
    await suiteRow.getByTestId('suite-select').check();
    await page.getByTestId('eval-name').fill('metric sandbox');

    // Long tasks on the page's main thread while the worker evaluates (as train-reliability measures them).
    await page.evaluate(() => {
      const durations: number[] = [];
      (window as unknown as { __longTasks: number[] }).__longTasks = durations;
      new PerformanceObserver((list) => list.getEntries().forEach((e) => durations.push(e.duration))).observe({ type: 'longtask', buffered: false });
    });
    // The observer sees a stall when there is one: a 150 ms busy loop on the main thread, then a clean slate.
    await page.evaluate(() => {
      setTimeout(() => {
        const until = performance.now() + 150;
        while (performance.now() < until);
      }, 0);
    });
    await page.waitForFunction(() => (window as unknown as { __longTasks: number[] }).__longTasks.some((d) => d >= 150), null, { timeout: 5_000 });
    await page.evaluate(() => ((window as unknown as { __longTasks: number[] }).__longTasks.length = 0));
    const started = Date.now();
    await page.getByTestId('eval-start').click();
    await page.waitForSelector('[data-testid=eval-selected][data-status=completed], [data-testid=eval-selected][data-status=failed], [data-testid=eval-error]', {
      timeout: 120_000,
    });
    const seconds = (Date.now() - started) / 1000;
    if ((await page.getByTestId('eval-error').count()) > 0) throw new Error(`the evaluation failed: ${await text(page, 'eval-error')}`);
    expect(await page.getByTestId('eval-selected').getAttribute('data-status')).toBe('completed');
    const longTasks = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks);
    expect(Math.max(0, ...longTasks), `long tasks ${longTasks.join(', ')} during ${seconds} s`).toBeLessThan(100);

    // Per item: the three bad ones carry their cause and no custom score; the others their output's length.
    await page.getByTestId('eval-items').locator('summary').click();
    const count = page.getByTestId('eval-items-count');
    expect(await count.getAttribute('data-items')).toBe(String(IDS.length));
    expect(await count.getAttribute('data-errors')).toBe('3');
    const items = await shownItems(page);
    expect(items.map((i) => i.id)).toEqual([...IDS]);
    const byId = Object.fromEntries(items.map((i) => [i.id, i]));
    expect(byId.fetch.error).toBe(`${METRIC}: TypeError: fetch is not available in the sandbox: it has no network, storage or host access`);
    expect(byId.loop.error).toBe(`${METRIC}: timed out after ${TIME_LIMIT_MS} ms`);
    expect(byId.throw.error).toBe(`${METRIC}: Error: no score for throw`);
    for (const id of ['fetch', 'loop', 'throw']) {
      expect(byId[id].scores, id).not.toHaveProperty(`${METRIC},none`);
      // The built-in metrics still score the failing items.
      expect(byId[id].scores, id).toHaveProperty('rougeL,none');
    }
    const good = GOOD.map((id) => byId[id]);
    for (const item of good) {
      expect(item.error, item.id).toBe('');
      expect(item.scores[`${METRIC},none`], item.id).toBe(item.output.length);
    }

    // The suite's value: the mean over the items with a score, its stderr the harness's sample stddev / sqrt(n).
    const lengths = good.map((i) => i.output.length);
    const mean = lengths.reduce((s, v) => s + v, 0) / lengths.length;
    const stderr = Math.sqrt(lengths.reduce((s, v) => s + (v - mean) ** 2, 0) / (lengths.length - 1)) / Math.sqrt(lengths.length);
    const cell = page.locator(`[data-testid=result-row][data-suite="${SUITE}"][data-metric="${METRIC},none"] [data-testid=result-cell][data-target="0"]`);
    expect(await cell.count()).toBe(1);
    expect(Number(await cell.getAttribute('data-value'))).toBeCloseTo(mean, 9);
    expect(Number(await cell.getAttribute('data-stderr'))).toBeCloseTo(stderr, 9);

    // The metric's fetch reached nothing, though the page itself reaches the canary (so it was listening).
    await new Promise((r) => setTimeout(r, 300));
    expect(canary.requests).toEqual([]);
    expect(await page.evaluate((u) => fetch(`${u}/from-page`).then((r) => r.text()), canary.url)).toBe('reached');
    expect(canary.requests).toEqual(['GET /from-page']);
    expect(errors).toEqual([]);
    console.log(`evaluation of ${IDS.length} items with the custom metric: ${seconds.toFixed(1)} s; good items' ${METRIC} ${lengths.join(', ')}; longest main-thread task ${Math.max(0, ...longTasks)} ms`);
  });
});
