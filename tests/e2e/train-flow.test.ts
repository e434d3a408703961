// The studio end to end on a real WebGPU adapter (Chromium on SwiftShader), through the pages a person
// uses: stories260K from the offline folder (Model), the project's sample SFT dataset (Data), 30 LoRA steps
// with an evaluation every 10 whose live charts hold exactly those points (Train, read through
// window.__tunelabCharts), a screenshot kept under test-results/, the adapter saved; after a reload the
// dataset, the run's curves and the adapter are all still there; the adapted model answers differently from
// the base model (Chat); the downloaded PEFT files have the keys, shapes and config PEFT expects, and import
// back (Adapters); DPO from that adapter (the usual recipe) trains its copy against it, frozen, and resumes
// after the saved adapter was deleted. The stored run exports as a TRL project: train.py compiles and carries
// the r and learning rate the page shows, beside the run's data split as the run's was.

import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Locator, Page } from 'playwright-core';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium, type TestBrowser } from './browser';
import { collectSvelteWarnings, openStudioPage, text, waitForView } from './studio-page';

const MODEL = 'stories260K';
const DATASET = 'stories-setting sample';
const RUN = 'flow run';
const ADAPTER = 'flow adapter';
const STEPS = 30;
const EVAL_EVERY = 10;
const BATCH = 4;
const MAX_LENGTH = 64;
/** The Train page's default peak learning rate for a model this small. */
const TINY_LR = 2e-3;
const LINEAR_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const SFT_SAMPLE = resolve(fileURLToPath(import.meta.url), '../../../public/datasets/stories-setting/train.jsonl');
const PREFERENCE_SAMPLE = resolve(fileURLToPath(import.meta.url), '../../../public/datasets/stories-preference/train.jsonl');

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');
const artifacts = join(repoRoot, 'test-results');
const modelDir = join(inject('modelsDir'), MODEL);

interface Chart {
  series: string[];
  data: (number | null)[][];
}

function chart(page: Page, name: string): Promise<Chart | undefined> {
  return page.evaluate((n) => {
    const c = window.__tunelabCharts?.[n];
    return c ? { series: c.series, data: c.data } : undefined;
  }, name);
}

async function goTo(page: Page, name: 'model' | 'data' | 'train' | 'chat' | 'adapters'): Promise<void> {
  await page.getByTestId(`nav-${name}`).click();
  await page.waitForSelector(`main[data-page=${name}]`);
}

async function loadOfflineModel(page: Page): Promise<void> {
  await goTo(page, 'model');
  const entry = page.locator(`[data-testid=offline-model][data-id=${MODEL}]`);
  await entry.waitFor({ timeout: 30_000 });
  await entry.getByRole('button', { name: 'Load' }).click();
  await page.waitForSelector('[data-testid=load-progress][data-status=ready], [data-testid=load-progress][data-status=error]', { timeout: 120_000 });
  if ((await page.getByTestId('load-error').count()) > 0) throw new Error(`the model did not load: ${await text(page, 'load-error')}`);
}

/** Parses a safetensors file's header: tensor name -> dtype and shape. */
function safetensorsHeader(bytes: Buffer): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> {
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  delete header.__metadata__;
  return header;
}

function tensorValues(bytes: Buffer, entry: { data_offsets: [number, number] }): Float32Array {
  const length = Number(bytes.readBigUInt64LE(0));
  const start = 8 + length + entry.data_offsets[0];
  const copy = Uint8Array.from(bytes.subarray(start, 8 + length + entry.data_offsets[1]));
  return new Float32Array(copy.buffer);
}

/** Samples, every 50 ms in the page, the run's status, the loss chart's point count and the ETA line. */
async function watchLiveCharts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: { status: string; points: number; eta: string }[] = [];
    (window as unknown as { __liveSeen: typeof seen }).__liveSeen = seen;
    setInterval(() => {
      const status = document.querySelector('[data-testid=run-progress]')?.getAttribute('data-status') ?? '';
      const points = window.__tunelabCharts?.['train-loss']?.data[0].length ?? 0;
      const eta = document.querySelector('[data-testid=run-eta]')?.textContent?.trim() ?? '';
      const last = seen.at(-1);
      if (!last || last.status !== status || last.points !== points || last.eta !== eta) seen.push({ status, points, eta });
    }, 50);
  });
}

function liveChartsSeen(page: Page): Promise<{ status: string; points: number; eta: string }[]> {
  return page.evaluate(() => (window as unknown as { __liveSeen: { status: string; points: number; eta: string }[] }).__liveSeen);
}

/** Saves the Data page's draft as `name` with `evalFraction` held out; resolves with the dataset's id. */
async function saveDraft(page: Page, name: string, evalFraction: number): Promise<string> {
  await page.getByTestId('dataset-draft').waitFor({ timeout: 30_000 });
  await page.getByTestId('draft-name').fill(name);
  await page.getByTestId('draft-split-fraction').fill(String(evalFraction));
  await page.getByTestId('draft-save').click();
  const row = page.locator(`[data-testid=dataset-row][data-name="${name}"]`);
  await row.waitFor({ timeout: 30_000 });
  return (await row.getAttribute('data-id')) ?? '';
}

/** Starts the filled form's run as `name` and pauses it once past `step`; resolves with its id. */
async function startThenPause(page: Page, name: string, step: number): Promise<string> {
  await page.getByTestId('train-start').click();
  const row = page.locator(`[data-testid=run-row][data-name="${name}"]`);
  await row.waitFor({ timeout: 60_000 });
  const id = (await row.getAttribute('data-id')) ?? '';
  await page.waitForFunction(
    ([runId, s]) => Number(document.querySelector(`[data-testid=run-progress][data-run="${runId}"]`)?.getAttribute('data-step') ?? 0) >= Number(s),
    [id, step] as const,
    { timeout: 120_000, polling: 50 },
  );
  await page.getByTestId('run-pause').click();
  await page.waitForSelector(`[data-testid=run-row][data-id="${id}"][data-status=paused]`, { timeout: 60_000 });
  return id;
}

/** Clicks a download button and keeps the file under `dir` with the name the page gave it. */
async function download(page: Page, button: Locator, dir: string): Promise<string> {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), button.click()]);
  const path = join(dir, file.suggestedFilename());
  await file.saveAs(path);
  return path;
}

describe('train flow: model, data, train with live charts, reload, chat, PEFT download and import', () => {
  let browser: TestBrowser;
  let page: Page;
  let errors: string[];
  let runId = '';
  let adapterId = '';
  /** The charts as they stood when the run completed (compared after the reload). */
  let trained: { loss: Chart; evalLoss: Chart };

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    browser = await launchChromium({ webgpu: true });
    ({ page, errors } = await browser.newPage());
    collectSvelteWarnings(page, errors);
    expect(await openStudioPage(page, inject('studioUrl'), 'model')).toBe('ready');
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('trains 30 steps of the sample dataset with live charts holding every step and evaluation', async () => {
    await loadOfflineModel(page);

    // The project's sample SFT dataset, with a small held-out share so each evaluation stays cheap.
    await goTo(page, 'data');
    await page.getByTestId('load-sample-dataset').click();
    const datasetId = await saveDraft(page, DATASET, 0.01);

    await goTo(page, 'train');
    await page.getByTestId('train-settings').waitFor();
    // Defaults for this tiny model: the larger learning rate, SFT; the preference methods and GRPO offered.
    expect(Number(await page.getByTestId('train-lr').inputValue())).toBe(TINY_LR);
    expect(await page.getByTestId('train-method-sft').isChecked()).toBe(true);
    for (const method of ['dpo', 'simpo', 'orpo', 'grpo']) expect(await page.getByTestId(`train-method-${method}`).isDisabled()).toBe(false);
    await page.getByTestId('train-dataset').selectOption(datasetId);
    const split = page.getByTestId('train-dataset-split');
    expect(Number(await split.getAttribute('data-eval'))).toBe(5);

    await page.getByTestId('train-target-all-linear').check();
    await page.getByTestId('train-duration').selectOption('steps');
    const fields: [string, number][] = [
      ['train-steps', STEPS],
      ['train-batch', BATCH],
      ['train-max-length', MAX_LENGTH],
      ['train-eval-every', EVAL_EVERY],
      ['train-checkpoint-every', EVAL_EVERY],
    ];
    for (const [id, value] of fields) await page.getByTestId(id).fill(String(value));
    await page.getByTestId('train-run-name').fill(RUN);
    expect(Number(await page.getByTestId('train-total-steps').getAttribute('data-steps'))).toBe(STEPS);
    // The memory estimate follows the settings: LoRA on every linear module of the 5 layers at rank 8.
    const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as Record<string, number>;
    const C = config.hidden_size;
    const F = config.intermediate_size;
    const D = C / config.num_attention_heads;
    const kv = config.num_key_value_heads * D;
    // The GPU arena (gpu-lora.ts) starts every A (r, in) and B (out, r) on a 64-element boundary.
    const arena = (inF: number, outF: number) => Math.ceil((8 * inF) / 64) * 64 + Math.ceil((outF * 8) / 64) * 64;
    const perLayer = arena(C, C) + 2 * arena(C, kv) + arena(C, C) + 2 * arena(C, F) + arena(F, C);
    expect(Number(await page.getByTestId('train-memory-lora').getAttribute('data-bytes'))).toBe(config.num_hidden_layers * perLayer * 4);
    expect(await page.getByTestId('train-problem').count()).toBe(0);

    await watchLiveCharts(page);
    await page.getByTestId('train-start').click();
    const row = page.locator(`[data-testid=run-row][data-name="${RUN}"]`);
    await row.waitFor({ timeout: 60_000 });
    runId = (await row.getAttribute('data-id')) ?? '';
    expect(runId).not.toBe('');
    await page.waitForSelector(`[data-testid=run-row][data-id="${runId}"][data-status=completed]`, { timeout: 150_000 });
    // Live: while the run trained, the loss chart grew point by point and the progress bar showed an ETA.
    const seen = await liveChartsSeen(page);
    const whileRunning = seen.filter((v) => v.status === 'running' && v.points > 0 && v.points < STEPS);
    expect(new Set(whileRunning.map((v) => v.points)).size, JSON.stringify(seen)).toBeGreaterThan(STEPS / 3);
    expect(seen.some((v) => v.eta.startsWith('About'))).toBe(true);
    await page.waitForSelector(`[data-testid=run-progress][data-step="${STEPS}"]`);

    const loss = (await chart(page, 'train-loss'))!;
    const evalLoss = (await chart(page, 'eval-loss'))!;
    const lr = (await chart(page, 'learning-rate'))!;
    const gradNorm = (await chart(page, 'grad-norm'))!;
    const speed = (await chart(page, 'tokens-per-s'))!;
    const steps = Array.from({ length: STEPS }, (_, i) => i + 1);
    expect(loss.series).toEqual(['step', 'loss', 'smoothed']);
    for (const c of [loss, lr, gradNorm, speed]) expect(c.data[0]).toEqual(steps);
    // An evaluation before the first step and every 10 steps after.
    expect(evalLoss.data[0]).toEqual([0, 10, 20, 30]);
    const evals = evalLoss.data[1] as number[];
    expect(evals[3], `eval loss ${evals.join(', ')}`).toBeLessThan(evals[0]);
    // The linear schedule from the default peak: step s trained at lr * (1 - (s - 1) / 30).
    (lr.data[1] as number[]).forEach((v, i) => expect(v).toBeCloseTo(TINY_LR * (1 - i / STEPS), 9));
    for (const v of [...(gradNorm.data[1] as number[]), ...(speed.data[1] as number[])]) expect(v).toBeGreaterThan(0);
    // The smoothed curve is the debiased EMA of the raw one at the factor the page shows.
    const factor = Number(await text(page, 'chart-smoothing-value'));
    let ema = 0;
    (loss.data[1] as number[]).forEach((raw, i) => {
      ema = factor * ema + (1 - factor) * raw;
      expect(loss.data[2][i]).toBeCloseTo(ema / (1 - factor ** (i + 1)), 9);
    });
    // Sample generations at each evaluation, newest first.
    const groups = page.getByTestId('eval-sample-group');
    expect(await groups.evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.step)))).toEqual([30, 20, 10, 0]);
    expect(await groups.first().getByTestId('eval-sample').count()).toBeGreaterThan(0);

    await page.screenshot({ path: join(artifacts, 'train-flow-charts.png'), fullPage: true });
    trained = { loss, evalLoss };

    await row.getByTestId('run-save-adapter').click();
    await page.getByTestId('run-adapter-name').fill(ADAPTER);
    await page.getByTestId('run-save-adapter-confirm').click();
    await page.getByTestId('adapter-saved').waitFor({ timeout: 30_000 });
    adapterId = (await page.getByTestId('adapter-saved').getAttribute('data-adapter-id')) ?? '';
    expect(adapterId).not.toBe('');
    expect(errors).toEqual([]);
  });

  it('keeps the dataset, the run with its curves and the adapter across a reload', async () => {
    await page.reload();
    expect(await waitForView(page)).toBe('ready');
    await goTo(page, 'data');
    await page.locator(`[data-testid=dataset-row][data-name="${DATASET}"]`).waitFor({ timeout: 30_000 });

    await goTo(page, 'train');
    const row = page.locator(`[data-testid=run-row][data-id="${runId}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getAttribute('data-status')).toBe('completed');
    expect(await row.getByTestId('run-adapter-saved').count()).toBe(1);
    await row.getByTestId('run-select').click();
    await page.waitForFunction((n) => window.__tunelabCharts?.['train-loss']?.data[0].length === n, STEPS, { timeout: 30_000 });
    expect(await chart(page, 'train-loss')).toEqual(trained.loss);
    expect(await chart(page, 'eval-loss')).toEqual(trained.evalLoss);

    await goTo(page, 'adapters');
    await page.locator(`[data-testid=adapter-row][data-id="${adapterId}"]`).waitFor({ timeout: 30_000 });
    expect(errors).toEqual([]);
  });

  it('exports the run as a TRL project: its data as split, train.py compiling with the r and learning rate the page shows', async () => {
    await goTo(page, 'train');
    await page.locator(`[data-testid=run-row][data-id="${runId}"]`).getByTestId('run-select').click();
    const panel = page.locator(`[data-testid=run-panel][data-run="${runId}"]`);
    await panel.waitFor();
    const lora = (await panel.getByTestId('run-config-lora').textContent()) ?? '';
    const optimizer = (await panel.getByTestId('run-config-optimizer').textContent()) ?? '';
    const shownR = Number(/^r (\d+),/.exec(lora)?.[1]);
    const shownLr = Number(/lr ([^,]+),/.exec(optimizer)?.[1]);
    expect([shownR, shownLr], `${lora} / ${optimizer}`).toEqual([8, TINY_LR]);

    const dir = join(artifacts, 'train-flow-trl');
    await mkdir(dir, { recursive: true });
    const zipPath = await download(page, panel.getByTestId('run-export-trl'), dir);
    expect(basename(zipPath)).toBe('flow-run-trl.zip');
    await panel.locator('[data-testid=run-export-trl-status][data-state=saved]').waitFor();
    const entries = unzipSync(new Uint8Array(await readFile(zipPath)));
    expect(Object.keys(entries).sort()).toEqual(['README.md', 'accelerate_config.yaml', 'data/eval.jsonl', 'data/train.jsonl', 'run.json', 'train.py']);
    for (const [path, bytes] of Object.entries(entries)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), bytes);
    }
    // The data as the run trained on it: the sample's examples, the 5 the Data page held out in eval.jsonl.
    const lines = (path: string) => new TextDecoder().decode(entries[path]).split('\n').filter(Boolean).length;
    const sample = (await readFile(SFT_SAMPLE, 'utf8')).split('\n').filter(Boolean).length;
    expect([lines('data/train.jsonl'), lines('data/eval.jsonl')]).toEqual([sample - 5, 5]);
    const trainPy = new TextDecoder().decode(entries['train.py']);
    expect(trainPy).toMatch(/^\s+r=8,/m);
    expect(Number(/^\s+learning_rate=([^,]+),/m.exec(trainPy)?.[1])).toBe(shownLr);
    expect(new TextDecoder().decode(entries['README.md'])).toContain('accelerate launch');
    const python = spawnSync('python3', ['-m', 'py_compile', join(dir, 'train.py')], { encoding: 'utf8' });
    if (python.error && (python.error as NodeJS.ErrnoException).code === 'ENOENT') {
      console.log(`train.py not compiled: python3 is not installed (${python.error.message})`);
    } else {
      expect(python.status, python.stderr).toBe(0);
    }
    expect(errors).toEqual([]);
  });

  it('answers differently with the adapter than without it', async () => {
    await loadOfflineModel(page);
    await goTo(page, 'chat');
    await page.getByTestId('chat-adapter').selectOption(adapterId);
    await page.getByTestId('chat-prompt').fill('Setting: a rainy forest.\n');
    await page.getByTestId('chat-max-new-tokens').fill('24');
    await page.getByTestId('chat-temperature').fill('0');
    await page.getByTestId('chat-run').click();
    await page.waitForSelector('[data-testid=chat-adapted][data-state=done], [data-testid=chat-error]', { timeout: 120_000 });
    if ((await page.getByTestId('chat-error').count()) > 0) throw new Error(`chat failed: ${await text(page, 'chat-error')}`);
    const base = await text(page, 'chat-base-text');
    const adapted = await text(page, 'chat-adapted-text');
    expect(base.length).toBeGreaterThan(0);
    expect(adapted.length).toBeGreaterThan(0);
    expect(adapted).not.toBe(base);
    expect(errors).toEqual([]);
  });

  it('downloads the adapter in PEFT format and imports it back', async () => {
    await goTo(page, 'adapters');
    const row = page.locator(`[data-testid=adapter-row][data-id="${adapterId}"]`);
    await row.waitFor();
    const dir = join(artifacts, 'train-flow-adapter');
    await mkdir(dir, { recursive: true });
    const cfgFile = await download(page, row.getByTestId('adapter-download-config'), dir);
    const weightsFile = await download(page, row.getByTestId('adapter-download-weights'), dir);
    expect(cfgFile.endsWith('adapter_config.json')).toBe(true);
    expect(weightsFile.endsWith('adapter_model.safetensors')).toBe(true);

    const peft = JSON.parse(await readFile(cfgFile, 'utf8')) as Record<string, unknown>;
    expect(peft).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 8, lora_alpha: 16, lora_dropout: 0, bias: 'none', use_rslora: false, base_model_name_or_path: MODEL });
    expect([...(peft.target_modules as string[])].sort()).toEqual([...LINEAR_MODULES].sort());

    const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as Record<string, number>;
    const C = config.hidden_size;
    const F = config.intermediate_size;
    const D = C / config.num_attention_heads;
    const dims: Record<string, [number, number]> = {
      'self_attn.q_proj': [C, config.num_attention_heads * D],
      'self_attn.k_proj': [C, config.num_key_value_heads * D],
      'self_attn.v_proj': [C, config.num_key_value_heads * D],
      'self_attn.o_proj': [config.num_attention_heads * D, C],
      'mlp.gate_proj': [C, F],
      'mlp.up_proj': [C, F],
      'mlp.down_proj': [F, C],
    };
    const expected: Record<string, number[]> = {};
    for (let layer = 0; layer < config.num_hidden_layers; layer++) {
      for (const [module, [inF, outF]] of Object.entries(dims)) {
        const prefix = `base_model.model.model.layers.${layer}.${module}`;
        expected[`${prefix}.lora_A.weight`] = [8, inF];
        expected[`${prefix}.lora_B.weight`] = [outF, 8];
      }
    }
    const bytes = await readFile(weightsFile);
    const header = safetensorsHeader(bytes);
    expect(Object.fromEntries(Object.entries(header).map(([k, v]) => [k, v.shape]))).toEqual(expected);
    for (const t of Object.values(header)) expect(t.dtype).toBe('F32');
    // Trained: B starts at zero in LoRA, so a non-zero B is what 30 steps left.
    const b = tensorValues(bytes, header['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight']);
    expect(b.some((v) => v !== 0)).toBe(true);

    const modules = Number(await row.getAttribute('data-modules'));
    expect(modules).toBe(config.num_hidden_layers * LINEAR_MODULES.length);
    await page.getByTestId('adapter-import-files').setInputFiles([cfgFile, weightsFile]);
    await page.getByTestId('adapter-import-name').fill('flow adapter (imported)');
    await page.getByTestId('adapter-import-run').click();
    await page.getByTestId('adapter-import-done').waitFor({ timeout: 30_000 });
    const imported = page.locator('[data-testid=adapter-row][data-name="flow adapter (imported)"]');
    await imported.waitFor();
    expect(Number(await imported.getAttribute('data-modules'))).toBe(modules);
    expect(Number(await imported.getAttribute('data-bytes'))).toBe(Number(await row.getAttribute('data-bytes')));
    expect(errors).toEqual([]);
  });
  it('pauses and resumes a second run without a gap or a repeated step, overlays both runs, renames and deletes it', async () => {
    const SECOND = 'second run';
    const SECOND_STEPS = 12;
    await goTo(page, 'train');
    await page.getByTestId('train-settings').waitFor();
    await page.getByTestId('train-duration').selectOption('steps');
    const fields: [string, number][] = [
      ['train-steps', SECOND_STEPS],
      ['train-batch', BATCH],
      ['train-max-length', MAX_LENGTH],
      ['train-eval-every', 6],
      ['train-checkpoint-every', 3],
      ['train-lr', 1e-3],
    ];
    for (const [id, value] of fields) await page.getByTestId(id).fill(String(value));
    await page.getByTestId('train-run-name').fill(SECOND);
    const secondId = await startThenPause(page, SECOND, 2);
    const row = page.locator(`[data-testid=run-row][data-id="${secondId}"]`);
    const pausedAt = Number(await page.getByTestId('run-progress').getAttribute('data-step'));
    expect(pausedAt).toBeLessThan(SECOND_STEPS);
    expect(await text(page, 'run-resume')).toBe(`Resume from step ${pausedAt}`);
    await page.getByTestId('run-resume').click();
    await page.waitForSelector(`[data-testid=run-row][data-id="${secondId}"][data-status=completed]`, { timeout: 120_000 });
    const second = (await chart(page, 'train-loss'))!;
    expect(second.data[0]).toEqual(Array.from({ length: SECOND_STEPS }, (_, i) => i + 1));
    expect((await chart(page, 'eval-loss'))!.data[0]).toEqual([0, 6, 12]);

    // Both runs on one chart: each run's smoothed loss and eval loss, aligned on the union of their steps.
    await page.locator(`[data-testid=run-row][data-id="${runId}"]`).getByTestId('run-compare').check();
    await row.getByTestId('run-compare').check();
    await page.waitForFunction(() => window.__tunelabCharts?.['compare-loss'] !== undefined, null, { timeout: 30_000 });
    const compare = (await chart(page, 'compare-loss'))!;
    expect(compare.series).toEqual(['step', `${RUN}: loss (smoothed)`, `${SECOND}: loss (smoothed)`, `${RUN}: eval loss`, `${SECOND}: eval loss`]);
    expect(compare.data[0]).toEqual(Array.from({ length: STEPS + 1 }, (_, i) => i));
    expect(compare.data[1]).toEqual([null, ...trained.loss.data[2]]);
    expect(compare.data[2]).toEqual([null, ...second.data[2], ...Array<null>(STEPS - SECOND_STEPS).fill(null)]);
    expect(compare.data[3].filter((v) => v !== null)).toEqual(trained.evalLoss.data[1]);
    await page.getByTestId('compare-runs').screenshot({ path: join(artifacts, 'train-flow-compare.png') });

    await row.getByTestId('run-rename').click();
    await page.getByTestId('run-rename-input').fill('second run, renamed');
    await page.getByTestId('run-rename-confirm').click();
    await page.locator(`[data-testid=run-row][data-id="${secondId}"][data-name="second run, renamed"]`).waitFor();
    await page.locator(`[data-testid=run-row][data-id="${secondId}"]`).getByTestId('run-delete').click();
    await page.getByTestId('run-delete-confirm').click();
    await page.locator(`[data-testid=run-row][data-id="${secondId}"]`).waitFor({ state: 'detached' });
    // The comparison needs two runs again; the first run is untouched.
    expect(await page.evaluate(() => window.__tunelabCharts?.['compare-loss'])).toBeUndefined();
    await page.reload();
    expect(await waitForView(page)).toBe('ready');
    await page.locator(`[data-testid=run-row][data-id="${runId}"]`).waitFor({ timeout: 30_000 });
    expect(await page.locator(`[data-testid=run-row][data-id="${secondId}"]`).count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('trains DPO from the saved SFT adapter: its copy against it, frozen, resumed after the saved adapter is deleted', async () => {
    const PAIRS = 'flow pairs';
    const DPO_RUN = 'dpo after sft';
    const DPO_STEPS = 6;
    await loadOfflineModel(page);
    // 24 of the project's preference pairs: the reference scores every one of them before the first step.
    const lines = (await readFile(PREFERENCE_SAMPLE, 'utf8')).split('\n').filter(Boolean).slice(0, 24);
    await goTo(page, 'data');
    await page.getByTestId('dataset-file-input').setInputFiles({ name: 'pairs.jsonl', mimeType: 'application/octet-stream', buffer: Buffer.from(`${lines.join('\n')}\n`) });
    const pairsId = await saveDraft(page, PAIRS, 0.25);

    await goTo(page, 'train');
    await page.getByTestId('train-settings').waitFor();
    await page.getByTestId('train-method-dpo').check();
    // The SFT dataset is listed for DPO, disabled, with the reason; the pairs are chosen instead, and the
    // learning rate, still the SFT default, becomes the preference default (half).
    const sftOption = page.locator('[data-testid=train-dataset] option', { hasText: `${DATASET} (` });
    expect(await sftOption.isDisabled()).toBe(true);
    expect(await sftOption.getAttribute('title')).toMatch(/^The dataset "stories-setting sample" is a prompt-completion .*; DPO needs preference, .* records\. This dataset fits SFT and GRPO\.$/);
    await page.waitForFunction((id) => (document.querySelector('[data-testid=train-dataset]') as HTMLSelectElement | null)?.value === id, pairsId);
    expect(Number(await page.getByTestId('train-lr').inputValue())).toBe(TINY_LR / 2);

    // From the saved SFT adapter: its rank, alpha and targets.
    await page.getByTestId('train-start-adapter').selectOption(adapterId);
    expect(await text(page, 'train-lora-from')).toMatch(new RegExp(`^From “${ADAPTER}”: r 8, alpha 16; targets\\s+${LINEAR_MODULES.join(', ')}\\.$`));
    await page.getByTestId('train-duration').selectOption('steps');
    const fields: [string, number][] = [
      ['train-steps', DPO_STEPS],
      ['train-batch', 2],
      ['train-max-length', MAX_LENGTH],
      ['train-max-prompt-length', 32],
      ['train-eval-every', 3],
      ['train-checkpoint-every', 2],
    ];
    for (const [id, value] of fields) await page.getByTestId(id).fill(String(value));
    await page.getByTestId('train-run-name').fill(DPO_RUN);
    // The reference's memory: its adapter (the trained copy's shape) and its pass in the step; precomputed,
    // the adapter alone.
    const bytes = async (key: string) => Number(await page.getByTestId(`train-memory-${key}`).getAttribute('data-bytes'));
    const lora = await bytes('lora');
    expect(await bytes('reference')).toBeGreaterThan(lora);
    await page.getByTestId('train-precompute-ref').check();
    await page.waitForSelector(`[data-testid=train-memory-reference][data-bytes="${lora}"]`);
    expect(await page.getByTestId('train-problem').count()).toBe(0);

    // The reference pass's progress, sampled every 50 ms while it runs.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __referenceSeen: string[] }).__referenceSeen = seen;
      setInterval(() => {
        const el = document.querySelector('[data-testid=run-reference]');
        const v = el ? `${el.getAttribute('data-done')}/${el.getAttribute('data-total')}` : '';
        if (v && seen.at(-1) !== v) seen.push(v);
      }, 50);
    });
    const dpoId = await startThenPause(page, DPO_RUN, 2);
    const row = page.locator(`[data-testid=run-row][data-id="${dpoId}"]`);
    const referenceSeen = await page.evaluate(() => (window as unknown as { __referenceSeen: string[] }).__referenceSeen);
    expect(referenceSeen.length, JSON.stringify(referenceSeen)).toBeGreaterThan(0);
    expect(referenceSeen.every((v) => /^\d+\/24$/.test(v))).toBe(true);

    // The saved adapter goes; the run keeps its own copy and resumes from its checkpoint to the end.
    await goTo(page, 'adapters');
    const adapterRow = page.locator(`[data-testid=adapter-row][data-id="${adapterId}"]`);
    await adapterRow.getByTestId('adapter-delete').click();
    await adapterRow.getByTestId('adapter-delete-confirm').click();
    await adapterRow.waitFor({ state: 'detached' });
    await goTo(page, 'train');
    await row.getByTestId('run-select').click();
    await page.getByTestId('run-resume').click();
    await page.waitForSelector(`[data-testid=run-row][data-id="${dpoId}"][data-status=completed]`, { timeout: 120_000 });
    const loss = (await chart(page, 'train-loss'))!;
    expect(loss.data[0]).toEqual(Array.from({ length: DPO_STEPS }, (_, i) => i + 1));
    // The policy starts as the reference's copy: step 1 is log 2 with zero margins, though the adapter is trained.
    expect(Math.abs((loss.data[1][0] as number) - Math.LN2), `step 1 loss ${loss.data[1][0]}`).toBeLessThan(5e-7);
    const margins = (await chart(page, 'rewards-margins'))!;
    expect(margins.data[0]).toEqual([0, ...loss.data[0]]);
    expect(margins.data[1][1]).toBe(0);
    expect(await text(page, 'run-config-start')).toBe(`the saved adapter “${ADAPTER}”`);
    expect(await text(page, 'run-config-method')).toBe('DPO, sigmoid loss, beta 0.1, label smoothing 0; reference log-probabilities precomputed; prompts up to 32 tokens');
    expect(await row.getByTestId('run-method').textContent()).toBe('DPO');
    expect(errors).toEqual([]);
  });
});
