// The ONNX export run by onnxruntime-node: stories260K and tiny Llama-GQA, Qwen2 and GPT-2 models with a LoRA
// adapter merged, over a prompt and then decode steps through the exported KV cache, against the engine's
// float64 CPU reference with the same adapter: logits within 1e-4 of each row's largest |logit| (fp32) and the
// same greedy tokens.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onnxExportFiles, onnxFileName } from '../../src/engine/export/onnx/onnx-export';
import type { OnnxPrecision } from '../../src/engine/export/onnx/decoder-graph';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { generate } from '../../src/engine/model/generate';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { mergeAdapter } from '../../src/engine/lora/merge-weights';
import type { LoraAdapter } from '../../src/engine/lora/adapter';
import { writeExportFiles } from '../../src/node/write-export';
import { randomLoraAdapter, ALL_LINEAR } from '../helpers/lora-fixtures';
import { worstRowsError } from '../helpers/assert';
import { openSession, runDecode, runPaddedBatch } from '../helpers/onnx-run';
import { loadModel, makeTempDir, removeTempDir, STORIES260K_DIR, writeTinyModel, type LoadedModel, type TinyKind } from '../helpers/tiny-models';

const PROMPT = [1, 403, 261, 378, 43, 300];
const STEPS = 6;


/** The CPU reference's logits for prompt + tokens, one row per position. */
async function referenceLogits(model: LoadedModel, adapter: LoraAdapter | undefined, ids: number[]): Promise<Float32Array[]> {
  const cpu = new CpuCausalLm(model.config, adapter ? mergeAdapter(model.weights, adapter) : model.weights);
  const sequence = cpu.createSequence(ids.length);
  const [flat] = await cpu.extend([{ sequence, tokens: ids }], 'all');
  const V = model.config.vocabSize;
  return Array.from({ length: ids.length }, (_, t) => flat.slice(t * V, (t + 1) * V));
}

async function exportTo(dir: string, model: LoadedModel, adapter: LoraAdapter | undefined, precision: OnnxPrecision, inlineLimitBytes?: number) {
  const files = onnxExportFiles(model.files, model.weights, adapter, {
    precision,
    producerVersion: 'test',
    card: { baseModel: 'tiny' },
    inlineLimitBytes,
  });
  await writeExportFiles(dir, files);
  return files;
}

let root: string;
beforeAll(async () => {
  root = await makeTempDir('tunelab-onnx-');
});
afterAll(async () => removeTempDir(root));

const cases: { name: string; kind?: TinyKind }[] = [{ name: 'stories260K' }, { name: 'llama', kind: 'llama' }, { name: 'qwen2', kind: 'qwen2' }, { name: 'gpt2', kind: 'gpt2' }];

describe('ONNX export run by onnxruntime-node', () => {
  for (const { name, kind } of cases) {
    it(`${name}: prompt then decode steps match the CPU reference (fp32, adapter merged)`, async () => {
      const dir = join(root, name);
      const source = kind ? (await writeTinyModel(join(root, `${name}-base`), kind)).dir : STORIES260K_DIR;
      const model = await loadModel(source);
      const adapter = randomLoraAdapter(model.config.architecture, model.weights, { ...ALL_LINEAR, r: 4 }, 7, 0.05);
      await exportTo(dir, model, adapter, 'fp32');
      const session = await openSession(join(dir, 'onnx', onnxFileName('fp32')));
      const run = await runDecode(session, model.config, PROMPT, STEPS);
      // The decode feeds STEPS tokens after the prompt; the reference scores the same sequence.
      const reference = await referenceLogits(model, adapter, [...PROMPT, ...run.tokens]);
      const error = worstRowsError(run.logits, reference);
      console.log(`${name}: ONNX fp32 vs CPU reference, worst row error ${error.toExponential(2)} over ${reference.length} positions`);
      expect(error).toBeLessThan(1e-4);
      // Greedy: every token ONNX picked is the reference's argmax at that position.
      const refGreedy = reference.slice(PROMPT.length - 1, PROMPT.length - 1 + STEPS).map((row) => row.indexOf(Math.max(...row)));
      expect(run.tokens).toEqual(refGreedy);

      // A left-padded batch: the padded row's logits equal its unpadded run (the mask and position_ids work).
      const rows = await runPaddedBatch(session, model.config, [PROMPT, PROMPT.slice(0, 3)], 0);
      expect(worstRowsError(rows[0], reference.slice(0, PROMPT.length))).toBeLessThan(1e-4);
      expect(worstRowsError(rows[1], reference.slice(0, 3))).toBeLessThan(1e-4);
      await session.release();
    });
  }
});

describe('ONNX export options', () => {
  let model: LoadedModel;
  let adapter: LoraAdapter;
  let reference: Float32Array[];
  const continuation = [300, 261, 403, 43, 378];
  beforeAll(async () => {
    model = await loadModel((await writeTinyModel(join(root, 'options-base'), 'llama')).dir);
    adapter = randomLoraAdapter(model.config.architecture, model.weights, { ...ALL_LINEAR, r: 4 }, 9, 0.05);
    reference = await referenceLogits(model, adapter, [...PROMPT, ...continuation]);
  });

  it('fp16: f16 weights and cache stay within the engine\'s f16 tolerance (2e-3 of the row max)', async () => {
    const dir = join(root, 'fp16');
    await exportTo(dir, model, adapter, 'fp16');
    const session = await openSession(join(dir, 'onnx', 'model_fp16.onnx'));
    expect(session.inputMetadata.find((m) => m.name === 'past_key_values.0.key')).toMatchObject({ type: 'float16' });
    const run = await runDecode(session, model.config, PROMPT, continuation.length, { fp16Cache: true, forced: continuation });
    const error = worstRowsError(run.logits, reference);
    console.log(`llama: ONNX fp16 vs CPU reference (f32 weights), worst row error ${error.toExponential(2)}`);
    expect(error).toBeLessThan(2e-3);
    expect(error).toBeGreaterThan(1e-6); // the weights really are f16
    await session.release();
  });

  it('external data: weights in chunked model.onnx_data files load and give the inline model\'s logits', async () => {
    const dir = join(root, 'external');
    const files = await exportTo(dir, model, adapter, 'fp32', 1000);
    const names = files.map((f) => f.path);
    expect(names).toContain('onnx/model.onnx_data');
    const config = JSON.parse(new TextDecoder().decode(await readFile(join(dir, 'config.json'))));
    expect(config['transformers.js_config']).toEqual({ dtype: 'fp32', use_external_data_format: { 'model.onnx': 1 } });
    const onnxBytes = files.find((f) => f.path === 'onnx/model.onnx')!.size;
    const dataBytes = files.find((f) => f.path === 'onnx/model.onnx_data')!.size;
    expect(onnxBytes).toBeLessThan(dataBytes / 4); // the weights left the protobuf
    const session = await openSession(join(dir, 'onnx', 'model.onnx'));
    const run = await runDecode(session, model.config, PROMPT, continuation.length, { forced: continuation });
    expect(worstRowsError(run.logits, reference)).toBeLessThan(1e-4);
    await session.release();
  });

  it('external data splits into model.onnx_data, model.onnx_data_1, ... under the chunk size', async () => {
    const files = onnxExportFiles(model.files, model.weights, adapter, {
      precision: 'fp32',
      producerVersion: 'test',
      card: { baseModel: 'tiny' },
      inlineLimitBytes: 1000,
      externalChunkBytes: 40_000,
    });
    const chunks = files.filter((f) => f.path.startsWith('onnx/model.onnx_data'));
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.map((f) => f.path)).toEqual(chunks.map((_, i) => `onnx/model.onnx_data${i === 0 ? '' : `_${i}`}`));
    const dir = join(root, 'chunked');
    await writeExportFiles(dir, files);
    const session = await openSession(join(dir, 'onnx', 'model.onnx'));
    const run = await runDecode(session, model.config, PROMPT, continuation.length, { forced: continuation });
    expect(worstRowsError(run.logits, reference)).toBeLessThan(1e-4);
    await session.release();
  });
});

describe('transformers.js loads the ONNX export', () => {
  it('text-generation pipeline from the folder on disk (no network) gives the engine\'s greedy text', async () => {
    const { env, pipeline } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.localModelPath = root;
    const model = await loadModel(STORIES260K_DIR);
    const adapter = randomLoraAdapter(model.config.architecture, model.weights, { ...ALL_LINEAR, r: 4 }, 11, 0.05);
    await exportTo(join(root, 'tjs-stories'), model, adapter, 'fp32');

    const tokenizer = new ModelTokenizer(model.files);
    const prompt = 'Once upon a time, there was a little';
    const cpu = new CpuCausalLm(model.config, mergeAdapter(model.weights, adapter));
    const [ours] = await generate(cpu, [tokenizer.encode(prompt)], { maxNewTokens: 24, doSample: false }, { tokenizer });

    const generator = await pipeline('text-generation', 'tjs-stories', { dtype: 'fp32', device: 'cpu' });
    const output = (await generator(prompt, { max_new_tokens: 24, do_sample: false, return_full_text: false })) as { generated_text: string }[];
    console.log(`transformers.js: ${JSON.stringify(output[0].generated_text)}\nengine:          ${JSON.stringify(ours.text)}`);
    expect(ours.tokens.length).toBeGreaterThan(8);
    expect(output[0].generated_text).toBe(ours.text);
    await generator.dispose();
  });
});

describe("onnxruntime's own graph checks", () => {
  it('loads every export above at verbose logging with no warning or error (no unknown ops, types resolved)', () => {
    const models = [...cases.map((c) => join(root, c.name, 'onnx', 'model.onnx')), join(root, 'fp16', 'onnx', 'model_fp16.onnx'), join(root, 'external', 'onnx', 'model.onnx')];
    const script =
      "import * as ort from 'onnxruntime-node';" +
      "const s = await ort.InferenceSession.create(process.argv[1], { logSeverityLevel: 0, logVerbosityLevel: 0, graphOptimizationLevel: 'all' });" +
      "console.log('SESSION ' + s.inputNames.length + ' ' + s.outputNames.length);";
    for (const path of models) {
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script, path], { cwd: process.cwd(), encoding: 'utf8' });
      const log = `${run.stdout}\n${run.stderr}`;
      expect(run.status, log.slice(-2000)).toBe(0);
      expect(log).toMatch(/\[I:onnxruntime/); // the verbose log was on
      expect(log).toMatch(/SESSION \d+ \d+/);
      expect(log.split('\n').filter((l) => /\[[WEF]:onnxruntime/.test(l))).toEqual([]);
    }
  });
});
