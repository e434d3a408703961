// The built-in demo: merge learning, the generated tokenizer read by @huggingface/tokenizers, the random
// model's files loaded through the product's loader, and the generated sample dataset.

import { describe, expect, it } from 'vitest';
import { tokenizeSftDataset } from '../../src/engine/data/tokenize-sft';
import { byteSymbols, learnByteLevelMerges } from '../../src/engine/demo/byte-level-merges';
import { DEMO_DATASET_FILE, demoSftDataset } from '../../src/engine/demo/demo-dataset';
import { DEMO_MODEL_LABEL, DEMO_SEED, demoConfigJson, demoModelFiles } from '../../src/engine/demo/demo-model';
import { DemoModelSource } from '../../src/engine/demo/demo-source';
import { demoStories } from '../../src/engine/demo/demo-stories';
import { demoTokenizerFiles } from '../../src/engine/demo/demo-tokenizer';
import { parseModelConfig } from '../../src/engine/model/config';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { generate, promptIds } from '../../src/engine/model/generate';
import { loadModelFiles } from '../../src/engine/model/model-files';
import { readSafetensors } from '../../src/engine/model/safetensors';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { countParameters, mapWeights } from '../../src/engine/model/weights';
import { initAdapter, planAdapter } from '../../src/engine/lora/adapter';
import { CpuBackend } from '../../src/engine/train/cpu/cpu-backend';
import { buildCpuTrainModel } from '../../src/engine/train/cpu/cpu-train-model';
import { SftObjective } from '../../src/engine/train/objectives/sft-objective';
import { runTraining, type EvalMetrics } from '../../src/engine/train/train-loop';
import { Rng } from '../../src/engine/util/rng';

describe('learnByteLevelMerges', () => {
  it('spells bytes with GPT-2 symbols: 256 distinct, space as Ġ, newline as Ċ, letters as themselves', () => {
    const s = byteSymbols();
    expect(new Set(s).size).toBe(256);
    expect(s[0x20]).toBe('Ġ');
    expect(s[0x0a]).toBe('Ċ');
    expect(s[0x61]).toBe('a');
  });

  it('merges the most frequent pair first and counts words by frequency', () => {
    // Words: "ab" x3, " ab" x2 -> "Ġab", "c" x1. Pair (a, b) occurs 5 times, then (Ġ, ab) twice.
    const { vocab, merges } = learnByteLevelMerges(['ab ab ab', 'c ab'], 10);
    expect(merges).toEqual([
      ['a', 'b'],
      ['Ġ', 'ab'],
    ]);
    expect(vocab.ab).toBe(256);
    expect(vocab['Ġab']).toBe(257);
    expect(Object.keys(vocab)).toHaveLength(258);
  });

  it('stops at maxMerges and never merges a pair seen only once', () => {
    expect(learnByteLevelMerges(['ab ab ab', 'c ab'], 1).merges).toEqual([['a', 'b']]);
    expect(learnByteLevelMerges(['xyz'], 10).merges).toEqual([]);
    expect(() => learnByteLevelMerges(['a'], -1)).toThrow(/maxMerges/);
  });
});

describe('the demo tokenizer', () => {
  const files = demoTokenizerFiles();
  const tok = new ModelTokenizer({
    tokenizer: files.tokenizer,
    tokenizerConfig: files.tokenizerConfig,
    config: parseModelConfig(demoConfigJson(files.vocabSize, files.bosTokenId, files.eosTokenId)),
  });

  it('has 256 bytes + learned merges + BOS and EOS, with ids matching the vocabulary', () => {
    const merges = (files.tokenizer.model as { merges: string[] }).merges;
    expect(merges.length).toBeGreaterThan(200);
    expect(files.vocabSize).toBe(256 + merges.length + 2);
    expect(tok.tokenId('<s>')).toBe(files.bosTokenId);
    expect(tok.tokenId('</s>')).toBe(files.eosTokenId);
    expect(tok.bosTokenId).toBe(files.bosTokenId);
  });

  it('round-trips any text exactly, including characters the stories never use', () => {
    for (const text of ['Once upon a time, in a rainy forest, there was a tiny mouse.', 'Café ☕ 日本語\n\ttabs  and  spaces', '']) {
      const ids = tok.encode(text, { addSpecialTokens: false });
      expect(ids.every((id) => id >= 0 && id < files.vocabSize)).toBe(true);
      expect(tok.decode(ids)).toBe(text);
    }
  });

  it('starts every text with BOS and spells the demo words with few tokens', () => {
    const story = demoStories()[0];
    const ids = tok.encode(story.prompt + story.completion);
    expect(ids[0]).toBe(files.bosTokenId);
    expect(ids.filter((id) => id === files.bosTokenId)).toHaveLength(1);
    const bytes = new TextEncoder().encode(story.prompt + story.completion).length;
    // The merges were learned on this text: well under half a token per byte.
    expect(ids.length).toBeLessThan(bytes / 3);
    expect(tok.encode(' forest', { addSpecialTokens: false })).toHaveLength(1);
  });
});

describe('the demo model', () => {
  it('is deterministic: the same seed gives the same bytes, another seed other weights', () => {
    const a = demoModelFiles();
    const b = demoModelFiles();
    const c = demoModelFiles(DEMO_SEED + 1);
    expect([...a.keys()].sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(a.get('model.safetensors')).toEqual(b.get('model.safetensors'));
    expect(c.get('model.safetensors')).not.toEqual(a.get('model.safetensors'));
  });

  it('loads through the product loader as a tiny Llama whose vocabulary is the tokenizer’s', async () => {
    const files = await loadModelFiles(new DemoModelSource());
    expect(files.source).toBe(DEMO_MODEL_LABEL);
    const c = files.config;
    expect([c.architecture, c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim]).toEqual(['llama', 64, 2, 4, 2, 16]);
    const tok = new ModelTokenizer(files);
    expect(c.vocabSize).toBe(demoTokenizerFiles().vocabSize);
    expect(c.bosTokenId).toBe(tok.tokenId('<s>'));
    expect(c.eosTokenIds).toEqual([tok.tokenId('</s>')]);

    const weights = mapWeights(c, files.weights);
    expect(weights.tied).toBe(false);
    const params = countParameters(weights);
    expect(params).toBe(2 * c.vocabSize * 64 + 2 * (64 * 64 * 2 + 32 * 64 * 2 + 3 * 176 * 64 + 2 * 64) + 64);
    // Random init N(0, 0.02^2) for the layers' matrices, N(0, 1/C) for the LM head, ones for norms.
    const stats = (values: Float32Array) => {
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      return { mean, std: Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length) };
    };
    const q = stats(weights.layers[1].q.weight.read());
    expect(Math.abs(q.mean)).toBeLessThan(0.002);
    expect(q.std).toBeGreaterThan(0.018);
    expect(q.std).toBeLessThan(0.022);
    const head = stats(weights.lmHead.read());
    expect(head.std).toBeGreaterThan(0.95 / 8);
    expect(head.std).toBeLessThan(1.05 / 8);
    expect([...weights.layers[0].attnNorm.weight.read()].every((v) => v === 1)).toBe(true);
    expect(readSafetensors(demoModelFiles().get('model.safetensors')!).metadata.tunelab_demo).toMatch(/not trained/);
  });

  it('generates text from a prompt on the CPU reference (sampling from the files’ defaults)', async () => {
    const files = await loadModelFiles(new DemoModelSource());
    const tok = new ModelTokenizer(files);
    const model = new CpuCausalLm(files.config, mapWeights(files.config, files.weights));
    const prompt = promptIds(tok, files.config, 'Setting: a rainy forest.\n');
    const run = () => generate(model, [prompt], { maxNewTokens: 12, temperature: 0.8, topK: 40, seed: 3 }, { tokenizer: tok });
    const [first] = await run();
    const [again] = await run();
    expect(first.tokens.length).toBeGreaterThan(0);
    expect(first.tokens.every((id) => id >= 0 && id < files.config.vocabSize)).toBe(true);
    expect(first.text).toBe(tok.decode(first.tokens, { skipSpecialTokens: true }));
    expect(again.tokens).toEqual(first.tokens);
  });
});

describe('the demo dataset', () => {
  it('is a prompt-completion SFT dataset whose completions take up the prompt’s setting', () => {
    const dataset = demoSftDataset();
    expect(dataset.file).toBe(DEMO_DATASET_FILE);
    expect(dataset.format).toBe('prompt-completion');
    expect(dataset.examples).toHaveLength(8 * 8 * 3);
    expect(dataset.examples.map((e) => e.line)).toEqual(dataset.examples.map((_, i) => i + 1));
    const settings = new Set<string>();
    for (const { example } of dataset.examples) {
      if (example.kind !== 'prompt-completion') throw new Error(`unexpected ${example.kind}`);
      const setting = /^Setting: (a \w+ \w+)\.\n$/.exec(example.prompt)?.[1];
      expect(setting).toBeDefined();
      settings.add(setting!);
      expect(example.completion.startsWith(`Once upon a time, in ${setting}, there was `)).toBe(true);
    }
    expect(settings.size).toBe(64);
    expect(demoSftDataset()).toEqual(dataset);
  });

  it('tokenizes with the demo tokenizer, training the completion and EOS only', async () => {
    const files = await loadModelFiles(new DemoModelSource());
    const tok = new ModelTokenizer(files);
    const dataset = demoSftDataset();
    const tokenized = tokenizeSftDataset(dataset, tok, { maxLength: 128 });
    expect(tokenized.examples).toHaveLength(dataset.examples.length);
    expect(tokenized.truncated).toBe(0);
    expect(tokenized.boundaryMismatches).toBe(0);
    const first = tokenized.examples[0];
    const example = dataset.examples[0].example as { prompt: string };
    const promptLength = tok.encode(example.prompt).length;
    expect(first.trainMask.slice(0, promptLength).every((m) => m === 0)).toBe(true);
    expect(first.trainMask.slice(promptLength).every((m) => m === 1)).toBe(true);
    expect(first.inputIds.at(-1)).toBe(tok.tokenId('</s>'));
  });
});

describe('fine-tuning the demo', () => {
  it('learns the demo task within a few LoRA steps (the untied head lets the loss fall far below ln V)', async () => {
    const files = await loadModelFiles(new DemoModelSource());
    const tok = new ModelTokenizer(files);
    const weights = mapWeights(files.config, files.weights);
    const { examples } = tokenizeSftDataset(demoSftDataset(), tok, { maxLength: 64 });
    const adapter = initAdapter(planAdapter('llama', weights, { r: 8, alpha: 16, dropout: 0, targets: ['all-linear'], useRslora: false }), new Rng(0));
    const backend = new CpuBackend(buildCpuTrainModel(files.config, weights), adapter);
    const evals: EvalMetrics[] = [];
    const config = { batchSize: 8, gradAccum: 1, steps: 12, lr: 3e-3, scheduler: 'constant' as const, warmupSteps: 0, maxGradNorm: 1 };
    await runTraining(backend, new SftObjective(), examples.slice(16), examples.slice(0, 16), { ...config, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, evalEvery: 12, saveEvery: 0, seed: 0 }, { onEval: (m) => void evals.push(m) });
    expect(evals.map((e) => e.step)).toEqual([0, 12]);
    // Untrained: about ln(552) = 6.3 plus the random head's spread.
    expect(evals[0].eval_loss).toBeGreaterThan(6);
    expect(evals[0].eval_loss).toBeLessThan(7.5);
    expect(evals[1].eval_loss).toBeLessThan(evals[0].eval_loss - 1.5);
  }, 60_000);
});
