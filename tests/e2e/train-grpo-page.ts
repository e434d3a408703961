// A GRPO run on the Train page as a person sets it up and reads it, on the stories-grpo prompts: a built-in
// reward (contains {name}: the story names the prompt's character, a field of the record) and a custom
// JavaScript reward typed into its code box, tested on samples (the loaded model's completions, and typed
// ones, where the custom reward's throw shows as that call's error); while the run trains, the live
// rollout table and the reward chart; at its end, TRL's metrics stored per step, the held-out rollouts
// of each evaluation with eval_reward as their mean, and the charts plotting exactly what was stored.

import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { chart, type StoredRow } from './train-run-page';

/** Words / 10, and a throw for a completion that says "zzz" (a visible error, reward 0). */
export const CUSTOM_REWARD = `(completion, example) => {
  if (completion.includes('zzz')) throw new Error('no zzz please');
  return completion.split(' ').length / 10;
}`;

/** G and the completion length of the e2e runs: two completions of up to 4 tokens per prompt. */
export const GRPO_COMPLETION_TOKENS = 4;
export const GRPO_FIELDS: [string, number][] = [
  ['train-num-generations', 2],
  ['train-max-completion-length', GRPO_COMPLETION_TOKENS],
];

/** Adds the built-in and the custom reward through the reward editor. */
export async function addRewards(page: Page): Promise<void> {
  await page.getByTestId('train-add-reward-contains').click();
  const named = page.getByTestId('train-reward').last();
  await named.getByTestId('train-reward-name').fill('name');
  await named.getByTestId('train-reward-arg').fill('{name}');
  await page.getByTestId('train-add-reward-custom').click();
  const words = page.getByTestId('train-reward').last();
  await words.getByTestId('train-reward-name').fill('words');
  await words.getByTestId('train-reward-weight').fill('0.5');
  await words.getByTestId('train-reward-code').fill(CUSTOM_REWARD);
  expect(await page.getByTestId('train-reward').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-kind')}:${e.getAttribute('data-name')}`))).toEqual([
    'contains:name',
    'custom:words',
  ]);
}

interface TestRow {
  total: number;
  values: { name: string; value: number; error: string }[];
  prompt: string;
  completion: string;
}

/** The character a stories-grpo prompt is about ("This is a story about Sue the cat. ..."). */
const characterOf = (prompt: string) => /^This is a story about (\w+) the /.exec(prompt)?.[1] ?? '';

async function testTable(page: Page): Promise<{ rows: TestRow[]; errors: number }> {
  const summary = page.getByTestId('reward-test-summary');
  await summary.waitFor({ timeout: 60_000 });
  const rows = await page.getByTestId('reward-test-row').evaluateAll((els) =>
    els.map((tr) => ({
      total: Number(tr.getAttribute('data-total')),
      prompt: tr.querySelector('[data-testid=reward-test-prompt]')?.textContent ?? '',
      completion: tr.querySelector('[data-testid=reward-test-completion]')?.textContent ?? '',
      values: [...tr.querySelectorAll('[data-testid=reward-test-value]')].map((td) => ({
        name: td.getAttribute('data-name') ?? '',
        value: Number(td.getAttribute('data-value')),
        error: td.getAttribute('data-error') ?? '',
      })),
    })),
  );
  return { rows, errors: Number(await summary.getAttribute('data-errors')) };
}

/** "Test on samples": on the model's own completions of held-out prompts, then on typed ones. */
export async function testRewardsOnSamples(page: Page): Promise<void> {
  await page.getByTestId('reward-test-run').click();
  const model = await testTable(page);
  expect(model.rows).toHaveLength(4);
  for (const row of model.rows) {
    const name = characterOf(row.prompt);
    expect(name, row.prompt).not.toBe('');
    const [named, words] = row.values;
    expect(named.name).toBe('name');
    // contains {name} reads the record's own name field.
    expect(named.value, row.completion).toBe(row.completion.includes(name) ? 1 : 0);
    expect(words.name).toBe('words');
    expect(row.total).toBeCloseTo(named.value + 0.5 * words.value, 9);
  }

  // Typed completions are paired with the same held-out prompts, in order.
  await page.getByTestId('reward-test-source-typed').check();
  const first = characterOf(model.rows[0].prompt);
  await page.getByTestId('reward-test-typed').fill(`Once upon a time there was ${first}\nzzz`);
  await page.getByTestId('reward-test-run').click();
  await page.waitForSelector('[data-testid=reward-test-summary][data-rows="2"]', { timeout: 30_000 });
  const typed = await testTable(page);
  expect(typed.errors).toBe(1);
  // 7 words: 0.7, and the name; "zzz" throws in the custom reward (0, its error) and names no one.
  expect(typed.rows.map((r) => r.values.map((v) => v.value))).toEqual([
    [1, 0.7],
    [0, 0],
  ]);
  expect(typed.rows[1].values[1].error).toBe('Error: no zzz please');
  expect(typed.rows[0].total).toBeCloseTo(1.35, 9);
}

/** While it trains: the latest generation's rows (2 prompts x 2 completions), then the reward chart's first step. */
export async function checkLiveRollouts(page: Page): Promise<void> {
  const table = page.locator('[data-testid=rollouts-latest][data-rows="4"]');
  await table.waitFor({ timeout: 60_000 });
  expect(await table.getByTestId('rollout-row').count()).toBe(4);
  await page.waitForFunction(() => (window.__tunelabCharts?.['grpo-reward']?.data[1] ?? []).some((v) => v != null), null, { timeout: 60_000, polling: 100 });
  expect((await chart(page, 'grpo-reward'))?.series).toEqual(['step', 'reward', 'eval_reward']);
}

/**
 * A finished GRPO run: every step carries TRL's metrics for both rewards, completions of at most 4 tokens;
 * each evaluation kept its held-out rollouts (2 per prompt) whose mean is eval_reward; the charts plot the
 * stored rewards at their steps; the page shows the latest rollouts and one group per evaluation.
 */
export async function checkGrpoRun(page: Page, steps: StoredRow[], evals: StoredRow[], heldOut: number): Promise<void> {
  for (const r of steps) {
    for (const key of ['reward', 'reward_std', 'rewards/name/mean', 'rewards/words/mean', 'frac_reward_zero_std', 'entropy', 'reward_errors']) {
      expect(r.objective[key], `step ${r.step} ${key}`).toBeTypeOf('number');
    }
    expect(r.objective['completions/max_length']).toBeLessThanOrEqual(GRPO_COMPLETION_TOKENS);
    expect(r.objective.reward).toBeCloseTo(r.objective['rewards/name/mean'] + 0.5 * r.objective['rewards/words/mean'], 9);
  }
  for (const e of evals) {
    expect(e.samples).toBe(0);
    expect(e.rollouts?.rows).toBe(2 * heldOut);
    expect(e.objective.eval_reward).toBeCloseTo(e.rollouts!.meanReward, 9);
  }
  const reward = await chart(page, 'grpo-reward');
  const axis = [0, ...steps.map((r) => r.step)];
  expect(reward?.data[0]).toEqual(axis);
  expect(reward?.data[1]).toEqual([null, ...steps.map((r) => r.objective.reward)]);
  const evalPoints = axis.flatMap((x, i) => (reward?.data[2][i] == null ? [] : [[x, reward.data[2][i]]]));
  expect(evalPoints).toEqual(evals.map((e) => [e.step, e.objective.eval_reward]));
  expect((await chart(page, 'grpo-reward-functions'))?.series).toEqual(['step', 'rewards/name/mean', 'rewards/words/mean', 'eval_rewards/name/mean', 'eval_rewards/words/mean']);
  expect((await chart(page, 'grpo-completion-length'))?.data[1]).toEqual([null, ...steps.map((r) => r.objective['completions/mean_length'])]);
  expect(await page.locator('[data-testid=rollouts-latest][data-rows="4"]').count()).toBe(1);
  expect(await page.getByTestId('grpo-eval-group').count()).toBe(evals.length);
}
