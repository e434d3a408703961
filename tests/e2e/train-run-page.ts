// The Train page as the e2e tests drive it: open the studio with stories260K loaded, save a dataset through
// the Data page, fill and start a run, wait for its steps and statuses, and read back what the worker stored
// in IndexedDB, the page's long tasks and the charts' data.

import type { Page } from 'playwright-core';
import { expect, inject } from 'vitest';
import { text, waitForView } from './studio-page';

const MODEL = 'stories260K';

export interface StoredRow {
  kind: 'step' | 'eval';
  step: number;
  loss: number | null;
  evalLoss: number | null;
  samples: number;
  objective: Record<string, number>;
  /** GRPO evaluations: the held-out rollouts kept (rows) and their mean reward. */
  rollouts: { rows: number; meanReward: number } | null;
}

export interface StoredRun {
  status: string;
  step: number;
  checkpointStep: number;
  message: string | null;
}

/** Records every long task of the page (and of each page load after it) in window.__longTasks. */
export async function recordLongTasks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const tasks: { start: number; duration: number }[] = [];
    (window as unknown as { __longTasks: typeof tasks }).__longTasks = tasks;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) tasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
}

/** Long tasks of the current page load that started at or after `from` (performance.now() of that load). */
export function longTasksSince(page: Page, from: number): Promise<{ start: number; duration: number }[]> {
  return page.evaluate((t) => (window as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks.filter((e) => e.start >= t), from);
}

export const pageNow = (page: Page) => page.evaluate(() => performance.now());

/** What the worker stored, read straight from IndexedDB: the run's record and its metric rows. */
export function stored(page: Page, runId: string): Promise<{ run: StoredRun | null; rows: StoredRow[] }> {
  return page.evaluate(async (id) => {
    const request = <T,>(r: IDBRequest<T>) =>
      new Promise<T>((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
    const db = await request(indexedDB.open('tunelab'));
    try {
      const tx = db.transaction(['runs', 'metrics']);
      const run = (await request(tx.objectStore('runs').get(id))) as StoredRun | undefined;
      const rows = (await request(tx.objectStore('metrics').index('runId').getAll(id))) as {
        kind: 'step' | 'eval';
        step: number;
        loss?: number;
        eval_loss?: number;
        samples?: unknown[];
        objective?: Record<string, number>;
        rollouts?: { rows: unknown[]; meanReward: number };
      }[];
      return {
        run: run ? { status: run.status, step: run.step, checkpointStep: run.checkpointStep, message: run.message ?? null } : null,
        rows: rows.map((r) => ({
          kind: r.kind,
          step: r.step,
          loss: r.loss ?? null,
          evalLoss: r.eval_loss ?? null,
          samples: r.samples?.length ?? 0,
          objective: r.objective ?? {},
          rollouts: r.rollouts ? { rows: r.rollouts.rows.length, meanReward: r.rollouts.meanReward } : null,
        })),
      };
    } finally {
      db.close();
    }
  }, runId);
}

export async function goTo(page: Page, name: 'model' | 'data' | 'train'): Promise<void> {
  await page.getByTestId(`nav-${name}`).click();
  await page.waitForSelector(`main[data-page=${name}]`);
}

export async function openTrainPage(page: Page): Promise<void> {
  const url = new URL(inject('studioUrl'));
  url.hash = 'train';
  await page.goto(url.href);
  expect(await waitForView(page)).toBe('ready');
  await page.waitForSelector('main[data-page=train]');
  await page.waitForSelector('[data-testid=runs-list] [data-testid=run-row], [data-testid=runs-empty]', { timeout: 30_000 });
}

export async function loadOfflineModel(page: Page): Promise<void> {
  await goTo(page, 'model');
  const entry = page.locator(`[data-testid=offline-model][data-id=${MODEL}]`);
  await entry.waitFor({ timeout: 30_000 });
  await entry.getByRole('button', { name: 'Load' }).click();
  await page.waitForSelector('[data-testid=load-progress][data-status=ready], [data-testid=load-progress][data-status=error]', { timeout: 120_000 });
  if ((await page.getByTestId('load-error').count()) > 0) throw new Error(`the model did not load: ${await text(page, 'load-error')}`);
}

/** A fresh page load (not a same-document hash change) on the Model page with stories260K loaded. */
export async function openWithModel(page: Page): Promise<void> {
  const url = new URL(inject('studioUrl'));
  url.hash = 'model';
  await page.goto('about:blank');
  await page.goto(url.href);
  expect(await waitForView(page)).toBe('ready');
  await loadOfflineModel(page);
}

/** A drafted dataset saved with a small held-out share (evaluation stays cheap). */
export async function saveDraft(page: Page, name: string): Promise<void> {
  await page.getByTestId('dataset-draft').waitFor({ timeout: 30_000 });
  await page.getByTestId('draft-name').fill(name);
  await page.getByTestId('draft-split-fraction').fill('0.02');
  await page.getByTestId('draft-save').click();
  await page.locator(`[data-testid=dataset-row][data-name="${name}"]`).waitFor({ timeout: 30_000 });
}

/** What a run's form is filled with: the method, its saved dataset, the loop's lengths and the method's own fields. */
export interface RunForm {
  method: 'sft' | 'dpo' | 'grpo';
  dataset: string;
  batch: number;
  evalEvery: number;
  checkpointEvery: number;
  /** The method's own number fields (test id, value). */
  fields: [string, number][];
  /** What else the method needs set (GRPO: its reward functions). */
  configure?(page: Page): Promise<void>;
}

/** Fills the Train page's form for a run of `steps` steps; fails naming the page's refusal if it would not start. */
export async function fillRunSettings(page: Page, v: RunForm, name: string, steps: number): Promise<void> {
  await goTo(page, 'train');
  await page.getByTestId('train-settings').waitFor();
  await page.getByTestId(`train-method-${v.method}`).check();
  // The saved dataset, as the page lists it once it has read the store again.
  const option = page.locator('[data-testid=train-dataset] option', { hasText: `${v.dataset} (` });
  await option.waitFor({ state: 'attached', timeout: 30_000 });
  await page.getByTestId('train-dataset').selectOption((await option.getAttribute('value')) ?? '');
  await page.getByTestId('train-duration').selectOption('steps');
  const fields: [string, number][] = [
    ['train-steps', steps],
    ['train-batch', v.batch],
    ['train-max-length', 64],
    ['train-eval-every', v.evalEvery],
    ['train-checkpoint-every', v.checkpointEvery],
    ...v.fields,
  ];
  for (const [id, value] of fields) await page.getByTestId(id).fill(String(value));
  await v.configure?.(page);
  await page.getByTestId('train-run-name').fill(name);
  expect(Number(await page.getByTestId('train-total-steps').getAttribute('data-steps'))).toBe(steps);
  const problem = page.getByTestId('train-problem');
  if ((await problem.count()) > 0) throw new Error(`the Train page refuses to start: ${await problem.textContent()}`);
}

export const runRow = (page: Page, name = 'reliability') => page.locator(`[data-testid=run-row][data-name="${name}"]`);

/** Starts a run from the filled form; resolves with its id once the page lists it (and shows it). */
export async function startRun(page: Page, name: string): Promise<string> {
  await page.getByTestId('train-start').click();
  await runRow(page, name).waitFor({ timeout: 60_000 });
  const id = (await runRow(page, name).getAttribute('data-id')) ?? '';
  expect(id).not.toBe('');
  await showRun(page, id);
  return id;
}

export async function showRun(page: Page, id: string): Promise<void> {
  if ((await page.locator(`[data-testid=run-panel][data-run="${id}"]`).count()) > 0) return;
  await page.locator(`[data-testid=run-row][data-id="${id}"]`).getByTestId('run-select').click();
  await page.locator(`[data-testid=run-panel][data-run="${id}"]`).waitFor();
}

export const statusIs = (page: Page, id: string, status: string, timeout = 60_000) =>
  page.waitForSelector(`[data-testid=run-row][data-id="${id}"][data-status=${status}]`, { timeout });

export const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Resumes the selected run from the page and waits until it has completed. */
export async function resumeToEnd(page: Page, id: string): Promise<void> {
  await showRun(page, id);
  await page.getByTestId('run-resume').click();
  await statusIs(page, id, 'completed', 180_000);
}

/** Waits until the page shows run `id` past `step`. */
export async function waitForStep(page: Page, id: string, step: number, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    ([runId, s]) => Number(document.querySelector(`[data-testid=run-progress][data-run="${runId}"]`)?.getAttribute('data-step') ?? 0) >= Number(s),
    [id, step] as const,
    { timeout, polling: 50 },
  );
}

export const stepRows = (rows: StoredRow[]) => rows.filter((r) => r.kind === 'step').sort((a, b) => a.step - b.step);

export function chart(page: Page, name: string): Promise<{ series: string[]; data: (number | null)[][] } | undefined> {
  return page.evaluate((n) => {
    const c = window.__tunelabCharts?.[n];
    return c ? { series: c.series, data: c.data } : undefined;
  }, name);
}

