// The Adapters and Chat pages on a real WebGPU adapter (SwiftShader in Chromium), and the offline demo.
// A PEFT adapter for stories260K is made here (PEFT's init, then a non-zero B), imported through the page,
// downloaded as a .zip and as two files (checked against the PEFT format by reading the safetensors header
// here), imported back from the downloaded zip, and compared in chat with the CPU reference's greedy text
// for the base model and for the base with the adapter merged in. Then, with every request outside the
// studio's own origin refused and no model folder, the built-in demo loads, generates and saves its dataset.

import { readFile } from 'node:fs/promises';
import type { Locator, Page } from 'playwright-core';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_DATASET_NAME, DEMO_MODEL_LABEL } from '../../src/engine/demo/demo-labels';
import { DemoModelSource } from '../../src/engine/demo/demo-source';
import { initAdapter, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import { mergeAdapter } from '../../src/engine/lora/merge-weights';
import { adapterConfigJson, adapterWeightsBytes } from '../../src/engine/lora/peft-files';
import type { ModelConfig } from '../../src/engine/model/config';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { generate, promptIds } from '../../src/engine/model/generate';
import { resolveGenerateOptions } from '../../src/engine/model/generation-options';
import { loadModelFiles, type ModelFiles } from '../../src/engine/model/model-files';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { mapWeights, type ModelWeights } from '../../src/engine/model/weights';
import { Rng } from '../../src/engine/util/rng';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';
import { launchChromium, type TestBrowser } from './browser';
import { openStudioPage, text } from './studio-page';

const studioUrl = inject('studioUrl');
const PROMPT = 'Once upon a time';
const NEW_TOKENS = 20;
const LORA = { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false };

/** PEFT's initialisation with B drawn non-zero, so the adapter changes what the model says. */
function testAdapter(weights: ModelWeights, r = LORA.r): LoraAdapter {
  const adapter = initAdapter(planAdapter('llama', weights, { ...LORA, r }), new Rng(11));
  const rng = new Rng(12);
  for (const m of adapter.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = rng.uniform(-0.2, 0.2);
  return adapter;
}

/** The greedy text the page must show, from the CPU reference with the page's generation settings. */
async function cpuGreedy(files: ModelFiles, config: ModelConfig, weights: ModelWeights, prompt: string, maxNewTokens: number): Promise<string> {
  const tokenizer = new ModelTokenizer(files);
  const options = resolveGenerateOptions(files, { maxNewTokens, temperature: 0, topK: 50, topP: 1, seed: 0 }, (t) => tokenizer.tokenId(t));
  const [result] = await generate(new CpuCausalLm(config, weights), [promptIds(tokenizer, config, prompt)], options, { tokenizer });
  return result.text ?? '';
}

/** A safetensors file's header (its JSON, tensors and __metadata__), read the way the format defines it. */
function safetensorsHeader(bytes: Uint8Array): Record<string, { dtype: string; shape: number[]; data_offsets: number[] } | Record<string, string>> {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as never;
}

async function goTo(page: Page, name: 'model' | 'data' | 'chat' | 'adapters'): Promise<void> {
  await page.getByTestId(`nav-${name}`).click();
  await page.waitForSelector(`main[data-page=${name}]`);
}

async function waitForModel(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid=load-progress][data-status=ready], [data-testid=load-progress][data-status=error]', { timeout: 120_000 });
  const error = page.getByTestId('load-error');
  if ((await error.count()) > 0) throw new Error(`the model did not load: ${await error.textContent()}`);
  await page.getByTestId('model-summary').waitFor();
}

async function downloadBytes(page: Page, testId: string, row: Locator): Promise<{ name: string; bytes: Uint8Array }> {
  const [download] = await Promise.all([page.waitForEvent('download'), row.getByTestId(testId).click()]);
  const path = await download.path();
  return { name: download.suggestedFilename(), bytes: new Uint8Array(await readFile(path)) };
}

describe('Adapters and Chat pages with stories260K', () => {
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];
  let storiesWeights: ModelWeights;
  let adapter: LoraAdapter;
  let configJson: Record<string, unknown>;
  let weightsBytes: Uint8Array;
  let expected: { base: string; adapted: string };

  beforeAll(async () => {
    const stories = await loadModel(STORIES260K_DIR);
    storiesWeights = stories.weights;
    adapter = testAdapter(stories.weights);
    configJson = adapterConfigJson(adapter, 'stories260K');
    weightsBytes = adapterWeightsBytes(adapter);
    expected = {
      base: await cpuGreedy(stories.files, stories.config, stories.weights, PROMPT, NEW_TOKENS),
      adapted: await cpuGreedy(stories.files, stories.config, mergeAdapter(stories.weights, adapter), PROMPT, NEW_TOKENS),
    };
    // The adapter must change the answer, or the comparison below would prove nothing.
    expect(expected.adapted).not.toBe(expected.base);
    browser = await launchChromium({ webgpu: true });
    ({ page, errors } = await browser.newPage());
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('imports, lists, downloads (zip and files), re-imports, compares in chat, renames and deletes', async () => {
    expect(await openStudioPage(page, studioUrl, 'model')).toBe('ready');
    await page.getByTestId('weight-format').selectOption('f32');
    await page.locator('[data-testid=offline-model][data-id=stories260K] button').click();
    await waitForModel(page);

    await goTo(page, 'adapters');
    await page.getByTestId('adapters-empty').waitFor();
    const files = page.getByTestId('adapter-import-files');

    // A broken adapter: the config says r = 4, the tensors are rank 2. Nothing is saved.
    const rank2 = adapterWeightsBytes(testAdapter(storiesWeights, 2));
    await files.setInputFiles([
      { name: 'adapter_config.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(configJson)) },
      { name: 'adapter_model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(rank2) },
    ]);
    await page.getByTestId('adapter-import-run').click();
    expect(await text(page, 'adapter-import-error')).toMatch(
      /does not fit the loaded model \(stories260K\): adapter_model\.safetensors: tensor "base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight" has shape \[2, 64\], expected \[4, 64\]/,
    );
    expect(await page.getByTestId('adapters-empty').count()).toBe(1);

    // The real one, as two picked files.
    await files.setInputFiles([
      { name: 'adapter_config.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(configJson)) },
      { name: 'adapter_model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(weightsBytes) },
    ]);
    await page.getByTestId('adapter-import-name').fill('story adapter');
    await page.getByTestId('adapter-import-run').click();
    await page.getByTestId('adapter-import-done').waitFor();
    const row = page.locator('[data-testid=adapter-row][data-name="story adapter"]');
    await row.waitFor();
    expect(await row.getAttribute('data-modules')).toBe('10'); // q_proj and v_proj in 5 layers
    expect(Number(await row.getAttribute('data-bytes'))).toBe(weightsBytes.byteLength);
    expect(await row.getByTestId('adapter-modules').textContent()).toBe('10 modules');
    expect(await row.getByTestId('adapter-origin').textContent()).toBe('imported');

    // Download as .zip: exactly the two PEFT files, in PEFT's format.
    const zip = await downloadBytes(page, 'adapter-download-zip', row);
    expect(zip.name).toBe('story-adapter.zip');
    const entries = unzipSync(zip.bytes);
    expect(Object.keys(entries).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const config = JSON.parse(new TextDecoder().decode(entries['adapter_config.json'])) as Record<string, unknown>;
    expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, lora_dropout: 0, bias: 'none', base_model_name_or_path: 'stories260K' });
    expect([...(config.target_modules as string[])].sort()).toEqual(['q_proj', 'v_proj']);
    const header = safetensorsHeader(entries['adapter_model.safetensors']);
    expect(header.__metadata__).toEqual({ format: 'pt' });
    const keys = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(keys).toHaveLength(20);
    for (let layer = 0; layer < 5; layer++) {
      for (const [proj, out] of [
        ['q_proj', 64],
        ['v_proj', 32], // Hkv * D = 4 * 8
      ] as const) {
        const key = (which: 'A' | 'B') => `base_model.model.model.layers.${layer}.self_attn.${proj}.lora_${which}.weight`;
        expect(header[key('A')]).toMatchObject({ dtype: 'F32', shape: [4, 64] });
        expect(header[key('B')]).toMatchObject({ dtype: 'F32', shape: [out, 4] });
      }
    }
    expect(entries['adapter_model.safetensors']).toEqual(weightsBytes);

    // Download as two files: the same bytes under PEFT's own file names.
    const configFile = await downloadBytes(page, 'adapter-download-config', row);
    const weightsFile = await downloadBytes(page, 'adapter-download-weights', row);
    expect(configFile.name).toBe('adapter_config.json');
    expect(weightsFile.name).toBe('adapter_model.safetensors');
    expect(configFile.bytes).toEqual(entries['adapter_config.json']);
    expect(weightsFile.bytes).toEqual(weightsBytes);

    // Import the downloaded zip back: its name is proposed from the file.
    await files.setInputFiles({ name: zip.name, mimeType: 'application/zip', buffer: Buffer.from(zip.bytes) });
    expect(await page.getByTestId('adapter-import-name').inputValue()).toBe('story-adapter');
    await page.getByTestId('adapter-import-name').fill('round trip');
    await page.getByTestId('adapter-import-run').click();
    const roundTripRow = page.locator('[data-testid=adapter-row][data-name="round trip"][data-modules="10"]');
    await roundTripRow.waitFor();
    const roundTripId = await roundTripRow.getAttribute('data-id');
    expect(await page.getByTestId('adapter-row').count()).toBe(2);

    // Chat: base and base + adapter, greedy, each as the CPU reference says.
    await goTo(page, 'chat');
    await page.getByTestId('chat-adapter').selectOption(roundTripId!);
    await page.getByTestId('chat-prompt').fill(PROMPT);
    await page.getByTestId('chat-max-new-tokens').fill(String(NEW_TOKENS));
    await page.getByTestId('chat-temperature').fill('0');
    await page.getByTestId('chat-run').click();
    await page.waitForSelector('[data-testid=chat-adapted][data-state=done], [data-testid=chat-error]', { timeout: 180_000 });
    if ((await page.getByTestId('chat-error').count()) > 0) throw new Error(`chat failed: ${await text(page, 'chat-error')}`);
    const base = await page.getByTestId('chat-base-text').textContent();
    const adapted = await page.getByTestId('chat-adapted-text').textContent();
    expect(base).toBe(expected.base);
    expect(adapted).toBe(expected.adapted);
    expect(adapted).not.toBe(base);
    expect(await page.getByTestId('chat-adapted').locator('h3').textContent()).toBe('Base + round trip');

    // Stop during the base answer: it ends there, and the adapted pass is skipped.
    await page.getByTestId('chat-max-new-tokens').fill('400');
    await page.getByTestId('chat-run').click();
    await page.waitForFunction(() => (document.querySelector('[data-testid=chat-base-text]')?.textContent ?? '').length >= 8, null, { timeout: 60_000 });
    await page.getByTestId('chat-stop').click();
    await page.waitForSelector('[data-testid=chat-columns][data-running=false]', { timeout: 60_000 });
    expect(await page.getByTestId('chat-base').getAttribute('data-stop-reason')).toBe('aborted');
    expect(await page.getByTestId('chat-adapted').getAttribute('data-stop-reason')).toBe('aborted');
    expect(await page.getByTestId('chat-adapted-text').textContent()).toBe('');
    expect((await page.getByTestId('chat-base-text').textContent())!.startsWith(expected.base.slice(0, 8))).toBe(true);

    // Rename one, delete the other; both changes survive a reload.
    await goTo(page, 'adapters');
    const story = page.locator('[data-testid=adapter-row][data-name="story adapter"]');
    await story.getByTestId('adapter-rename').click();
    await page.getByTestId('adapter-rename-input').fill('renamed adapter');
    await page.getByTestId('adapter-rename-save').click();
    await page.locator('[data-testid=adapter-row][data-name="renamed adapter"]').waitFor();
    const roundTrip = page.locator('[data-testid=adapter-row][data-name="round trip"]');
    await roundTrip.getByTestId('adapter-delete').click();
    await roundTrip.getByTestId('adapter-delete-confirm').click();
    await page.locator('[data-testid=adapter-list][data-count="1"]').waitFor();

    await page.reload();
    await page.waitForSelector('main[data-page=adapters]');
    await page.locator('[data-testid=adapter-list][data-count="1"]').waitFor();
    expect(await page.getByTestId('adapter-row').getAttribute('data-name')).toBe('renamed adapter');
    // Without a loaded model, import says what to do first.
    await page.getByTestId('adapter-import-no-model').waitFor();
    expect(errors).toEqual([]);
  });
});

describe('the offline demo', () => {
  let browser: TestBrowser;
  let expectedDemo: string;

  beforeAll(async () => {
    const files = await loadModelFiles(new DemoModelSource());
    expectedDemo = await cpuGreedy(files, files.config, mapWeights(files.config, files.weights), 'Setting: a rainy forest.\n', 12);
    browser = await launchChromium({ webgpu: true });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('works with no network and no model folder: loads the labelled demo model, generates, saves the demo dataset', async () => {
    const origin = new URL(studioUrl).origin;
    const external: string[] = [];
    await browser.context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.origin !== origin) external.push(url.href);
      // No network beyond the studio's own files, and no offline model folder either.
      if (url.origin !== origin || url.pathname.startsWith('/__tunelab/')) return route.abort('internetdisconnected');
      return route.continue();
    });
    const { page, errors } = await browser.newPage();
    expect(await openStudioPage(page, studioUrl, 'model')).toBe('ready');
    await page.locator('[data-testid=offline-models][data-status=unavailable]').waitFor();

    await page.getByTestId('weight-format').selectOption('f32');
    await page.getByTestId('demo-load').click();
    await waitForModel(page);
    expect(await page.locator('#summary-heading').textContent()).toBe(DEMO_MODEL_LABEL);
    expect(await text(page, 'demo-next')).toMatch(/Demo: story settings is saved on the Data page/);
    expect(await page.getByTestId('config-layers').textContent()).toBe('2');

    await page.getByTestId('gen-prompt').fill('Setting: a rainy forest.\n');
    await page.getByTestId('gen-max-new-tokens').fill('12');
    await page.getByTestId('gen-temperature').fill('0');
    await page.getByTestId('gen-run').click();
    await page.waitForSelector('[data-testid=gen-status][data-state=done], [data-testid=gen-error]', { timeout: 60_000 });
    if ((await page.getByTestId('gen-error').count()) > 0) throw new Error(`generation failed: ${await text(page, 'gen-error')}`);
    const output = await page.getByTestId('gen-output').textContent();
    expect(output).toBe(expectedDemo);
    expect(output!.length).toBeGreaterThan(0);

    // The demo again does not save a second copy of its dataset.
    await page.getByTestId('demo-load').click();
    await waitForModel(page);
    await goTo(page, 'data');
    const demoRows = page.locator(`[data-testid=dataset-row][data-name="${DEMO_DATASET_NAME}"]`);
    await demoRows.first().waitFor();
    expect(await demoRows.count()).toBe(1);
    expect(await demoRows.getByTestId('dataset-examples').getAttribute('data-value')).toBe('192');
    expect(external).toEqual([]);
    expect(errors).toEqual([]);
  });
});
