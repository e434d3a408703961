// "Run the export" on the Adapters page, in Chromium on SwiftShader: stories260K loaded with f32 weights (so the
// engine's greedy text is exact), a PEFT adapter made here with a non-zero B imported through the page, then the
// export run in onnxruntime-web (WebGPU where the runner's session starts on it, wasm otherwise) beside the
// engine's base and base + adapter. The export's greedy text must equal base + adapter's, the CPU reference's
// for the merged weights, and differ from the base's; onnxruntime's .wasm must come from the studio's own origin.

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { initAdapter, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import { mergeAdapter } from '../../src/engine/lora/merge-weights';
import { adapterConfigJson, adapterWeightsBytes } from '../../src/engine/lora/peft-files';
import type { ModelConfig } from '../../src/engine/model/config';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { generate, promptIds } from '../../src/engine/model/generate';
import { resolveGenerateOptions } from '../../src/engine/model/generation-options';
import type { ModelFiles } from '../../src/engine/model/model-files';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import type { ModelWeights } from '../../src/engine/model/weights';
import { Rng } from '../../src/engine/util/rng';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';
import { launchChromium, type TestBrowser } from './browser';
import { collectSvelteWarnings, openStudioPage, text } from './studio-page';

const studioUrl = inject('studioUrl');
const PROMPT = 'Once upon a time';
const NEW_TOKENS = 24;

/** PEFT's initialisation with B drawn non-zero, so the adapter changes what the model says. */
function testAdapter(weights: ModelWeights): LoraAdapter {
  const adapter = initAdapter(planAdapter('llama', weights, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false }), new Rng(21));
  const rng = new Rng(22);
  for (const m of adapter.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = rng.uniform(-0.2, 0.2);
  return adapter;
}

/** The CPU reference's greedy answer with the panel's settings (text and token count). */
async function cpuGreedy(files: ModelFiles, config: ModelConfig, weights: ModelWeights, prompt: string): Promise<{ text: string; tokens: number }> {
  const tokenizer = new ModelTokenizer(files);
  const options = resolveGenerateOptions(files, { maxNewTokens: NEW_TOKENS, temperature: 0, topK: 50, topP: 1, seed: 0 }, (t) => tokenizer.tokenId(t));
  const [result] = await generate(new CpuCausalLm(config, weights), [promptIds(tokenizer, config, prompt)], options, { tokenizer });
  return { text: result.text ?? '', tokens: result.tokens.length };
}

async function waitForAnswers(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid=run-export-verdict], [data-testid=run-export-error]', { timeout: 240_000 });
  if ((await page.getByTestId('run-export-error').count()) > 0) throw new Error(`run the export failed: ${await text(page, 'run-export-error')}`);
}

describe('Run the export (Adapters page) with stories260K', () => {
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];
  let configJson: Record<string, unknown>;
  let weightsBytes: Uint8Array;
  let expected: { base: { text: string; tokens: number }; adapted: { text: string; tokens: number }; adaptedFromBos: { text: string; tokens: number } };
  const requests: string[] = [];

  beforeAll(async () => {
    const stories = await loadModel(STORIES260K_DIR);
    const adapter = testAdapter(stories.weights);
    configJson = adapterConfigJson(adapter, 'stories260K');
    weightsBytes = adapterWeightsBytes(adapter);
    const merged = mergeAdapter(stories.weights, adapter);
    expected = {
      base: await cpuGreedy(stories.files, stories.config, stories.weights, PROMPT),
      adapted: await cpuGreedy(stories.files, stories.config, merged, PROMPT),
      adaptedFromBos: await cpuGreedy(stories.files, stories.config, merged, ''),
    };
    // The adapter must change the answer, or the comparison below would prove nothing.
    expect(expected.adapted.text).not.toBe(expected.base.text);
    browser = await launchChromium({ webgpu: true });
    browser.context.on('request', (r) => requests.push(r.url()));
    ({ page, errors } = await browser.newPage());
    collectSvelteWarnings(page, errors);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('exports base + adapter to ONNX, runs it in onnxruntime-web and answers as the engine and the CPU reference do', async () => {
    expect(await openStudioPage(page, studioUrl, 'model')).toBe('ready');
    await page.getByTestId('weight-format').selectOption('f32');
    await page.locator('[data-testid=offline-model][data-id=stories260K] button').click();
    await page.waitForSelector('[data-testid=load-progress][data-status=ready], [data-testid=load-progress][data-status=error]', { timeout: 120_000 });
    await page.getByTestId('model-summary').waitFor();

    await page.getByTestId('nav-adapters').click();
    await page.waitForSelector('main[data-page=adapters]');
    await page.getByTestId('adapter-import-files').setInputFiles([
      { name: 'adapter_config.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(configJson)) },
      { name: 'adapter_model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(weightsBytes) },
    ]);
    await page.getByTestId('adapter-import-name').fill('story adapter');
    await page.getByTestId('adapter-import-run').click();
    const row = page.locator('[data-testid=adapter-row][data-name="story adapter"]');
    await row.waitFor();

    await row.getByTestId('run-export-open').click();
    const panel = row.getByTestId('run-export');
    await panel.waitFor();
    await page.waitForFunction(() => !(document.querySelector('[data-testid=run-export-support]')?.textContent ?? '').includes('Checking'));
    const support = await text(page, 'run-export-support');
    // fp16 is offered only where it can run: a WebGPU adapter with shader-f16, or wasm.
    const f16Offered = (await panel.locator('[data-testid=run-export-dtype] option[value=f16]').count()) === 1;
    expect(f16Offered).toBe(!support.includes('no shader-f16'));
    expect(await panel.getByTestId('run-export-dtype').inputValue()).toBe('f32');
    expect(await panel.getByTestId('run-export-temperature').inputValue()).toBe('0');

    await panel.getByTestId('run-export-prompt').fill(PROMPT);
    await panel.getByTestId('run-export-max-new-tokens').fill(String(NEW_TOKENS));
    const started = performance.now();
    await panel.getByTestId('run-export-run').click();
    await waitForAnswers(page);
    const seconds = (performance.now() - started) / 1000;

    const ep = await page.getByTestId('run-export-ep').getAttribute('data-ep');
    const fallback = (await page.getByTestId('run-export-fallback').count()) > 0 ? await text(page, 'run-export-fallback') : '';
    console.log(`run the export: onnxruntime-web ran on ${ep} (${support}${fallback ? ` ${fallback}` : ''}); export, load and answers took ${seconds.toFixed(1)} s`);
    expect(['webgpu', 'wasm']).toContain(ep);
    expect(await text(page, 'run-export-ep')).toContain(ep === 'webgpu' ? 'Execution provider: WebGPU' : 'Execution provider: wasm (CPU)');

    const base = await page.getByTestId('run-export-base-text').textContent();
    const adapted = await page.getByTestId('run-export-adapted-text').textContent();
    const onnx = await page.getByTestId('run-export-onnx-text').textContent();
    console.log(`engine base:     ${JSON.stringify(base)}\nengine adapted:  ${JSON.stringify(adapted)}\nonnx export:     ${JSON.stringify(onnx)}`);
    expect(onnx).toBe(adapted);
    expect(onnx).toBe(expected.adapted.text);
    expect(base).toBe(expected.base.text);
    expect(onnx).not.toBe(base);
    const verdict = page.getByTestId('run-export-verdict');
    expect(await verdict.getAttribute('data-same')).toBe('true');
    const n = expected.adapted.tokens;
    const verdictText = await text(page, 'run-export-verdict');
    console.log(`verdict: ${verdictText}`);
    expect(verdictText).toBe(`The export answers the same: ${n} of ${n} tokens equal.`);

    // The session stays loaded: a second prompt answers without exporting again (from BOS alone).
    expect(await text(page, 'run-export-run')).toBe('Answer');
    await panel.getByTestId('run-export-prompt').fill('');
    await panel.getByTestId('run-export-run').click();
    // A new run clears the last verdict before anything else.
    await page.waitForFunction(() => !document.querySelector('[data-testid=run-export-verdict]'));
    await waitForAnswers(page);
    expect(await page.getByTestId('run-export-progress').count()).toBe(0);
    expect(await page.getByTestId('run-export-onnx-text').textContent()).toBe(expected.adaptedFromBos.text);
    expect(await page.getByTestId('run-export-adapted-text').textContent()).toBe(expected.adaptedFromBos.text);
    expect(await page.getByTestId('run-export-verdict').getAttribute('data-same')).toBe('true');

    // The snippet loads the folder with transformers.js at the precision run here.
    const snippet = await text(page, 'run-export-snippet');
    expect(snippet).toContain(`pipeline('text-generation', 'my-export', {`);
    expect(snippet).toContain(`dtype: 'fp32'`);
    expect(snippet).toContain(`device: '${ep}'`);

    // onnxruntime's .wasm came from the studio's own origin, and nothing went elsewhere.
    const origin = new URL(studioUrl).origin;
    const wasm = requests.filter((u) => u.endsWith('.wasm'));
    expect(wasm.length).toBeGreaterThanOrEqual(1);
    expect(wasm.every((u) => new URL(u).origin === origin && /\/assets\/ort-wasm-simd-threaded\.asyncify-[\w-]+\.wasm$/.test(u))).toBe(true);
    expect(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'))).toEqual([]);

    // Closing the panel ends the runner; the row offers the button again.
    await panel.getByTestId('run-export-close').click();
    await row.getByTestId('run-export-open').waitFor();
    expect(await row.getByTestId('run-export').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
