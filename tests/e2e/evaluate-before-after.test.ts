// Before and after on the stories-setting sample, driven through the pages as a person would: stories260K from
// the offline folder, the sample SFT dataset, a short LoRA run on the Train page and its adapter saved; on the
// Evaluate page the sample task suite (held-out settings: ROUGE-L, the format regex, loss and perplexity of the
// references) and the sample retention suite (stories kept aside) imported from the served files, then one
// action evaluates the base and base + adapter. The task metrics move the right way (reference perplexity down,
// ROUGE-L up), the forgetting row shows the retention perplexity's change with its error, the page stays
// responsive, and everything is shown again, unchanged, after a reload.

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium, type TestBrowser } from './browser';
import { collectSvelteWarnings, openStudioPage, text, waitForView } from './studio-page';

const MODEL = 'stories260K';
const ITEMS = 12;

async function goTo(page: Page, name: 'model' | 'data' | 'train' | 'evaluate'): Promise<void> {
  await page.getByTestId(`nav-${name}`).click();
  await page.waitForSelector(`main[data-page=${name}]`);
}

interface Cell {
  target: number;
  value: number;
  stderr: number | null;
  difference: number | null;
  differenceStderr: number | null;
  significant: string;
}

/** The results table's cells of one suite and metric, by target. */
function cells(page: Page, suite: string, metric: string): Promise<Cell[]> {
  return page
    .locator(`[data-testid=result-row][data-suite="${suite}"][data-metric="${metric}"] [data-testid=result-cell]`)
    .evaluateAll((els) =>
      els.map((e) => {
        const d = (e as HTMLElement).dataset;
        const n = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
        return { target: Number(d.target), value: Number(d.value), stderr: n(d.stderr), difference: n(d.difference), differenceStderr: n(d.differenceStderr), significant: d.significant ?? '' };
      }),
    );
}

async function saveSampleSuite(page: Page, id: string, name: string): Promise<void> {
  await page.getByTestId(`load-sample-suite-${id}`).click();
  await page.getByTestId('suite-draft').waitFor({ timeout: 30_000 });
  await page.getByTestId('suite-draft-name').fill(name);
  await page.getByTestId('suite-draft-save').click();
  await page.locator(`[data-testid=suite-row][data-name="${name}"]`).waitFor({ timeout: 30_000 });
}

describe('Evaluate page: before and after on the stories-setting sample adapter', () => {
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];
  let shown: { task: Cell[][]; forgetting: Record<string, string | undefined> };

  beforeAll(async () => {
    browser = await launchChromium({ webgpu: true });
    ({ page, errors } = await browser.newPage());
    collectSvelteWarnings(page, errors);
    expect(await openStudioPage(page, inject('studioUrl'), 'model')).toBe('ready');
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('trains the adapter, evaluates base and adapter on the task and retention suites, and marks the changes', async () => {
    const entry = page.locator(`[data-testid=offline-model][data-id=${MODEL}]`);
    await entry.waitFor({ timeout: 30_000 });
    await entry.getByRole('button', { name: 'Load' }).click();
    await page.waitForSelector('[data-testid=load-progress][data-status=ready]', { timeout: 120_000 });

    await goTo(page, 'data');
    await page.getByTestId('load-sample-dataset').click();
    await page.getByTestId('dataset-draft').waitFor({ timeout: 30_000 });
    await page.getByTestId('draft-name').fill('stories sample');
    await page.getByTestId('draft-split-fraction').fill('0.01');
    await page.getByTestId('draft-save').click();
    const datasetRow = page.locator('[data-testid=dataset-row][data-name="stories sample"]');
    await datasetRow.waitFor({ timeout: 30_000 });
    const datasetId = (await datasetRow.getAttribute('data-id')) ?? '';

    await goTo(page, 'train');
    await page.getByTestId('train-settings').waitFor();
    await page.getByTestId('train-dataset').selectOption(datasetId);
    await page.getByTestId('train-target-all-linear').check();
    await page.getByTestId('train-duration').selectOption('steps');
    for (const [id, value] of [
      ['train-steps', 20],
      ['train-batch', 4],
      ['train-max-length', 64],
      ['train-eval-every', 20],
      ['train-checkpoint-every', 20],
    ] as const) {
      await page.getByTestId(id).fill(String(value));
    }
    await page.getByTestId('train-run-name').fill('setting run');
    await page.getByTestId('train-start').click();
    const runRow = page.locator('[data-testid=run-row][data-name="setting run"]');
    await runRow.waitFor({ timeout: 60_000 });
    await page.waitForSelector('[data-testid=run-row][data-name="setting run"][data-status=completed]', { timeout: 240_000 });
    await runRow.getByTestId('run-save-adapter').click();
    await page.getByTestId('run-adapter-name').fill('setting adapter');
    await page.getByTestId('run-save-adapter-confirm').click();
    await page.getByTestId('adapter-saved').waitFor({ timeout: 30_000 });
    const adapterId = (await page.getByTestId('adapter-saved').getAttribute('data-adapter-id')) ?? '';

    await goTo(page, 'evaluate');
    await saveSampleSuite(page, 'stories-setting-eval', 'setting task');
    await saveSampleSuite(page, 'stories-setting-general', 'kept-aside stories');
    for (const name of ['setting task', 'kept-aside stories']) await page.locator(`[data-testid=suite-row][data-name="${name}"] [data-testid=suite-select]`).check();
    await page.locator(`[data-testid=eval-adapter][data-id="${adapterId}"]`).check();
    await page.getByTestId('eval-limit').fill(String(ITEMS));
    await page.getByTestId('eval-name').fill('setting before and after');

    // Long tasks on the page's main thread while the worker evaluates (as train-reliability measures them).
    await page.evaluate(() => {
      const longest: number[] = [];
      (window as unknown as { __longTasks: number[] }).__longTasks = longest;
      new PerformanceObserver((list) => list.getEntries().forEach((e) => longest.push(e.duration))).observe({ type: 'longtask', buffered: false });
    });
    await page.getByTestId('eval-start').click();
    await page.getByTestId('eval-progress').waitFor({ timeout: 30_000 });
    await page.waitForSelector('[data-testid=eval-selected][data-status=completed], [data-testid=eval-error]', { timeout: 240_000 });
    if ((await page.getByTestId('eval-error').count()) > 0) throw new Error(`the evaluation failed: ${await text(page, 'eval-error')}`);
    const longTasks = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks);
    expect(Math.max(0, ...longTasks), `long tasks ${longTasks.join(', ')}`).toBeLessThan(100);

    const ppl = await cells(page, 'setting task', 'perplexity,none');
    const rouge = await cells(page, 'setting task', 'rougeL,none');
    const regex = await cells(page, 'setting task', 'regex_match,none');
    expect(ppl.map((c) => c.target)).toEqual([0, 1]);
    // The adapter learned the task: the references' perplexity falls, by more than twice its error.
    expect(ppl[1].value).toBeLessThan(ppl[0].value);
    expect(ppl[1].difference).toBeCloseTo(ppl[1].value - ppl[0].value, 9);
    expect(ppl[1].significant).toBe('true');
    expect(rouge[1].value, `ROUGE-L base ${rouge[0].value}, adapter ${rouge[1].value}`).toBeGreaterThan(rouge[0].value);
    for (const c of [...ppl, ...rouge, ...regex]) expect(c.stderr).not.toBeNull();
    // The differences carry their own (paired per item) standard errors.
    for (const c of [ppl[1], rouge[1]]) expect(c.differenceStderr).toBeGreaterThan(0);
    expect(rouge[1].difference).toBeCloseTo(rouge[1].value - rouge[0].value, 9);

    const forgetting = page.locator('[data-testid=forgetting-row][data-suite="kept-aside stories"]');
    expect(await forgetting.count()).toBe(1);
    const f = await forgetting.evaluate((e) => ({ ...(e as HTMLElement).dataset }));
    const retention = await cells(page, 'kept-aside stories', 'perplexity,none');
    expect(Number(f.difference)).toBeCloseTo(retention[1].value - retention[0].value, 9);
    expect(Number(f.stderr)).toBeGreaterThan(0);
    expect(await page.getByTestId('chart-eval-' + (await page.locator('[data-testid=suite-row][data-name="setting task"]').getAttribute('data-id'))).getAttribute('data-bars')).toBe(String(2 * 4));

    // Per-item outputs: one per item of the chosen suite and model.
    await page.getByTestId('eval-items').locator('summary').click();
    expect(Number(await page.getByTestId('eval-items-count').getAttribute('data-items'))).toBe(ITEMS);
    expect(await page.getByTestId('eval-item').count()).toBe(ITEMS);

    shown = { task: [ppl, rouge, regex], forgetting: f };
    expect(errors).toEqual([]);
  });

  it('shows the same stored results after a page reload', async () => {
    await page.reload();
    expect(await waitForView(page)).toBe('ready');
    await goTo(page, 'evaluate');
    const row = page.locator('[data-testid=eval-history-row][data-status=completed]');
    await row.first().waitFor({ timeout: 30_000 });
    expect(await row.count()).toBe(1);
    await row.getByTestId('eval-history-open').click();
    await page.getByTestId('eval-selected').waitFor({ timeout: 30_000 });
    expect([
      await cells(page, 'setting task', 'perplexity,none'),
      await cells(page, 'setting task', 'rougeL,none'),
      await cells(page, 'setting task', 'regex_match,none'),
    ]).toEqual(shown.task);
    const f = await page.locator('[data-testid=forgetting-row][data-suite="kept-aside stories"]').evaluate((e) => ({ ...(e as HTMLElement).dataset }));
    expect(f).toEqual(shown.forgetting);
    expect(errors).toEqual([]);
  });
});
