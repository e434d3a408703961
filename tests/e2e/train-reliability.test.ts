// Training runs survive what browsers do to them (Chromium on SwiftShader, the real pages), an SFT, a DPO
// and a GRPO run alike: a reload in the middle of a run leaves it 'interrupted', and resuming it from its
// checkpoint reaches the final step with every step stored exactly once (the steps after the checkpoint
// trained again, to the same losses); a second tab cannot resume a run the first tab is training; the
// page's main thread never stalls for more than 100 ms while the worker trains (a 'longtask'
// PerformanceObserver in the page); and a lost GPU device (the GPU process crashed through CDP) leaves the
// run 'interrupted' with the device's message, resumable after a reload. The DPO run trains on the project's
// preference pairs imported through the Data page's file input: its step 1 is log 2 with zero margins (a
// fresh adapter is its own reference), its later steps prefer the chosen answers, and its charts show the
// loss, reward margins and accuracies. The GRPO run is set up as a person does (train-grpo-page.ts: a
// built-in and a custom reward added and tested on samples), shows its rollouts and reward chart while it
// trains (paused and resumed once on the way, nothing redone), and keeps its held-out rollouts at each
// evaluation. A full storage quota is tested in tests/gpu/run-session.test.ts
// (here, CDP's Storage.overrideQuotaForOrigin did not limit the page's IndexedDB writes).

import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './browser';
import { text, waitForView } from './studio-page';
import { addRewards, checkGrpoRun, checkLiveRollouts, GRPO_FIELDS, testRewardsOnSamples } from './train-grpo-page';
import {
  chart,
  fillRunSettings,
  goTo,
  longTasksSince,
  oneToN,
  openTrainPage,
  openWithModel,
  pageNow,
  recordLongTasks,
  resumeToEnd,
  runRow,
  saveDraft,
  showRun,
  startRun,
  statusIs,
  stepRows,
  stored,
  waitForStep,
  type RunForm,
  type StoredRow,
  type StoredRun,
} from './train-run-page';

const LONG_TASK_LIMIT_MS = 100;
const PREFERENCE_SAMPLE = resolve(__dirname, '../../public/datasets/stories-preference/train.jsonl');

/** One method's run through every check, with lengths that keep its runtime sane. */
interface Variant extends RunForm {
  /** Saves the variant's dataset through the Data page. */
  saveDataset(page: Page): Promise<void>;
  steps: number;
  /** Reload once the run is past this step: after the first checkpoint, before the second. */
  reloadAfter: number;
  /** Steps of the run whose GPU device is lost (past its first checkpoint). */
  deviceSteps: number;
  /** Its evaluations (default: evalEvery); the lost-device check needs none (the reload check has them). */
  deviceEvalEvery?: number;
}

/** The held-out share the datasets are saved with (2%) of the 240 stories-grpo prompts: 5. */
const HELD_OUT_GRPO_PROMPTS = 5;

const VARIANTS: Variant[] = [
  {
    method: 'sft',
    dataset: 'stories sample',
    async saveDataset(page) {
      await goTo(page, 'data');
      await page.getByTestId('load-sample-dataset').click();
      await saveDraft(page, this.dataset);
    },
    steps: 18,
    checkpointEvery: 6,
    evalEvery: 9,
    reloadAfter: 8,
    deviceSteps: 11,
    deviceEvalEvery: 0,
    batch: 4,
    fields: [],
  },
  {
    method: 'dpo',
    dataset: 'stories pairs',
    async saveDataset(page) {
      await goTo(page, 'data');
      await page.getByTestId('dataset-file-input').setInputFiles(PREFERENCE_SAMPLE);
      await saveDraft(page, this.dataset);
    },
    // A DPO step scores twice the sequences, and the reference once more: shorter runs, smaller batches.
    steps: 24,
    checkpointEvery: 6,
    evalEvery: 12,
    reloadAfter: 8,
    deviceSteps: 10,
    deviceEvalEvery: 0,
    batch: 2,
    // A learning rate that shows the preference within these few steps (the pairs differ in one word of the
    // setting, which the model must read from the prompt); the prompts fit the max length.
    fields: [
      ['train-lr', 5e-3],
      ['train-max-prompt-length', 32],
    ],
  },
  {
    method: 'grpo',
    // The project's prompt-only task ("This is a story about Sue the cat.\nOnce upon a time,", with the
    // name and animal as fields for the rewards); GRPO samples its own completions.
    dataset: 'stories prompts',
    async saveDataset(page) {
      await goTo(page, 'data');
      await page.getByTestId('load-sample-stories-grpo').click();
      await saveDraft(page, this.dataset);
    },
    // Each step samples 2 prompts x 2 completions of up to 4 tokens before it trains: a shorter run. Its
    // first run is also paused after its first rollouts and resumed (pauseAndResume) before the reload.
    steps: 6,
    checkpointEvery: 3,
    evalEvery: 3,
    reloadAfter: 4,
    deviceSteps: 6,
    deviceEvalEvery: 0,
    batch: 4,
    fields: GRPO_FIELDS,
    configure: addRewards,
  },
];

/**
 * What a DPO run must show in its numbers: a fresh adapter is its own reference, so step 1 is log 2 with
 * zero margins (exactly, as TRL starts); the later steps and the held-out pairs prefer the chosen answers;
 * the page charts the reward margins and accuracies at every step and evaluation.
 */
async function checkPreference(page: Page, steps: StoredRow[], evals: StoredRow[]): Promise<void> {
  expect(Math.abs(steps[0].loss! - Math.LN2), `step 1 loss ${steps[0].loss}`).toBeLessThan(5e-7);
  expect(steps[0].objective['rewards/margins']).toBe(0);
  expect(steps[0].objective['rewards/accuracies']).toBe(0);
  // Each step's accuracy is over its own 2 fresh pairs, measured before its update: their mean over the later
  // half, and the held-out pairs at the last evaluation (dawn.node, same settings: 0.583 and 0.778).
  const later = steps.slice(steps.length / 2);
  const accuracy = later.reduce((a, r) => a + r.objective['rewards/accuracies'], 0) / later.length;
  expect(accuracy, JSON.stringify(later.map((r) => r.objective['rewards/accuracies']))).toBeGreaterThan(0.5);
  const last = evals.at(-1)!.objective;
  expect(last['eval_rewards/accuracies'], JSON.stringify(evals.map((e) => e.objective))).toBeGreaterThan(0.5);
  expect(last['eval_rewards/margins']).toBeGreaterThan(0);

  const axis = [0, ...steps.map((r) => r.step)];
  for (const [name, metric] of [
    ['rewards-margins', 'rewards/margins'],
    ['rewards-accuracies', 'rewards/accuracies'],
  ] as const) {
    const c = await chart(page, name);
    expect(c?.series).toEqual(['step', metric, `eval_${metric}`]);
    expect(c?.data[0]).toEqual(axis);
    expect(c?.data[1]).toEqual([null, ...steps.map((r) => r.objective[metric])]);
    // The evaluations' points sit at their steps (0 before training), nowhere else.
    const evalPoints = axis.flatMap((x, i) => (c?.data[2][i] == null ? [] : [[x, c.data[2][i]]]));
    expect(evalPoints).toEqual(evals.map((e) => [e.step, e.objective[`eval_${metric}`]]));
  }
  expect((await chart(page, 'eval-loss'))?.data[1]).toEqual(evals.map((e) => e.evalLoss));
}

/**
 * Pauses the running run `id` after its current step (a checkpoint there: nothing to redo), then resumes
 * it from there in the same tab; its latest rollouts (GRPO) stay shown while it is paused.
 */
async function pauseAndResume(page: Page, id: string): Promise<void> {
  await page.getByTestId('run-pause').click();
  await statusIs(page, id, 'paused');
  const paused = (await stored(page, id)).run!;
  expect(paused.checkpointStep).toBe(paused.step);
  expect(await text(page, 'run-resume')).toBe(`Resume from step ${paused.step}`);
  expect(await page.locator('[data-testid=rollouts-latest][data-rows="4"]').count()).toBe(1);
  await page.getByTestId('run-resume').click();
  await statusIs(page, id, 'running');
  await waitForStep(page, id, paused.step + 1);
}

describe.each(VARIANTS)('training reliability of a $method run', (v) => {
  const STEPS = v.steps;
  const CHECKPOINT_EVERY = v.checkpointEvery;
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];
  let runId = '';
  /** Rows stored before the reload (the first attempt at the steps after the checkpoint). */
  let before: StoredRow[] = [];
  let interrupted: StoredRun;
  const longTasks: { window: string; start: number; duration: number }[] = [];

  beforeAll(async () => {
    browser = await launchChromium({ webgpu: true });
    ({ page, errors } = await browser.newPage());
    await recordLongTasks(page);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('a reload in the middle of a run leaves it interrupted, resumable from its last checkpoint', async () => {
    await openWithModel(page);
    await v.saveDataset(page);
    await fillRunSettings(page, v, 'reliability', STEPS);
    if (v.method === 'grpo') await testRewardsOnSamples(page);

    const trainingFrom = await pageNow(page);
    runId = await startRun(page, 'reliability');
    if (v.method === 'grpo') {
      // Its rollout table and reward chart fill in as it trains; paused, it keeps them, and resumes with nothing redone.
      await checkLiveRollouts(page);
      await pauseAndResume(page, runId);
    }
    await waitForStep(page, runId, v.reloadAfter);
    before = (await stored(page, runId)).rows;
    longTasks.push(...(await longTasksSince(page, trainingFrom)).map((t) => ({ window: `first attempt (from ${trainingFrom})`, ...t })));

    await page.reload();
    expect(await waitForView(page)).toBe('ready');
    await page.waitForSelector('main[data-page=train]');
    await page.waitForSelector(`[data-testid=run-row][data-id="${runId}"][data-status=interrupted]`, { timeout: 30_000 });
    const after = await stored(page, runId);
    interrupted = after.run!;
    expect(interrupted.status).toBe('interrupted');
    // Stopped somewhere after the reload point, with the checkpoint of step 10 (or 20 on a fast machine) kept.
    expect(interrupted.step).toBeGreaterThanOrEqual(v.reloadAfter);
    expect(interrupted.checkpointStep % CHECKPOINT_EVERY).toBe(0);
    expect(interrupted.checkpointStep).toBeGreaterThanOrEqual(CHECKPOINT_EVERY);
    expect(interrupted.checkpointStep).toBeLessThan(interrupted.step);
    expect(interrupted.message).toBe(
      `Interrupted after step ${interrupted.step}: the page was reloaded or closed, or its GPU device was lost. ` +
        `Resume continues from the checkpoint at step ${interrupted.checkpointStep}.`,
    );
    expect(stepRows(after.rows).map((r) => r.step)).toEqual(oneToN(interrupted.step));

    // The page says so and offers to resume from the checkpoint.
    await showRun(page, runId);
    expect(await text(page, 'run-message')).toBe(interrupted.message);
    expect(await text(page, 'run-resume')).toBe(`Resume from step ${interrupted.checkpointStep}`);
  });

  it('a second tab cannot resume the run while the first tab trains it', async () => {
    const second = await browser.newPage();
    await openTrainPage(second.page);
    await second.page.waitForSelector(`[data-testid=run-row][data-id="${runId}"][data-status=interrupted]`);
    await showRun(second.page, runId);
    await second.page.getByTestId('run-resume').waitFor();

    // The first tab resumes it (loading its model again: the reload left none).
    const trainingFrom = await pageNow(page);
    await page.getByTestId('run-resume').click();
    await page.waitForSelector(`[data-testid=run-progress][data-status=running]`, { timeout: 60_000 });
    await waitForStep(page, runId, interrupted.checkpointStep + 1);

    // The second tab still shows the old state; its resume is refused with the reason, and nothing changes.
    await second.page.getByTestId('run-resume').click();
    await second.page.getByTestId('train-error').waitFor({ timeout: 30_000 });
    expect(await text(second.page, 'train-error')).toBe('this run is running in another tab: pause it there, or close that tab, before resuming it here.');
    // Its list now shows the run as the other tab's (not marked interrupted by this tab).
    await second.page.waitForSelector(`[data-testid=run-row][data-id="${runId}"][data-status=running]`);
    expect(await second.page.getByTestId('run-resume').count()).toBe(0);
    expect((await stored(page, runId)).run?.status).toBe('running');
    expect(second.errors).toEqual([]);
    await second.page.close();

    // The first tab trains on to the end.
    await page.waitForSelector(`[data-testid=run-row][data-id="${runId}"][data-status=completed]`, { timeout: 180_000 });
    longTasks.push(...(await longTasksSince(page, trainingFrom)).map((t) => ({ window: `resumed (from ${trainingFrom})`, ...t })));
  });

  it('the resumed run reaches its final step, with every step stored once and the redone steps matching the first attempt', async () => {
    const { run, rows } = await stored(page, runId);
    expect(run).toEqual({ status: 'completed', step: STEPS, checkpointStep: STEPS, message: null });
    // Steps 1..N exactly once each: no gap, no duplicate.
    const steps = stepRows(rows);
    expect(steps.map((r) => r.step)).toEqual(oneToN(STEPS));
    // Evaluations before training, every EVAL_EVERY steps, each with sample generations.
    const evals = rows.filter((r) => r.kind === 'eval').sort((a, b) => a.step - b.step);
    expect(evals.map((r) => r.step)).toEqual([0, v.evalEvery, 2 * v.evalEvery]);
    // GRPO's samples are its held-out rollouts (checkGrpoRun); its loss at ratio 1 may have either sign.
    for (const e of evals.filter(() => v.method !== 'grpo')) {
      expect(e.samples).toBe(2);
      expect(e.evalLoss).toBeGreaterThan(0);
    }

    // The steps after the checkpoint were trained again from it: the same data, adapter and optimizer
    // state give the same losses as the first attempt.
    const redone = stepRows(before).filter((r) => r.step > interrupted.checkpointStep);
    expect(redone.length).toBeGreaterThan(0);
    for (const first of redone) {
      const again = steps.find((r) => r.step === first.step)!;
      expect(Math.abs(again.loss! - first.loss!), `step ${first.step}: ${again.loss} vs ${first.loss}`).toBeLessThan(1e-4);
    }
    // Steps up to the checkpoint were not touched.
    for (const first of stepRows(before).filter((r) => r.step <= interrupted.checkpointStep)) {
      expect(steps.find((r) => r.step === first.step)?.loss).toBe(first.loss);
    }

    // The page's loss chart plots the same steps.
    expect((await chart(page, 'train-loss'))?.data[0]).toEqual(oneToN(STEPS));
    expect(await runRow(page).getByTestId('run-method').getAttribute('data-method')).toBe(v.method);
    if (v.method === 'dpo') await checkPreference(page, steps, evals);
    if (v.method === 'grpo') await checkGrpoRun(page, steps, evals, HELD_OUT_GRPO_PROMPTS);
    expect(errors).toEqual([]);
  });

  it('the main thread was never blocked for more than 100 ms while training', async () => {
    const worst = longTasks.reduce((m, t) => Math.max(m, t.duration), 0);
    expect(worst, JSON.stringify(longTasks)).toBeLessThanOrEqual(LONG_TASK_LIMIT_MS);
    // The observer does see a blocked main thread: a task with 150 ms of busy work shows up as a long task.
    const from = await pageNow(page);
    await page.evaluate(() =>
      setTimeout(() => {
        const t = performance.now();
        while (performance.now() - t < 150);
      }),
    );
    await page.waitForFunction((t) => (window as unknown as { __longTasks: { start: number }[] }).__longTasks.some((e) => e.start >= t), from);
    expect(Math.max(...(await longTasksSince(page, from)).map((t) => t.duration))).toBeGreaterThanOrEqual(150);
  });

  it('a lost GPU device marks the run interrupted with the reason; after a reload it resumes to the end', async () => {
    const steps = v.deviceSteps;
    await openWithModel(page);
    await fillRunSettings(page, { ...v, evalEvery: v.deviceEvalEvery ?? v.evalEvery }, 'device', steps);
    const id = await startRun(page, 'device');
    await waitForStep(page, id, CHECKPOINT_EVERY + 2);

    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Browser.crashGpuProcess');
    await statusIs(page, id, 'interrupted');
    const lost = (await stored(page, id)).run!;
    // The device's own message, then where the run stopped and where it resumes.
    expect(lost.message).toMatch(/^The GPU device was lost \(.*\): .* Interrupted after step \d+; reload the page and resume from the checkpoint at step (\d+)\.$/);
    expect(Number(/step (\d+)\.$/.exec(lost.message ?? '')?.[1]) % CHECKPOINT_EVERY).toBe(0);

    await page.reload();
    expect(await waitForView(page)).toBe('ready');
    await statusIs(page, id, 'interrupted', 30_000);
    await resumeToEnd(page, id);
    const done = await stored(page, id);
    expect(done.run?.status).toBe('completed');
    expect(stepRows(done.rows).map((r) => r.step)).toEqual(oneToN(steps));
  });
});
