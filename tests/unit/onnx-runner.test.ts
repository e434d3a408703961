// The ONNX runner's model side without the browser: the exported folder as Blobs (what the studio worker hands
// over), read by readExportedFolder, a session made by onnxruntime-web's wasm backend in Node (the runner's own
// session choice needs a browser), and the engine's generate() over OrtCausalLm, against the float64 CPU
// reference with the adapter merged. Covers the inline fp32 file, external data in several chunks (the
// layout above 2 GB, forced here with small limits) and fp16 with its float16 KV cache.

import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { onnxExportFiles, onnxFileName } from '../../src/engine/export/onnx/onnx-export';
import type { OnnxPrecision } from '../../src/engine/export/onnx/decoder-graph';
import { mergeAdapter } from '../../src/engine/lora/merge-weights';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { generate, promptIds } from '../../src/engine/model/generate';
import { resolveGenerateOptions } from '../../src/engine/model/generation-options';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { readExportedFolder } from '../../src/onnx-runner/exported-folder';
import { checkDecoderSession, OrtCausalLm } from '../../src/onnx-runner/ort-causal-lm';
import { exportFilesAsBlobs } from '../../src/worker/export-zip';
import { worstRowsError } from '../helpers/assert';
import { ALL_LINEAR, randomLoraAdapter } from '../helpers/lora-fixtures';
import { loadModel, STORIES260K_DIR, type LoadedModel } from '../helpers/tiny-models';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const PROMPT = 'Once upon a time';
const NEW_TOKENS = 20;

async function exportedFolder(model: LoadedModel, precision: OnnxPrecision, limits: { inlineLimitBytes?: number; externalChunkBytes?: number } = {}) {
  const adapter = randomLoraAdapter('llama', model.weights, { ...ALL_LINEAR, r: 4 }, 5, 0.2);
  const files = onnxExportFiles(model.files, model.weights, adapter, { precision, producerVersion: 'test', card: { baseModel: 'stories260K' }, ...limits });
  const modelPath = `onnx/${onnxFileName(precision)}`;
  const folder = await readExportedFolder(await exportFilesAsBlobs(files), modelPath);
  const session = await ort.InferenceSession.create(folder.model, { externalData: folder.externalData, executionProviders: ['wasm'], logSeverityLevel: 3 });
  return { adapter, folder, modelPath, session };
}

/** Greedy answers of the export (through OrtCausalLm) and of the CPU reference, as the runner makes them. */
async function answers(model: LoadedModel, built: Awaited<ReturnType<typeof exportedFolder>>) {
  const { folder, session, modelPath, adapter } = built;
  const cacheType = checkDecoderSession(session, folder.config, modelPath);
  const tokenizer = new ModelTokenizer({ ...folder, source: 'export' });
  const options = resolveGenerateOptions(folder, { maxNewTokens: NEW_TOKENS, temperature: 0, topK: 50, topP: 1, seed: 0 }, (t) => tokenizer.tokenId(t));
  const prompt = promptIds(tokenizer, folder.config, PROMPT);
  const onnxModel = new OrtCausalLm(ort, session, folder.config, cacheType);
  const [onnx] = await generate(onnxModel, [prompt], options, { tokenizer });
  const reference = new CpuCausalLm(model.config, mergeAdapter(model.weights, adapter));
  const [cpu] = await generate(reference, [prompt], options, { tokenizer });
  // Every position's logits, prompt then answer, from both (the export's through its KV cache in two extends).
  const ids = [...prompt, ...cpu.tokens];
  const split = prompt.length + 3;
  const seqO = onnxModel.createSequence(ids.length);
  const flat = [...(await onnxModel.extend([{ sequence: seqO, tokens: ids.slice(0, split) }], 'all')), ...(await onnxModel.extend([{ sequence: seqO, tokens: ids.slice(split) }], 'all'))];
  onnxModel.releaseSequence(seqO);
  const seqC = reference.createSequence(ids.length);
  const [flatC] = await reference.extend([{ sequence: seqC, tokens: ids }], 'all');
  const V = model.config.vocabSize;
  const rows = (chunks: Float32Array[]) => chunks.flatMap((c) => Array.from({ length: c.length / V }, (_, t) => c.slice(t * V, (t + 1) * V)));
  const [base] = await generate(new CpuCausalLm(model.config, model.weights), [prompt], options, { tokenizer });
  return { cacheType, onnx, cpu, base, error: worstRowsError(rows(flat), rows([flatC])) };
}

describe('the ONNX runner model side (onnxruntime-web wasm in Node)', () => {
  it('fp32, inline: greedy text and tokens equal the CPU reference with the adapter merged', async () => {
    const model = await loadModel(STORIES260K_DIR);
    const built = await exportedFolder(model, 'fp32');
    expect(built.folder.externalData).toEqual([]);
    const { cacheType, onnx, cpu, base, error } = await answers(model, built);
    console.log(`fp32: ${JSON.stringify(onnx.text)} (base: ${JSON.stringify(base.text)}); worst row error ${error.toExponential(2)}`);
    expect(cacheType).toBe('float32');
    // The adapter changes the answer, so equal texts say the export carries it.
    expect(onnx.text).not.toBe(base.text);
    expect(onnx.tokens).toEqual(cpu.tokens);
    expect(onnx.text).toBe(cpu.text);
    expect(onnx.tokens.length).toBe(NEW_TOKENS);
    expect(error).toBeLessThan(1e-4);
    await built.session.release();
  });

  it('fp32 with its weights in three external data chunks: read by their names and passed to the session', async () => {
    const model = await loadModel(STORIES260K_DIR);
    const built = await exportedFolder(model, 'fp32', { inlineLimitBytes: 1, externalChunkBytes: 400_000 });
    expect(built.folder.externalData.map((d) => d.path)).toEqual(['model.onnx_data', 'model.onnx_data_1', 'model.onnx_data_2']);
    const { onnx, cpu, error } = await answers(model, built);
    expect(onnx.tokens).toEqual(cpu.tokens);
    expect(error).toBeLessThan(1e-4);
    await built.session.release();
  });

  it('fp16: a float16 KV cache, logits within f16 rounding of the reference', async () => {
    const model = await loadModel(STORIES260K_DIR);
    const built = await exportedFolder(model, 'fp16');
    const { cacheType, onnx, cpu, error } = await answers(model, built);
    const equal = onnx.tokens.findIndex((t, i) => t !== cpu.tokens[i]);
    console.log(`fp16: worst row error ${error.toExponential(2)}; tokens equal to the reference: ${equal < 0 ? 'all' : equal} of ${NEW_TOKENS}`);
    expect(cacheType).toBe('float16');
    expect(onnx.tokens.length).toBe(NEW_TOKENS);
    // f16 weights and cache against float64: about 3e-3 of the largest |logit| measured (2.9e-3).
    expect(error).toBeLessThan(1e-2);
    expect(error).toBeGreaterThan(0);
    await built.session.release();
  });

  it('a folder without the model file or config.json is refused by name', async () => {
    await expect(readExportedFolder({ 'config.json': new Blob(['{}']) }, 'onnx/model.onnx')).rejects.toThrow(/config\.json/);
    const model = await loadModel(STORIES260K_DIR);
    const files = await exportFilesAsBlobs(onnxExportFiles(model.files, model.weights, undefined, { precision: 'fp32', producerVersion: 'test', card: { baseModel: 'x' } }));
    await expect(readExportedFolder(files, 'onnx/model_fp16.onnx')).rejects.toThrow(/onnx\/model_fp16\.onnx.*missing/);
  });
});
