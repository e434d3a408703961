// The Evaluate page's Judge section, pairwise, with a real tiny model in the browser: stories260K from the
// offline folder judges itself (the loaded model answers as the base and with a PEFT adapter imported through
// the Adapters page, then judges both orders of each pair). MT-Bench's questions and FastChat's judge prompts
// are imported from ../shared/assets/datasets/mt-bench through the page's file inputs; pair-v2's system
// prompt is edited short (FastChat's is 588 tokens, more than stories260K's 512-token context) and the edit
// reaches the judge. The page's counts must equal its per-question rows, each row shows both orders with the
// answers swapped, and the answers in the prompts are the CPU reference's greedy answers (base, and base with
// the adapter merged). stories260K writes stories, not verdicts: whatever it says is read with pair-v2's own
// format, and what cannot be read is counted as unparsable.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { answerQuestions } from '../../src/engine/eval/judge/answers';
import { parseQuestions } from '../../src/engine/eval/judge/records';
import { combineOrders, type GameWinner } from '../../src/engine/eval/judge/summary';
import { initAdapter, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import { mergeAdapter } from '../../src/engine/lora/merge-weights';
import { adapterConfigJson, adapterWeightsBytes } from '../../src/engine/lora/peft-files';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import type { ModelWeights } from '../../src/engine/model/weights';
import { Rng } from '../../src/engine/util/rng';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';
import { launchChromium, type TestBrowser } from './browser';
import { openStudioPage, text } from './studio-page';

const studioUrl = inject('studioUrl');
const MT_BENCH = resolve(STORIES260K_DIR, '../../datasets/mt-bench');
const QUESTIONS = 3;
const ANSWER_TOKENS = 8;
const JUDGE_TOKENS = 8;
const SYSTEM = 'Compare the two answers. Say "[[A]]" if A is better, "[[B]]" if B is better, "[[C]]" for a tie.';

/** PEFT's initialisation with B drawn non-zero, so the adapter changes what the model says. */
function testAdapter(weights: ModelWeights): LoraAdapter {
  const adapter = initAdapter(planAdapter('llama', weights, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false }), new Rng(21));
  const rng = new Rng(22);
  for (const m of adapter.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = rng.uniform(-0.3, 0.3);
  return adapter;
}

async function goTo(page: Page, name: 'adapters' | 'evaluate'): Promise<void> {
  await page.getByTestId(`nav-${name}`).click();
  await page.waitForSelector(`main[data-page=${name}]`);
}

interface GameRow {
  question: string;
  order: number;
  a: string;
  winner: GameWinner;
  verdict: string;
  verdictText: string;
  system: string;
  user: string;
}

describe('Evaluate page: a pairwise judgement with stories260K judging itself', () => {
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];
  let adapter: LoraAdapter;
  let expected: { base: string[]; adapted: string[]; questions: string[] };

  beforeAll(async () => {
    const stories = await loadModel(STORIES260K_DIR);
    adapter = testAdapter(stories.weights);
    const questions = parseQuestions(await readFile(resolve(MT_BENCH, 'mt_bench_question.jsonl'), 'utf8'), 'mt_bench_question.jsonl').items.slice(0, QUESTIONS);
    const tokenizer = new ModelTokenizer(stories.files);
    const answer = async (weights: ModelWeights) =>
      (await answerQuestions(new CpuCausalLm(stories.config, weights), tokenizer, stories.files, questions, { turns: 1, maxNewTokens: ANSWER_TOKENS })).map((a) => a[0]);
    expected = { base: await answer(stories.weights), adapted: await answer(mergeAdapter(stories.weights, adapter)), questions: questions.map((q) => q.turns[0]) };
    // The adapter must change some answer, or "both orders with the answers swapped" would prove nothing.
    expect(expected.adapted).not.toEqual(expected.base);
    browser = await launchChromium({ webgpu: true });
    ({ page, errors } = await browser.newPage());
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('answers, judges both orders, and shows counts that equal its per-question verdicts', async () => {
    expect(await openStudioPage(page, studioUrl, 'model')).toBe('ready');
    await page.getByTestId('weight-format').selectOption('f32');
    await page.locator('[data-testid=offline-model][data-id=stories260K] button').click();
    await page.waitForSelector('[data-testid=load-progress][data-status=ready]', { timeout: 120_000 });

    await goTo(page, 'adapters');
    await page.getByTestId('adapter-import-files').setInputFiles([
      { name: 'adapter_config.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(adapterConfigJson(adapter, 'stories260K'))) },
      { name: 'adapter_model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(adapterWeightsBytes(adapter)) },
    ]);
    await page.getByTestId('adapter-import-name').fill('judged adapter');
    await page.getByTestId('adapter-import-run').click();
    await page.getByTestId('adapter-import-done').waitFor({ timeout: 30_000 });

    await goTo(page, 'evaluate');
    await page.getByTestId('suite-file-input').setInputFiles(resolve(MT_BENCH, 'mt_bench_question.jsonl'));
    await page.getByTestId('suite-draft').waitFor({ timeout: 30_000 });
    await page.getByTestId('suite-draft-name').fill('mt-bench');
    await page.getByTestId('suite-draft-save').click();
    await page.locator('[data-testid=suite-row][data-name="mt-bench"]').waitFor({ timeout: 30_000 });

    await page.getByTestId('judge-prompts-input').setInputFiles(resolve(MT_BENCH, 'judge_prompts.jsonl'));
    await page.waitForSelector('[data-testid=judge-prompts-file][data-count="8"]');
    await page.getByTestId('judge-prompt').selectOption('pair-v2');
    const pairV2 = (await readFile(resolve(MT_BENCH, 'judge_prompts.jsonl'), 'utf8')).split('\n').map((l) => (l.trim() ? JSON.parse(l) : null)).find((p) => p?.name === 'pair-v2');
    // The chosen prompt is shown as the file has it, then edited.
    expect(await page.getByTestId('judge-system-prompt').inputValue()).toBe(pairV2.system_prompt);
    expect(await page.getByTestId('judge-template').inputValue()).toBe(pairV2.prompt_template);
    await page.getByTestId('judge-system-prompt').fill(SYSTEM);

    await page.getByTestId('judge-source').selectOption('self');
    expect(await text(page, 'judge-self-note')).toMatch(/judges itself/);
    await page.locator('[data-testid=judge-adapter][data-name="judged adapter"]').check();
    await page.getByTestId('judge-limit').fill(String(QUESTIONS));
    await page.getByTestId('judge-max-new-tokens').fill(String(ANSWER_TOKENS));
    await page.getByTestId('judge-judge-max-new-tokens').fill(String(JUDGE_TOKENS));
    const started = performance.now();
    await page.getByTestId('judge-start').click();
    await page.waitForSelector('[data-testid=judge-result][data-status=completed], [data-testid=judge-error]', { timeout: 120_000 });
    if ((await page.getByTestId('judge-error').count()) > 0) throw new Error(`the judgement failed: ${await text(page, 'judge-error')}`);
    console.log(`judgement of ${QUESTIONS} questions (answers and both orders) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    expect(await page.getByTestId('judge-result-judge').getAttribute('data-kind')).toBe('self');
    expect(await text(page, 'judge-result-judge')).toMatch(/stories260K \(the loaded model judges itself\)/);
    const counts = page.getByTestId('judge-counts');
    expect(await counts.count()).toBe(1);
    const count = async (name: string) => Number(await counts.getAttribute(`data-${name}`));
    const shown = { win: await count('win'), loss: await count('loss'), tie: await count('tie'), unparsable: await count('unparsable'), judged: await count('judged'), inconsistent: await count('inconsistent') };
    console.log(`shown: ${JSON.stringify(shown)}`);
    expect(shown.judged).toBe(QUESTIONS);
    expect(shown.win + shown.loss + shown.tie + shown.unparsable).toBe(QUESTIONS);

    const rows = await page.getByTestId('judge-row').evaluateAll((els) => els.map((e) => ({ question: (e as HTMLElement).dataset.question ?? '', outcome: (e as HTMLElement).dataset.outcome ?? '', inconsistent: (e as HTMLElement).dataset.inconsistent === 'true' })));
    expect(rows.map((r) => r.question)).toEqual(['81', '82', '83']);
    const tally = (o: string) => rows.filter((r) => r.outcome === o).length;
    expect({ win: tally('win'), loss: tally('loss'), tie: tally('tie'), unparsable: tally('unparsable') }).toEqual({ win: shown.win, loss: shown.loss, tie: shown.tie, unparsable: shown.unparsable });
    expect(rows.filter((r) => r.inconsistent).length).toBe(shown.inconsistent);

    const games: GameRow[] = await page.getByTestId('judge-game').evaluateAll((els) =>
      els.map((e) => {
        const d = (e as HTMLElement).dataset;
        const message = (role: string) => (e.querySelector(`[data-testid=judge-message][data-role=${role}]`)?.textContent ?? '').replace(new RegExp(`^${role}: `), '');
        return { question: d.question ?? '', order: Number(d.order), a: d.a ?? '', winner: d.winner as GameWinner, verdict: d.verdict ?? '', verdictText: e.querySelector('[data-testid=judge-verdict]')?.textContent ?? '', system: message('system'), user: message('user') };
      }),
    );
    expect(games.length).toBe(2 * QUESTIONS);
    rows.forEach((row, q) => {
      const [g1, g2] = games.filter((g) => g.question === row.question);
      // Both orders: game 1 puts the adapter's answer in A, game 2 the base's.
      expect([g1.order, g1.a, g2.order, g2.a]).toEqual([1, 'candidate', 2, 'baseline']);
      for (const g of [g1, g2]) {
        expect(g.system).toBe(SYSTEM);
        const [first, second] = g.a === 'candidate' ? [expected.adapted[q], expected.base[q]] : [expected.base[q], expected.adapted[q]];
        const filled = pairV2.prompt_template.replace('{question}', expected.questions[q]).replace('{answer_a}', first).replace('{answer_b}', second);
        expect(g.user).toBe(filled);
        if (g.verdict === 'unparsable') expect(g.verdictText).toMatch(/^unparsable \(/);
        else expect(g.verdictText).not.toMatch(/unparsable/);
        expect(g.winner === 'error').toBe(g.verdict === 'unparsable');
      }
      // The row's outcome follows FastChat's rule from the two games shown.
      const combined = combineOrders(g1.winner, g2.winner);
      expect([row.outcome, row.inconsistent]).toEqual([combined.outcome, combined.inconsistent]);
    });

    // Stored: listed again after a reload.
    await page.reload();
    await page.waitForSelector('main[data-page=evaluate]');
    const history = page.locator('[data-testid=judge-history-row][data-status=completed]');
    await history.first().waitFor({ timeout: 30_000 });
    expect(await history.count()).toBe(1);
    expect(errors).toEqual([]);
  });
});
