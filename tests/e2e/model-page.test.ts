// The Model page on a real WebGPU adapter (SwiftShader in Chromium): stories260K loaded from the server's
// offline folder, from a local server that answers the Hub's resolve URLs (cached in Cache Storage for the
// next load), and from picked files; progress per file; the config summary; greedy generation that must
// reproduce llama2.c's reference text; errors that leave the page working.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generate, promptIds } from '../../src/engine/model/generate';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { storiesTokenizer } from '../helpers/stories-tokenizer';
import { loadModel } from '../helpers/tiny-models';
import { launchChromium, type TestBrowser } from './browser';
import { startHubMirror, type HubMirror } from './hub-mirror';
import { openStudioPage, text } from './studio-page';

const MODEL = 'stories260K';
/** stories260K with a chat template added to its tokenizer_config.json (served by the mirror). */
const CHAT_MODEL = 'stories260K-chat';
const CHAT_TEMPLATE =
  "{% for m in messages %}{{ bos_token }}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: Once upon{% endif %}";
const modelsDir = inject('modelsDir');
const modelDir = join(modelsDir, MODEL);

/** Parameters stored in a safetensors file: the sum of its tensors' element counts (read from its header). */
async function safetensorsParameters(path: string): Promise<number> {
  const bytes = await readFile(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { shape: number[] }>;
  return Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .reduce((sum, [, t]) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
}

/** The reference text, without the file's own line ending. */
async function expectedGreedyText(): Promise<string> {
  return (await readFile(join(modelDir, 'expected_greedy_from_bos_40_tokens.txt'), 'utf8')).replace(/\n$/, '');
}

/** Starts recording every state of the file-progress rows (file -> "loaded/total" snapshots). */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, string[]> = {};
    (window as unknown as { progressSeen: typeof seen }).progressSeen = seen;
    const snap = () => {
      for (const row of document.querySelectorAll<HTMLElement>('[data-testid=file-progress]')) {
        const file = row.dataset.file ?? '?';
        const state = `${row.dataset.loaded}/${row.dataset.total}`;
        const list = (seen[file] ??= []);
        if (list.at(-1) !== state) list.push(state);
      }
    };
    new MutationObserver(snap).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}

function progressSeen(page: Page): Promise<Record<string, string[]>> {
  return page.evaluate(() => (window as unknown as { progressSeen: Record<string, string[]> }).progressSeen);
}

/** Waits for the load to end; fails with the page's error message if it did not load. */
async function waitForLoaded(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid=load-progress][data-status=ready], [data-testid=load-progress][data-status=error]', {
    timeout: 120_000,
  });
  const error = page.getByTestId('load-error');
  if ((await error.count()) > 0) throw new Error(`the page could not load the model: ${await error.textContent()}`);
  await page.getByTestId('model-summary').waitFor();
}

async function waitForLoadError(page: Page): Promise<string> {
  await page.waitForSelector('[data-testid=load-progress][data-status=error]', { timeout: 60_000 });
  return text(page, 'load-error');
}

/** The row of one file in the progress table. */
async function fileRow(page: Page, file: string) {
  const row = page.locator(`[data-testid=file-progress][data-file="${file}"]`);
  return {
    loaded: Number(await row.getAttribute('data-loaded')),
    total: Number(await row.getAttribute('data-total')),
    percent: (await row.getByTestId('file-percent').textContent())?.trim(),
    local: (await row.locator('.badge').count()) > 0,
  };
}

async function checkSummary(page: Page): Promise<void> {
  expect(await text(page, 'config-architecture')).toBe('LlamaForCausalLM');
  expect(await text(page, 'config-layers')).toBe('5');
  expect(await text(page, 'config-hidden')).toBe('64');
  expect(await text(page, 'config-vocab')).toBe('512');
  expect(await text(page, 'config-heads')).toBe('8 / 4 (grouped-query)');
  expect(await text(page, 'config-head-dim')).toBe('8');
  expect(await text(page, 'config-context')).toBe('512 positions');
  expect(await text(page, 'config-tied')).toBe('yes');
  expect(await text(page, 'config-dtype')).toBe('float32');
  const params = await safetensorsParameters(join(modelDir, 'model.safetensors'));
  expect(Number(await page.getByTestId('parameter-count').getAttribute('data-value'))).toBe(params);
  expect(await text(page, 'parameter-count')).toBe(`${Number((params / 1e3).toPrecision(3))}K`);
}

interface Generated {
  text: string;
  stopReason: string | null;
  /** Every text the output showed while it streamed. */
  seen: string[];
}

/** Fills the generation box, generates, waits for the end; `stopAfter` clicks Stop once that many characters have streamed. */
async function generateText(
  page: Page,
  settings: { prompt: string; maxNewTokens: number; temperature: number; seed?: number },
  stopAfter?: number,
): Promise<Generated> {
  await page.getByTestId('gen-prompt').fill(settings.prompt);
  await page.getByTestId('gen-max-new-tokens').fill(String(settings.maxNewTokens));
  await page.getByTestId('gen-temperature').fill(String(settings.temperature));
  if (settings.seed !== undefined) await page.getByTestId('gen-seed').fill(String(settings.seed));
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { outputSeen: string[] }).outputSeen = seen;
    new MutationObserver(() => {
      const t = document.querySelector('[data-testid=gen-output]')?.textContent ?? '';
      if (seen.at(-1) !== t) seen.push(t);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.getByTestId('gen-run').click();
  if (stopAfter !== undefined) {
    await page.waitForFunction((n) => (document.querySelector('[data-testid=gen-output]')?.textContent ?? '').length >= n, stopAfter, {
      timeout: 120_000,
    });
    await page.getByTestId('gen-stop').click();
  }
  await page.waitForSelector('[data-testid=gen-status][data-state=done], [data-testid=gen-error]', { timeout: 180_000 });
  const error = page.getByTestId('gen-error');
  if ((await error.count()) > 0) throw new Error(`generation failed: ${await error.textContent()}`);
  const output = page.getByTestId('gen-output');
  return {
    text: (await output.textContent()) ?? '',
    stopReason: await output.getAttribute('data-stop-reason'),
    seen: await page.evaluate(() => (window as unknown as { outputSeen: string[] }).outputSeen),
  };
}

describe('Model page', () => {
  let browser: TestBrowser;
  let mirror: HubMirror;

  beforeAll(async () => {
    browser = await launchChromium({ webgpu: true });
    const tokenizerConfig = JSON.parse(await readFile(join(modelDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    mirror = await startHubMirror(modelsDir, {
      extra: {
        'broken/config.json': JSON.stringify({ architectures: ['LlamaForCausalLM'], hidden_size: 'big' }),
        'mistral/config.json': JSON.stringify({ architectures: ['MistralForCausalLM'] }),
        [`${CHAT_MODEL}/tokenizer_config.json`]: JSON.stringify({ ...tokenizerConfig, chat_template: CHAT_TEMPLATE }),
      },
      aliases: { [CHAT_MODEL]: MODEL },
    });
  });

  afterAll(async () => {
    await mirror?.close();
    await browser?.close();
  });

  it('loads stories260K from the offline folder with progress, summarises it and generates the reference text', async () => {
    const { page, errors } = await browser.newPage();
    expect(await openStudioPage(page, inject('studioUrl'), 'model')).toBe('ready');

    const entry = page.locator(`[data-testid=offline-model][data-id=${MODEL}]`);
    await entry.waitFor({ timeout: 30_000 });
    expect(await entry.textContent()).toContain('LlamaForCausalLM');
    // Only folders with a config.json are models: the llama2.c originals are not listed.
    expect(await page.locator('[data-testid=offline-model][data-id=stories260K-llama2c]').count()).toBe(0);

    await recordProgress(page);
    await entry.getByRole('button', { name: 'Load' }).click();
    await waitForLoaded(page);

    const weightsBytes = (await readFile(join(modelDir, 'model.safetensors'))).byteLength;
    const weights = await fileRow(page, 'model.safetensors');
    expect(weights).toEqual({ loaded: weightsBytes, total: weightsBytes, percent: '100%', local: false });
    for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
      expect((await fileRow(page, file)).percent, file).toBe('100%');
    }
    const seen = await progressSeen(page);
    expect(seen['model.safetensors'].at(-1)).toBe(`${weightsBytes}/${weightsBytes}`);
    // Progress was shown before the file was complete (the first report comes at 0 bytes).
    expect(seen['model.safetensors'].length, seen['model.safetensors'].join(' ')).toBeGreaterThan(1);
    const overall = page.getByTestId('overall-progress');
    expect(Number(await overall.getAttribute('data-loaded'))).toBe(Number(await overall.getAttribute('data-total')));
    expect(Number(await overall.getAttribute('data-loaded'))).toBeGreaterThan(weightsBytes);

    await checkSummary(page);

    // Inference at the model's whole context (512): the KV cache is L * 2 * T * Hkv * D f32 values.
    expect(Number(await page.getByTestId('memory-kv-cache').getAttribute('data-bytes'))).toBe(5 * 2 * 512 * 4 * 8 * 4);
    const total = Number(await page.getByTestId('memory-total').getAttribute('data-bytes'));
    const weightsEstimate = Number(await page.getByTestId('memory-weights').getAttribute('data-bytes'));
    expect(weightsEstimate).toBeGreaterThan(0);
    expect(total).toBeGreaterThan(weightsEstimate + 5 * 2 * 512 * 4 * 8 * 4);
    // New settings, new estimate: T = 128; then LoRA rank 8 on every linear layer, r * (in + out) f32 each:
    // q 64->64, k and v 64->32, o 64->64, gate and up 64->172, down 172->64, in 5 layers.
    await page.getByTestId('memory-seq-len').fill('128');
    await page.waitForSelector(`[data-testid=memory-kv-cache][data-bytes="${5 * 2 * 128 * 4 * 8 * 4}"]`);
    await page.getByTestId('memory-training').check();
    const loraParameters = 5 * 8 * (128 + 96 + 96 + 128 + 3 * 236);
    // The arena the trainer allocates: each A (r, in) and B (out, r) starts at a 64-element (256-byte) boundary,
    // so the 172-wide factors (1,376 elements) take 1,408 each: 3 x 32 padding elements per layer.
    const arenaElements = 5 * (8 * (128 + 96 + 96 + 128 + 3 * 236) + 3 * 32);
    await page.waitForSelector(`[data-testid=memory-lora][data-bytes="${arenaElements * 4}"]`);
    expect(await page.getByTestId('memory-kv-cache').count()).toBe(0); // training keeps no KV cache
    expect(await text(page, 'memory-lora')).toContain(`(${loraParameters.toLocaleString('en-US')})`);

    const expected = await expectedGreedyText();
    // No chat template in stories260K: no chat toggle.
    expect(await page.getByTestId('gen-chat').count()).toBe(0);
    const out = await generateText(page, { prompt: '', maxNewTokens: 40, temperature: 0 });
    expect(out.text).toBe(expected);
    expect(out.stopReason).toBe('max-tokens');
    expect(await text(page, 'gen-status')).toMatch(/^40 new tokens after 1 prompt token/);
    // Streamed: the output grew through several partial texts, each a prefix of the final one.
    const partial = out.seen.filter((t) => t !== '' && t !== expected);
    expect(partial.length, out.seen.join(' | ')).toBeGreaterThanOrEqual(5);
    for (const t of partial) expect(expected.startsWith(t), t).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('loads stories260K by id from a local server answering the Hub resolve URLs, then from Cache Storage after a reload', async () => {
    const { page, errors } = await browser.newPage();
    expect(await openStudioPage(page, inject('studioUrl'), 'model')).toBe('ready');

    await page.getByTestId('hub-endpoint-toggle').click();
    await page.getByTestId('hub-endpoint').fill(mirror.endpoint);
    await page.getByTestId('hub-endpoint-save').click();
    expect(await text(page, 'hub-endpoint-current')).toBe(mirror.endpoint);

    await recordProgress(page);
    await page.getByTestId('hub-id').fill(MODEL);
    await page.getByTestId('hub-load').click();
    await waitForLoaded(page);

    const weightsBytes = (await readFile(join(modelDir, 'model.safetensors'))).byteLength;
    expect(await fileRow(page, 'model.safetensors')).toEqual({ loaded: weightsBytes, total: weightsBytes, percent: '100%', local: false });
    expect((await progressSeen(page))['model.safetensors'].length).toBeGreaterThan(1);
    expect(mirror.requestsFor(MODEL, 'model.safetensors')).toBe(1);
    expect(mirror.requestsFor(MODEL, 'config.json')).toBe(1);
    await checkSummary(page);

    const expected = await expectedGreedyText();
    expect((await generateText(page, { prompt: '', maxNewTokens: 40, temperature: 0 })).text).toBe(expected);

    // A new page load: the endpoint is remembered, and every file comes from Cache Storage.
    await page.reload();
    await page.waitForSelector('main[data-view=ready][data-page=model]');
    expect(await text(page, 'hub-endpoint-current')).toBe(mirror.endpoint);
    await page.getByTestId('hub-id').fill(MODEL);
    await page.getByTestId('hub-load').click();
    await waitForLoaded(page);
    expect(mirror.requestsFor(MODEL, 'model.safetensors')).toBe(1);
    expect(mirror.requestsFor(MODEL, 'config.json')).toBe(1);
    expect(await fileRow(page, 'model.safetensors')).toEqual({ loaded: weightsBytes, total: weightsBytes, percent: '100%', local: true });
    await checkSummary(page);
    expect((await generateText(page, { prompt: '', maxNewTokens: 40, temperature: 0 })).text).toBe(expected);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('explains bad ids, missing, gated and broken repos, then loads a picked folder and stops a generation', async () => {
    const { page, errors } = await browser.newPage();
    expect(await openStudioPage(page, inject('studioUrl'), 'model')).toBe('ready');
    // The endpoint set by the previous test is remembered in this browser profile; set it again anyway.
    await page.getByTestId('hub-endpoint-toggle').click();
    await page.getByTestId('hub-endpoint').fill(mirror.endpoint);
    if (await page.getByTestId('hub-endpoint-save').isEnabled()) await page.getByTestId('hub-endpoint-save').click();
    expect(await text(page, 'hub-endpoint-current')).toBe(mirror.endpoint);

    // Refused before any request.
    await page.getByTestId('hub-id').fill('org/bad name');
    await page.getByTestId('hub-load').click();
    expect(await text(page, 'hub-id-problem')).toMatch(/"bad name" may only hold letters, digits/);
    expect(await page.getByTestId('load-progress').count()).toBe(0);

    const loadError = async (id: string) => {
      await page.getByTestId('hub-id').fill(id);
      await page.getByTestId('hub-load').click();
      return waitForLoadError(page);
    };
    expect(await loadError('nobody/missing')).toMatch(/repository nobody\/missing not found/);
    mirror.deny('gated/model');
    const gated = await loadError('gated/model');
    expect(gated).toContain('HTTP 401');
    expect(gated).toMatch(/gated or private/);
    expect(await loadError('broken')).toMatch(/config\.json: field "hidden_size" must be a positive integer/);
    expect(await loadError('mistral')).toMatch(/config\.json: architecture "MistralForCausalLM" is not supported/);

    // Picked files without the weights: named.
    await page.getByTestId('pick-files').setInputFiles([join(modelDir, 'config.json'), join(modelDir, 'tokenizer.json')]);
    expect(await waitForLoadError(page)).toMatch(/model\.safetensors: not found in 2 picked files/);
    // Weights without a tokenizer: the model loads and is described, but cannot be prompted with text.
    await page.getByTestId('pick-files').setInputFiles([join(modelDir, 'config.json'), join(modelDir, 'model.safetensors')]);
    await waitForLoaded(page);
    await checkSummary(page);
    expect(await text(page, 'no-tokenizer')).toContain('no tokenizer.json');
    expect(await page.getByTestId('generation').count()).toBe(0);

    // The page still works: a whole picked folder loads (read locally, no download).
    await page.getByTestId('pick-folder').setInputFiles(modelDir);
    await waitForLoaded(page);
    await checkSummary(page);
    expect(await text(page, 'model-summary')).toContain(`${MODEL} (picked folder)`);
    const weightsBytes = (await readFile(join(modelDir, 'model.safetensors'))).byteLength;
    expect(await fileRow(page, 'model.safetensors')).toEqual({ loaded: weightsBytes, total: weightsBytes, percent: '100%', local: true });

    // A load that fails while downloading leaves the loaded model in place, shown and usable.
    expect(await loadError('nobody/missing')).toMatch(/not found/);
    expect(await text(page, 'model-summary')).toContain(`${MODEL} (picked folder)`);

    // Settings the engine cannot take are named, and nothing runs.
    await page.getByTestId('gen-temperature').fill('1');
    await page.getByTestId('gen-top-p').fill('0');
    await page.getByTestId('gen-run').click();
    expect(await text(page, 'gen-error')).toMatch(/Top-p must be above 0/);
    expect(await page.getByTestId('gen-output').count()).toBe(0);
    await page.getByTestId('gen-top-p').fill('0.95');

    // Sampling with a seed repeats itself; Stop ends a long generation early.
    const sampled = await generateText(page, { prompt: 'Once upon a time', maxNewTokens: 12, temperature: 1, seed: 7 });
    expect(sampled.stopReason).toMatch(/max-tokens|eos/);
    expect(sampled.text.length).toBeGreaterThan(0);
    expect((await generateText(page, { prompt: 'Once upon a time', maxNewTokens: 12, temperature: 1, seed: 7 })).text).toBe(sampled.text);
    const stopped = await generateText(page, { prompt: '', maxNewTokens: 500, temperature: 1, seed: 1 }, 20);
    expect(stopped.stopReason).toBe('aborted');
    const status = await text(page, 'gen-status');
    const newTokens = Number(/^(\d+) new tokens?/.exec(status)?.[1]);
    expect(newTokens, status).toBeGreaterThan(0);
    expect(newTokens, status).toBeLessThan(500);

    await page.getByTestId('model-unload').click();
    await page.getByTestId('no-model').waitFor();
    expect(await page.getByTestId('model-summary').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('wraps the prompt with the chat template and generates what the CPU reference generates (f32 weights)', async () => {
    const { page, errors } = await browser.newPage();
    expect(await openStudioPage(page, inject('studioUrl'), 'model')).toBe('ready');
    await page.getByTestId('hub-endpoint-toggle').click();
    await page.getByTestId('hub-endpoint').fill(mirror.endpoint);
    if (await page.getByTestId('hub-endpoint-save').isEnabled()) await page.getByTestId('hub-endpoint-save').click();

    await page.getByTestId('weight-format').selectOption('f32');
    await page.getByTestId('hub-id').fill(CHAT_MODEL);
    await page.getByTestId('hub-load').click();
    await waitForLoaded(page);
    expect(await text(page, 'config-gpu-format')).toBe('f32');
    // A model with a chat template starts in chat mode.
    expect(await page.getByTestId('gen-chat').isChecked()).toBe(true);

    const prompt = 'Tell me a story';
    const generated = await generateText(page, { prompt, maxNewTokens: 12, temperature: 0 });

    // The same prompt through the CPU reference in Node.
    const tokenizer = storiesTokenizer({ tokenizerConfig: { chat_template: CHAT_TEMPLATE } });
    const { config, weights } = await loadModel(modelDir);
    const ids = promptIds(tokenizer, config, prompt, { chat: true });
    expect(ids.length).toBeGreaterThan(tokenizer.encode(prompt).length); // the template added its turns
    const [reference] = await generate(new CpuCausalLm(config, weights), [ids], { maxNewTokens: 12, temperature: 0 }, { tokenizer });
    expect(reference.text?.length).toBeGreaterThan(0);
    expect(generated.text).toBe(reference.text);
    expect(await text(page, 'gen-status')).toMatch(new RegExp(`^${reference.tokens.length} new tokens? after ${ids.length} prompt tokens`));

    // Chat off: the plain prompt (BOS + text), so a different prompt length.
    await page.getByTestId('gen-chat').uncheck();
    await generateText(page, { prompt, maxNewTokens: 4, temperature: 0 });
    expect(await text(page, 'gen-status')).toMatch(new RegExp(`after ${tokenizer.encode(prompt).length} prompt tokens`));
    expect(errors).toEqual([]);
    await page.close();
  });
});
