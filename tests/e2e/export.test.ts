// The Adapters page's exports on a real WebGPU adapter (SwiftShader in Chromium): stories260K from the offline
// folder (its GPU weights in f16, so the export must read the files again to be f32-exact), a PEFT adapter made
// here (PEFT's A, a non-zero B) imported through the page, then:
// - "Download merged model" (f32): the zip holds the Hugging Face folder; the product's loader reads it as a
//   plain model whose CPU logits equal the base with the adapter merged in memory (1e-5 of each row's max);
// - "Download ONNX" (fp32): onnxruntime-node runs onnx/model.onnx through its KV cache and picks the CPU
//   reference's greedy tokens, with logits within 1e-4 of each row's max;
// - with the demo model loaded the adapter does not fit, and the row says so (the worker's reason);
// - after a reload no model is loaded: the page says to load one, and the buttons are off.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LoraAdapter } from '../../src/engine/lora/adapter';
import { mergeAdapter } from '../../src/engine/lora/merge-weights';
import { adapterConfigJson, adapterWeightsBytes } from '../../src/engine/lora/peft-files';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { promptIds } from '../../src/engine/model/prompt-ids';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import type { ModelWeights } from '../../src/engine/model/weights';
import { worstRowsError } from '../helpers/assert';
import { randomLoraAdapter } from '../helpers/lora-fixtures';
import { openSession, runDecode } from '../helpers/onnx-run';
import { loadModel, makeTempDir, removeTempDir, STORIES260K_DIR, type LoadedModel } from '../helpers/tiny-models';
import { launchChromium, type TestBrowser } from './browser';
import { collectSvelteWarnings, openStudioPage, text } from './studio-page';

const studioUrl = inject('studioUrl');
const ADAPTER = 'export adapter';
const PROMPT = 'Once upon a time';
const DECODE_STEPS = 12;
const LORA = { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'], useRslora: false };

/** The CPU reference's logits for `ids`, one row (V) per position. */
async function cpuLogits(model: LoadedModel, weights: ModelWeights, ids: number[]): Promise<Float32Array[]> {
  const cpu = new CpuCausalLm(model.config, weights);
  const [flat] = await cpu.extend([{ sequence: cpu.createSequence(ids.length), tokens: ids }], 'all');
  const V = model.config.vocabSize;
  return Array.from({ length: ids.length }, (_, t) => flat.slice(t * V, (t + 1) * V));
}

const argmax = (row: Float32Array) => row.indexOf(Math.max(...row));

async function goTo(page: Page, name: 'model' | 'adapters'): Promise<void> {
  await page.getByTestId(`nav-${name}`).click();
  await page.waitForSelector(`main[data-page=${name}]`);
}

async function waitForModel(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid=load-progress][data-status=ready], [data-testid=load-progress][data-status=error]', { timeout: 120_000 });
  if ((await page.getByTestId('load-error').count()) > 0) throw new Error(`the model did not load: ${await text(page, 'load-error')}`);
  await page.getByTestId('model-summary').waitFor();
}

/** Clicks an export button and returns the downloaded zip's name and entries (path -> bytes). */
async function downloadZip(page: Page, button: Locator): Promise<{ name: string; entries: Record<string, Uint8Array> }> {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), button.click()]);
  const bytes = new Uint8Array(await readFile(await download.path()));
  return { name: download.suggestedFilename(), entries: unzipSync(bytes) };
}

async function writeFolder(dir: string, entries: Record<string, Uint8Array>): Promise<void> {
  for (const [path, bytes] of Object.entries(entries)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
}

describe('merged model and ONNX downloads from the Adapters page', () => {
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];
  let tmp: string;
  let stories: LoadedModel;
  let adapter: LoraAdapter;
  let merged: ModelWeights;
  let prompt: number[];

  beforeAll(async () => {
    stories = await loadModel(STORIES260K_DIR);
    adapter = randomLoraAdapter('llama', stories.weights, LORA, 21, 0.2);
    merged = mergeAdapter(stories.weights, adapter);
    prompt = promptIds(new ModelTokenizer(stories.files), stories.config, PROMPT);
    tmp = await makeTempDir('tunelab-e2e-export-');
    browser = await launchChromium({ webgpu: true });
    ({ page, errors } = await browser.newPage());
    collectSvelteWarnings(page, errors);
  });

  afterAll(async () => {
    await browser?.close();
    if (tmp) await removeTempDir(tmp);
  });

  it('downloads the merged model (f32) and ONNX (fp32) that compute base + adapter; refuses what does not fit', async () => {
    expect(await openStudioPage(page, studioUrl, 'model')).toBe('ready');
    // f16 on the GPU: the export must still be f32-exact (it reads the model's files again).
    expect(await page.getByTestId('weight-format').inputValue()).toBe('f16');
    await page.locator('[data-testid=offline-model][data-id=stories260K] button').click();
    await waitForModel(page);

    await goTo(page, 'adapters');
    await page.getByTestId('adapter-import-files').setInputFiles([
      { name: 'adapter_config.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(adapterConfigJson(adapter, 'stories260K'))) },
      { name: 'adapter_model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(adapterWeightsBytes(adapter)) },
    ]);
    await page.getByTestId('adapter-import-name').fill(ADAPTER);
    await page.getByTestId('adapter-import-run').click();
    const row = page.locator(`[data-testid=adapter-row][data-name="${ADAPTER}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('export-no-model').count()).toBe(0);

    // The merged Hugging Face folder, f32.
    expect(await row.getByTestId('export-hf-dtype').inputValue()).toBe('f32');
    const hf = await downloadZip(page, row.getByTestId('export-hf'));
    expect(hf.name).toBe('stories260K+export-adapter-f32.zip');
    expect(Object.keys(hf.entries).sort()).toEqual(['README.md', 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const status = row.getByTestId('export-status');
    await row.locator('[data-testid=export-status][data-state=saved]').waitFor();
    expect((await status.textContent())!.replace(/\s+/g, ' ').trim()).toMatch(/^Merged model \(f32\): saved stories260K\+export-adapter-f32\.zip \(6 files, [\d.]+ (KiB|MiB)\)\.$/);
    const config = JSON.parse(new TextDecoder().decode(hf.entries['config.json'])) as Record<string, unknown>;
    expect(config.torch_dtype).toBe('float32');
    expect(new TextDecoder().decode(hf.entries['README.md'])).toContain('stories260K');
    const hfDir = join(tmp, 'hf');
    await writeFolder(hfDir, hf.entries);
    const exported = await loadModel(hfDir);
    // A plain model: no adapter applied when it is read, so its logits are the merge's own.
    const ids = [...prompt, 300, 261, 403, 43];
    const expected = await cpuLogits(stories, merged, ids);
    const got = await cpuLogits(exported, exported.weights, ids);
    const mergedError = worstRowsError(got, expected);
    const adapterEffect = worstRowsError(await cpuLogits(stories, stories.weights, ids), expected);
    console.log(`merged f32 export vs base + adapter merged in memory: worst row error ${mergedError.toExponential(2)} (the adapter itself moves the logits by ${adapterEffect.toExponential(2)})`);
    expect(mergedError).toBeLessThan(1e-5);
    expect(adapterEffect).toBeGreaterThan(1e-2); // the comparison would prove nothing if the adapter did nothing

    // ONNX, fp32: run by onnxruntime-node through its KV cache.
    expect(await row.getByTestId('export-onnx-dtype').inputValue()).toBe('f32');
    const onnx = await downloadZip(page, row.getByTestId('export-onnx'));
    expect(onnx.name).toBe('stories260K+export-adapter-onnx-fp32.zip');
    const onnxFiles = Object.keys(onnx.entries);
    for (const file of ['onnx/model.onnx', 'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) expect(onnxFiles).toContain(file);
    await row.locator('[data-testid=export-status][data-state=saved]').waitFor();
    expect(await status.textContent()).toContain('ONNX (fp32): saved stories260K+export-adapter-onnx-fp32.zip');
    const onnxDir = join(tmp, 'onnx');
    await writeFolder(onnxDir, onnx.entries);
    const session = await openSession(join(onnxDir, 'onnx', 'model.onnx'));
    const run = await runDecode(session, stories.config, prompt, DECODE_STEPS);
    await session.release();
    const reference = await cpuLogits(stories, merged, [...prompt, ...run.tokens]);
    const onnxError = worstRowsError(run.logits, reference);
    const greedy = reference.slice(prompt.length - 1, prompt.length - 1 + DECODE_STEPS).map(argmax);
    console.log(`ONNX fp32 export vs CPU reference: worst row error ${onnxError.toExponential(2)}; greedy ${run.tokens.join(' ')}`);
    expect(run.tokens).toEqual(greedy);
    expect(onnxError).toBeLessThan(1e-4);

    // The demo model is another shape: the adapter does not fit it, and the row says why; nothing is lost.
    await goTo(page, 'model');
    await page.getByTestId('demo-load').click();
    await waitForModel(page);
    await goTo(page, 'adapters');
    await row.getByTestId('export-hf').click();
    expect(await text(page, 'export-status-error')).toMatch(/^Merged model \(f32\): .*does not fit the loaded model/);
    expect(await page.getByTestId('adapter-row').count()).toBe(1);

    // After a reload no model is loaded: the page says what to do, and the export buttons are off.
    await page.reload();
    await page.waitForSelector('main[data-page=adapters]');
    await page.getByTestId('export-no-model').waitFor();
    expect(await row.getByTestId('export-hf').isDisabled()).toBe(true);
    expect(await row.getByTestId('export-onnx').isDisabled()).toBe(true);
    expect(errors).toEqual([]);
  });
});
