// The Data page on a real WebGPU adapter (SwiftShader in Chromium): the project's sample dataset imported,
// saved with a split, kept across reloads, renamed, previewed token by token for stories260K (loaded from
// the offline folder) with the trained tokens marked, and deleted after a confirmation; preference pairs
// (the project's stories-preference task, LLaMA-Factory's ShareGPT pairs) detected with the methods they
// fit, and a pair previewed as prompt, chosen and rejected tokens with the answers trained; GSM8K's
// question/answer imported as GRPO prompts, a prompt previewed as the rollouts see it with its answer given
// to the rewards, and the stories-grpo sample's button; bad inputs through the real file input (a broken
// JSONL line, identical pairs, unpaired preference data, not UTF-8, empty, 50 MB) each give a clear message
// while the saved datasets stay; paste and drag-and-drop imports; a million bad lines shown and saved as the
// first 100 and their count.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { evalCount } from '../../src/worker/dataset-split';
import { launchChromium, type TestBrowser } from './browser';
import { text, waitForView } from './studio-page';

const SAMPLE = resolve(__dirname, '../../public/datasets/stories-setting/train.jsonl');
const PREFERENCE_SAMPLE = resolve(__dirname, '../../public/datasets/stories-preference/train.jsonl');
/** Read from ../shared at run time, never copied into the repository. */
const DPO_EN_DEMO = resolve(__dirname, '../../../shared/assets/datasets/llamafactory-demo/dpo_en_demo.json');
const SAVED = 'stories sample';
const RENAMED = 'stories (renamed)';
const PAIRS = 'stories pairs';
const PROMPTS = 'gsm8k prompts';
const GSM8K = [
  { question: 'What is 2 + 3?', answer: '2 + 3 = 5\n#### 5' },
  { question: 'Tom has 4 apples and eats 1. How many are left?', answer: '4 - 1 = 3\n#### 3' },
];

async function openDataPage(page: Page): Promise<void> {
  const url = new URL(inject('studioUrl'));
  url.hash = 'data';
  await page.goto(url.href);
  expect(await waitForView(page)).toBe('ready');
  await page.waitForSelector('main[data-page=data]');
  await waitForList(page);
}

/** Waits until the saved datasets have been read (the list or its empty note is shown). */
async function waitForList(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid=dataset-list], [data-testid=datasets-empty]', { timeout: 30_000 });
}

async function reload(page: Page): Promise<void> {
  await page.reload();
  expect(await waitForView(page)).toBe('ready');
  await page.waitForSelector('main[data-page=data]');
  await waitForList(page);
}

/**
 * Leaves the site until Chromium closes its IndexedDB backing store (2 s after the last connection), then
 * opens the Data page again: a quota override only applies to a backing store opened after it.
 */
async function reopenStorage(page: Page): Promise<void> {
  await page.goto('about:blank');
  await page.waitForTimeout(3_000);
  await openDataPage(page);
}

async function savedNames(page: Page): Promise<string[]> {
  return page.getByTestId('dataset-row').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.name ?? ''));
}

function row(page: Page, name: string) {
  return page.locator(`[data-testid=dataset-row][data-name="${name}"]`);
}

/** Picks a file through the page's real file input; resolves with the draft or the error the page shows. */
async function importFile(page: Page, file: { name: string; buffer: Buffer } | string): Promise<'draft' | 'error'> {
  const input = page.getByTestId('dataset-file-input');
  await (typeof file === 'string' ? input.setInputFiles(file) : input.setInputFiles({ ...file, mimeType: 'application/octet-stream' }));
  const shown = await page.waitForSelector('[data-testid=dataset-draft], [data-testid=import-error]', { timeout: 30_000 });
  return (await shown.getAttribute('data-testid')) === 'dataset-draft' ? 'draft' : 'error';
}

/** Each token of a strip: its text, whether it is trained, and how it is drawn. */
function tokensOf(strip: Locator) {
  return strip.getByTestId('token').evaluateAll((spans) =>
    spans.map((s) => {
      const el = s as HTMLElement;
      return { text: el.dataset.text ?? '', trained: el.dataset.trained === 'true', background: getComputedStyle(el).backgroundColor };
    }),
  );
}

async function importError(page: Page, file: { name: string; buffer: Buffer } | string): Promise<string> {
  expect(await importFile(page, file)).toBe('error');
  expect(await page.getByTestId('dataset-draft').count()).toBe(0);
  return text(page, 'import-error');
}

describe('Data page', () => {
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];
  let tmp: string;
  let sampleLines: { prompt: string; completion: string }[];

  beforeAll(async () => {
    browser = await launchChromium({ webgpu: true });
    ({ page, errors } = await browser.newPage());
    tmp = await mkdtemp(join(tmpdir(), 'tunelab-data-'));
    sampleLines = (await readFile(SAMPLE, 'utf8'))
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { prompt: string; completion: string });
  });

  afterAll(async () => {
    await browser?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('imports the sample dataset, saves it with a split, keeps it across reloads and renames it', async () => {
    await openDataPage(page);
    expect(await savedNames(page)).toEqual([]);

    await page.getByTestId('load-sample-dataset').click();
    const draft = page.getByTestId('dataset-draft');
    await draft.waitFor({ timeout: 30_000 });
    expect(await draft.getAttribute('data-format')).toBe('prompt-completion');
    expect(Number(await draft.getAttribute('data-examples'))).toBe(sampleLines.length);
    expect(Number(await draft.getAttribute('data-errors'))).toBe(0);
    expect(await text(page, 'draft-save')).toBe('Save dataset');

    await page.getByTestId('draft-name').fill(SAVED);
    await page.getByTestId('draft-split-fraction').fill('0.2');
    await page.getByTestId('draft-split-seed').fill('3');
    const held = evalCount(sampleLines.length, 0.2);
    const counts = page.getByTestId('draft-split-counts');
    expect(Number(await counts.getAttribute('data-eval'))).toBe(held);
    expect(Number(await counts.getAttribute('data-train'))).toBe(sampleLines.length - held);
    await page.getByTestId('draft-save').click();
    await row(page, SAVED).waitFor();
    expect(await page.getByTestId('dataset-draft').count()).toBe(0);
    expect(await row(page, SAVED).getByTestId('dataset-format').textContent()).toBe('Prompt-completion: fits SFT and GRPO');

    // Saving selects it for the preview, which needs a model's tokenizer: none is loaded yet.
    await page.getByTestId('preview-no-model').waitFor();

    await reload(page);
    expect(await savedNames(page)).toEqual([SAVED]);
    const split = row(page, SAVED).getByTestId('dataset-split');
    expect(Number(await split.getAttribute('data-eval'))).toBe(held);
    expect(Number(await split.getAttribute('data-train'))).toBe(sampleLines.length - held);
    expect(Number(await row(page, SAVED).getByTestId('dataset-examples').getAttribute('data-value'))).toBe(sampleLines.length);

    await row(page, SAVED).getByTestId('dataset-rename').click();
    await page.getByTestId('dataset-rename-input').fill(RENAMED);
    await page.getByTestId('dataset-rename-save').click();
    await row(page, RENAMED).waitFor();

    // A new split is stored: the row and, after a reload, the store agree.
    await row(page, RENAMED).getByTestId('dataset-preview').click();
    await page.getByTestId('detail-split-edit').click();
    await page.getByTestId('detail-split-fraction').fill('0.05');
    await page.getByTestId('detail-split-apply').click();
    const heldNow = evalCount(sampleLines.length, 0.05);
    await page.waitForSelector(`[data-testid=dataset-row][data-name="${RENAMED}"] [data-testid=dataset-split][data-eval="${heldNow}"]`);
    await reload(page);
    expect(await savedNames(page)).toEqual([RENAMED]);
    expect(Number(await row(page, RENAMED).getByTestId('dataset-split').getAttribute('data-eval'))).toBe(heldNow);
    expect(errors).toEqual([]);
  });

  it('gives a clear message for each bad input, keeps working and loses nothing saved', async () => {
    const stillSaved = async (expected: string[]) => expect(await savedNames(page)).toEqual(expected);

    // A JSONL with a broken line: the draft names the line; skipping it saves the other two.
    const broken = ['{"text": "one"}', '{"text": "two"', '{"text": "three"}'].join('\n');
    expect(await importFile(page, { name: 'broken.jsonl', buffer: Buffer.from(broken) })).toBe('draft');
    expect(Number(await page.getByTestId('dataset-draft').getAttribute('data-errors'))).toBe(1);
    const line = page.getByTestId('draft-errors-line');
    expect(await line.getAttribute('data-line')).toBe('2');
    expect(await line.textContent()).toMatch(/^line 2 not valid JSON/);
    expect(await text(page, 'draft-save')).toBe('Skip this line and save');
    await stillSaved([RENAMED]);
    await page.getByTestId('draft-split-fraction').fill('0');
    await page.getByTestId('draft-save').click();
    await row(page, 'broken').waitFor();
    expect(Number(await row(page, 'broken').getByTestId('dataset-examples').getAttribute('data-value'))).toBe(2);
    await stillSaved(['broken', RENAMED]);

    // Preference pairs: one whose chosen answer equals the rejected one is counted and skipped.
    const good = JSON.stringify({ prompt: 'Setting: a cave.\n', chosen: 'Once upon a time, in a cave.', rejected: 'Once upon a time, in a town.' });
    const same = JSON.stringify({ prompt: 'Setting: a lake.\n', chosen: 'Once upon a time, by a lake.', rejected: 'Once upon a time, by a lake.' });
    expect(await importFile(page, { name: 'dpo.jsonl', buffer: Buffer.from(`${good}\n${same}\n${good}\n`) })).toBe('draft');
    const pairsDraft = page.getByTestId('dataset-draft');
    expect(await pairsDraft.getAttribute('data-method')).toBe('dpo');
    expect(Number(await pairsDraft.getAttribute('data-examples'))).toBe(2);
    expect(Number(await pairsDraft.getAttribute('data-errors'))).toBe(0);
    expect(Number(await pairsDraft.getAttribute('data-identical'))).toBe(1);
    expect(await text(page, 'draft-identical')).toMatch(/^1\s*— the chosen answer equals the rejected one/);
    await page.getByTestId('draft-discard').click();
    await stillSaved(['broken', RENAMED]);

    // Unpaired preference data fits KTO, which the studio does not train yet: refused, saying so.
    const unpaired = `${JSON.stringify({ prompt: 'Setting: a cave.\n', completion: 'Once, in a cave.', label: true })}\n`;
    expect(await importError(page, { name: 'kto.jsonl', buffer: Buffer.from(unpaired) })).toMatch(
      /^kto\.jsonl: is an unpaired preference .* This dataset fits KTO\. The studio does not train that yet; it imports data for SFT, for DPO, SimPO and ORPO or for GRPO\.$/,
    );
    await stillSaved(['broken', RENAMED]);

    // Not UTF-8: a Latin-1 "é" on line 2.
    const latin1 = Buffer.concat([Buffer.from('{"text": "ok"}\n{"text": "caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]);
    expect(await importError(page, { name: 'latin1.jsonl', buffer: latin1 })).toBe(
      `latin1.jsonl: is not UTF-8 text (invalid byte 0xe9 at offset ${latin1.indexOf(0xe9)}, line 2)`,
    );
    await stillSaved(['broken', RENAMED]);

    expect(await importError(page, { name: 'empty.jsonl', buffer: Buffer.alloc(0) })).toBe('empty.jsonl: is empty');
    await stillSaved(['broken', RENAMED]);

    // 50 MB of valid JSONL: refused from its size alone.
    const bigLine = `${JSON.stringify({ text: 'x'.repeat(990) })}\n`;
    const big = Buffer.alloc(50_000_000, bigLine);
    const bigPath = join(tmp, 'big.jsonl');
    await writeFile(bigPath, big);
    expect(await importError(page, bigPath)).toBe('big.jsonl: is 50.0 MB; the studio imports datasets up to 32 MB');
    await stillSaved(['broken', RENAMED]);

    // A full quota: the save fails with a clear message, the draft stays, nothing saved is lost.
    const cdp = await browser.context.newCDPSession(page);
    const origin = new URL(inject('studioUrl')).origin;
    // Far below what the site already uses (0 would mean "no override").
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1000 });
    try {
      await reopenStorage(page);
      await stillSaved(['broken', RENAMED]);
      await page.getByTestId('load-sample-dataset').click();
      await page.getByTestId('dataset-draft').waitFor({ timeout: 30_000 });
      await page.getByTestId('draft-name').fill('too big');
      await page.getByTestId('draft-save').click();
      const full = await page.getByTestId('draft-save-error').textContent({ timeout: 30_000 });
      expect(full).toMatch(/^Saving the dataset "too big" failed: storage is full: [\d.]+ MB used of [\d.]+ MB; .*Everything saved before is kept\.$/);
      expect(await page.getByTestId('dataset-draft').count()).toBe(1);
      await stillSaved(['broken', RENAMED]);
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    }
    await reopenStorage(page);

    // The page still works: a good file imports after all that, and the store kept everything.
    expect(await importFile(page, { name: 'good.jsonl', buffer: Buffer.from('{"text": "fine"}\n') })).toBe('draft');
    expect(await page.getByTestId('import-error').count()).toBe(0);
    await page.getByTestId('draft-discard').click();
    await reload(page);
    await stillSaved(['broken', RENAMED]);
    expect(errors).toEqual([]);
  });

  it('reads pasted CSV and a dropped file', async () => {
    await page.getByText('Paste records instead').click();
    await page.getByTestId('dataset-paste').fill('prompt,completion\n"Setting: a cave.\n","Once, in a cave, a bat slept."\nHi,There\n');
    await page.getByTestId('dataset-paste-read').click();
    const draft = page.getByTestId('dataset-draft');
    await draft.waitFor();
    expect(await draft.getAttribute('data-format')).toBe('prompt-completion');
    expect(await draft.getAttribute('data-examples')).toBe('2');
    expect(await text(page, 'draft-error-count')).toBe('0');

    await page.evaluate(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['{"text": "a"}\n{"text": "b"}\n{"text": "c"}\n'], 'dropped.jsonl'));
      const zone = document.querySelector('[data-testid=dataset-drop-zone]')!;
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    });
    await page.waitForSelector('[data-testid=dataset-draft][data-examples="3"]');
    expect(await draft.getAttribute('data-format')).toBe('language-modeling');
    expect(await page.getByTestId('draft-name').inputValue()).toBe('dropped');
    await page.getByTestId('draft-discard').click();
    expect(errors).toEqual([]);
  });

  it('previews the sample for stories260K token by token, trained tokens marked up to the end-of-sequence token', async () => {
    await page.goto(new URL('#model', inject('studioUrl')).href);
    const entry = page.locator('[data-testid=offline-model][data-id=stories260K]');
    await entry.waitFor({ timeout: 30_000 });
    await entry.getByRole('button', { name: 'Load' }).click();
    await page.waitForSelector('[data-testid=load-progress][data-status=ready]', { timeout: 120_000 });

    // Same page, same worker: the model stays loaded.
    await page.getByTestId('nav-data').click();
    await page.waitForSelector('main[data-page=data]');
    await waitForList(page);
    await row(page, RENAMED).getByTestId('dataset-preview').click();
    await page.getByTestId('token-previews').waitFor({ timeout: 30_000 });
    await page.getByTestId('token-legend').waitFor();

    const examples = page.getByTestId('token-preview');
    expect(await examples.count()).toBe(3);
    const first = examples.first();
    expect(await first.getAttribute('data-line')).toBe('1');
    const tokens = await tokensOf(first);
    const { prompt, completion } = sampleLines[0];
    expect(tokens[0]).toMatchObject({ text: '<s>', trained: false });
    expect(tokens.at(-1)).toMatchObject({ text: '</s>', trained: true });
    expect(tokens.filter((t) => t.trained).map((t) => t.text).join('').trim()).toBe(`${completion}</s>`);
    expect(tokens.filter((t) => !t.trained).map((t) => t.text).join('').replace('<s> ', '<s>')).toBe(`<s>${prompt}`);
    // Trained tokens look different from the context (a highlighted background).
    const trainedBg = new Set(tokens.filter((t) => t.trained).map((t) => t.background));
    const contextBg = new Set(tokens.filter((t) => !t.trained).map((t) => t.background));
    expect(trainedBg.size).toBe(1);
    expect(contextBg.size).toBe(1);
    expect([...trainedBg][0]).not.toBe([...contextBg][0]);

    await page.getByTestId('preview-next').click();
    await page.waitForSelector('[data-testid=token-preview][data-line="4"]', { timeout: 30_000 });

    // A shorter maximum length cuts each example there, as training would.
    await page.getByTestId('preview-max-length').fill('10');
    await page.getByTestId('preview-max-length').press('Enter');
    await page.waitForSelector('[data-testid=token-preview][data-line="4"][data-tokens="10"]', { timeout: 30_000 });
    expect(await examples.first().textContent()).toContain('cut at the maximum length');
    expect(errors).toEqual([]);
  });

  it('imports preference pairs, says which methods they fit, and previews a pair token by token', async () => {
    // The project's preference task through the real file input (stories260K is still loaded).
    expect(await importFile(page, PREFERENCE_SAMPLE)).toBe('draft');
    const draft = page.getByTestId('dataset-draft');
    expect(await draft.getAttribute('data-format')).toBe('preference');
    expect(await draft.getAttribute('data-method')).toBe('dpo');
    expect(Number(await draft.getAttribute('data-examples'))).toBe(468);
    expect(Number(await draft.getAttribute('data-errors'))).toBe(0);
    expect(await text(page, 'draft-format')).toBe('Preference pairs (prompt, chosen, rejected): fits DPO, SimPO and ORPO');
    expect(await text(page, 'draft-examples')).toBe('468');
    expect(await text(page, 'draft-identical')).toBe('0');
    await page.getByTestId('draft-name').fill(PAIRS);
    await page.getByTestId('draft-save').click();
    await row(page, PAIRS).waitFor();
    expect(await row(page, PAIRS).getByTestId('dataset-examples').textContent()).toBe('468 pairs');
    expect(await row(page, PAIRS).getByTestId('dataset-format').textContent()).toBe('Preference pairs (prompt, chosen, rejected): fits DPO, SimPO and ORPO');

    // Saving selects it for the preview, still at the maximum length of 10 set above: training would drop
    // every pair (stories260K spells the prompt in 17 tokens), and each pair says so in place.
    await page.waitForSelector('[data-testid=token-previews][data-method=dpo]', { timeout: 30_000 });
    expect(await page.getByTestId('pair-preview-error').count()).toBe(3);
    expect(await page.getByTestId('pair-preview-error').first().textContent()).toBe(
      'line 1 has a prompt of 17 tokens, which leaves no room for an answer within the maximum length of 10 tokens',
    );

    // At 256 tokens: three pairs, each as prompt, chosen and rejected tokens.
    await page.getByTestId('preview-max-length').fill('256');
    await page.getByTestId('preview-max-length').press('Enter');
    await page.waitForSelector('[data-testid=pair-preview][data-line="1"] [data-testid=pair-prompt]', { timeout: 30_000 });
    const pairs = page.getByTestId('pair-preview');
    expect(await pairs.count()).toBe(3);
    const first = pairs.first();
    expect(await first.getAttribute('data-line')).toBe('1');
    expect(await first.getAttribute('data-truncated')).toBe('false');
    const prompt = await tokensOf(first.getByTestId('pair-prompt'));
    const chosen = await tokensOf(first.getByTestId('pair-chosen'));
    const rejected = await tokensOf(first.getByTestId('pair-rejected'));
    expect(prompt[0].text).toBe('<s>');
    // Llama's decoder writes the space of "▁Setting" after <s>.
    expect(prompt.map((t) => t.text).join('').replace('<s> ', '')).toBe('Setting: a busy meadow.\n');
    expect(chosen.map((t) => t.text).join('')).toMatch(/^Once upon a time, in a busy meadow, .*<\/s>$/);
    expect(rejected.map((t) => t.text).join('')).toMatch(/^Once upon a time, in a busy library, .*<\/s>$/);
    expect(prompt.every((t) => !t.trained)).toBe(true);
    expect([...chosen, ...rejected].every((t) => t.trained)).toBe(true);
    // The answers look like the SFT preview's trained tokens, the prompt like its context.
    expect(new Set([...chosen, ...rejected].map((t) => t.background)).size).toBe(1);
    expect(new Set(prompt.map((t) => t.background)).size).toBe(1);
    expect(chosen[0].background).not.toBe(prompt[0].background);
    expect(await first.getByTestId('pair-chosen').textContent()).toMatch(/^\s*chosen/);
    expect(await first.getByTestId('pair-rejected').textContent()).toMatch(/^\s*rejected/);

    // LLaMA-Factory's ShareGPT pairs (one JSON array) and the preference sample's own button.
    expect(await importFile(page, DPO_EN_DEMO)).toBe('draft');
    expect(await draft.getAttribute('data-format')).toBe('sharegpt-preference');
    expect(Number(await draft.getAttribute('data-examples'))).toBe(300);
    expect(await text(page, 'draft-format')).toBe('ShareGPT preference pairs (conversations, chosen, rejected): fits DPO, SimPO and ORPO');
    await page.getByTestId('draft-discard').click();
    await page.getByTestId('load-sample-stories-preference').click();
    await page.waitForSelector('[data-testid=dataset-draft][data-format=preference][data-examples="468"]', { timeout: 30_000 });
    expect(await page.getByTestId('draft-name').inputValue()).toBe('stories-preference (sample)');
    await page.getByTestId('draft-discard').click();
    expect(await savedNames(page)).toEqual([PAIRS, 'broken', RENAMED]);
    expect(errors).toEqual([]);
  });

  it("imports GSM8K's question/answer as GRPO prompts and previews a prompt with the answer given to the rewards", async () => {
    const gsm8k = GSM8K.map((r) => JSON.stringify(r)).join('\n');
    expect(await importFile(page, { name: 'gsm8k.jsonl', buffer: Buffer.from(gsm8k) })).toBe('draft');
    const draft = page.getByTestId('dataset-draft');
    expect(await draft.getAttribute('data-format')).toBe('question-answer');
    expect(await draft.getAttribute('data-method')).toBe('grpo');
    expect(Number(await draft.getAttribute('data-examples'))).toBe(2);
    expect(await text(page, 'draft-format')).toBe('Question-answer (question, answer): fits GRPO');
    expect(await text(page, 'draft-reward-fields')).toMatch(/^answer\s*— every field besides the prompt, for the reward functions/);
    await page.getByTestId('draft-name').fill(PROMPTS);
    await page.getByTestId('draft-split-fraction').fill('0');
    await page.getByTestId('draft-save').click();
    await row(page, PROMPTS).waitFor();
    expect(await row(page, PROMPTS).getByTestId('dataset-examples').textContent()).toBe('2 prompts');
    expect(await row(page, PROMPTS).getByTestId('dataset-format').textContent()).toBe('Question-answer (question, answer): fits GRPO');

    // Saved and selected: stories260K (still loaded) renders each question as the rollouts will continue it.
    await page.waitForSelector('[data-testid=token-previews][data-method=grpo] [data-testid=prompt-preview]', { timeout: 30_000 });
    expect(await page.getByTestId('token-legend').textContent()).toMatch(/context only\.\s+GRPO trains the completions the model samples after it/);
    const prompts = page.getByTestId('prompt-preview');
    expect(await prompts.count()).toBe(2);
    for (const [i, record] of GSM8K.entries()) {
      const item = prompts.nth(i);
      expect(await item.getAttribute('data-line')).toBe(String(i + 1));
      const tokens = await tokensOf(item);
      expect(tokens[0].text).toBe('<s>');
      expect(tokens.map((t) => t.text).join('').replace('<s> ', '')).toBe(record.question);
      // No prompt token is trained, and none is drawn as trained.
      expect(tokens.every((t) => !t.trained)).toBe(true);
      expect(new Set(tokens.map((t) => t.background)).size).toBe(1);
      expect(await item.getByTestId('prompt-field').evaluateAll((dds) => dds.map((d) => [(d as HTMLElement).dataset.name, d.textContent]))).toEqual([['answer', record.answer]]);
      expect(await item.textContent()).toContain('1 field given to the rewards');
    }

    // The GRPO sample task is one click away too: 240 prompts with a name and an animal each.
    await page.getByTestId('load-sample-stories-grpo').click();
    await page.waitForSelector('[data-testid=dataset-draft][data-format=prompt-only][data-method=grpo][data-examples="240"]', { timeout: 30_000 });
    expect(await text(page, 'draft-format')).toBe('Prompt-only (prompt): fits GRPO');
    expect(await text(page, 'draft-reward-fields')).toMatch(/^name, animal\s*—/);
    await page.getByTestId('draft-discard').click();
    expect(await savedNames(page)).toEqual([PROMPTS, PAIRS, 'broken', RENAMED]);
    expect(errors).toEqual([]);
  });

  it('deletes a dataset only after confirmation, for good', async () => {
    await row(page, 'broken').getByTestId('dataset-delete').click();
    await page.getByTestId('dataset-delete-cancel').click();
    expect(await savedNames(page)).toEqual([PROMPTS, PAIRS, 'broken', RENAMED]);

    await row(page, PAIRS).getByTestId('dataset-preview').click();
    await row(page, RENAMED).getByTestId('dataset-delete').click();
    await page.getByTestId('dataset-delete-confirm').click();
    await row(page, RENAMED).waitFor({ state: 'detached' });
    // Deleting another dataset leaves the preview as it is.
    expect(await page.getByTestId('dataset-detail').getAttribute('data-id')).toBe(await row(page, PAIRS).getAttribute('data-id'));
    await row(page, PAIRS).getByTestId('dataset-delete').click();
    await page.getByTestId('dataset-delete-confirm').click();
    await row(page, PAIRS).waitFor({ state: 'detached' });
    // The previewed dataset is gone, so is its preview.
    expect(await page.getByTestId('dataset-detail').count()).toBe(0);
    await reload(page);
    expect(await savedNames(page)).toEqual([PROMPTS, 'broken']);
    expect(errors).toEqual([]);
  });

  it('keeps the first 100 of a million bad lines with their count, in the draft and in the saved dataset', async () => {
    // 1,000,000 lines that are not JSON, then one good line (8 MB).
    const million = Buffer.from(`${'{"text"\n'.repeat(1_000_000)}{"text": "The one good line."}\n`);
    expect(await importFile(page, { name: 'million.jsonl', buffer: million })).toBe('draft');
    const draft = page.getByTestId('dataset-draft');
    expect(Number(await draft.getAttribute('data-errors'))).toBe(1_000_000);
    expect(Number(await draft.getAttribute('data-examples'))).toBe(1);
    expect(await text(page, 'draft-errors-kept')).toBe('first 100 of 1,000,000 errors');
    expect(await page.getByTestId('draft-errors-line').count()).toBe(100);
    expect(await page.getByTestId('draft-errors-line').last().getAttribute('data-line')).toBe('100');
    expect(await text(page, 'draft-save')).toBe('Skip these 1,000,000 lines and save');
    await page.getByTestId('draft-name').fill('million');
    await page.getByTestId('draft-split-fraction').fill('0');
    await page.getByTestId('draft-save').click();
    await row(page, 'million').waitFor();
    await reload(page);
    expect(Number(await row(page, 'million').getByTestId('dataset-skipped').getAttribute('data-value'))).toBe(1_000_000);
    expect(await row(page, 'million').getByTestId('dataset-skipped').textContent()).toBe('1,000,000 lines skipped');
    await row(page, 'million').getByTestId('dataset-delete').click();
    await page.getByTestId('dataset-delete-confirm').click();
    await row(page, 'million').waitFor({ state: 'detached' });
    expect(await savedNames(page)).toEqual([PROMPTS, 'broken']);
    expect(errors).toEqual([]);
  });
});
