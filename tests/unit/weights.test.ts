import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/engine/model/errors';
import { TensorView, type SafetensorsFile } from '../../src/engine/model/safetensors';
import { mapWeights, type ModelWeights, type WeightTensor } from '../../src/engine/model/weights';
import { STORIES260K_DIR, loadModel, makeTempDir, removeTempDir, writeTinyModel, type TinyKind, type TinyModelOptions } from '../helpers/tiny-models';

let root: string;
let count = 0;
beforeAll(async () => {
  root = await makeTempDir();
});
afterAll(() => removeTempDir(root));

async function tiny(kind: TinyKind, options: TinyModelOptions = {}) {
  const dir = join(root, `${kind}-${count++}`);
  const written = await writeTinyModel(dir, kind, options);
  return { ...(await loadModel(dir)), written, dir };
}

/** Every canonical tensor by a stable name, for comparing two loads. */
function allTensors(w: ModelWeights): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>([
    ['tokenEmbedding', w.tokenEmbedding],
    ['lmHead', w.lmHead],
    ['finalNorm', w.finalNorm.weight],
  ]);
  if (w.positionEmbedding) out.set('positionEmbedding', w.positionEmbedding);
  if (w.finalNorm.bias) out.set('finalNorm.bias', w.finalNorm.bias);
  w.layers.forEach((layer, l) => {
    for (const [name, lin] of Object.entries({ q: layer.q, k: layer.k, v: layer.v, o: layer.o, gate: layer.gate, up: layer.up, down: layer.down })) {
      if (!lin) continue;
      out.set(`${l}.${name}`, lin.weight);
      if (lin.bias) out.set(`${l}.${name}.bias`, lin.bias);
    }
    out.set(`${l}.attnNorm`, layer.attnNorm.weight);
    out.set(`${l}.mlpNorm`, layer.mlpNorm.weight);
  });
  return out;
}

function shapesOf(w: ModelWeights, layer = 0) {
  const l = w.layers[layer];
  return {
    q: l.q.weight.shape,
    k: l.k.weight.shape,
    v: l.v.weight.shape,
    o: l.o.weight.shape,
    gate: l.gate?.weight.shape,
    up: l.up.weight.shape,
    down: l.down.weight.shape,
    qBias: l.q.bias?.shape,
    oBias: l.o.bias?.shape,
  };
}

describe('mapWeights', () => {
  it('llama: (out, in) shapes with explicit head_dim, GQA and an untied head', async () => {
    const { config, weights } = await tiny('llama');
    // C 48, Hq 4, Hkv 2, D 16, F 96
    expect([config.hiddenSize, config.numHeads, config.numKvHeads, config.headDim]).toEqual([48, 4, 2, 16]);
    expect(shapesOf(weights)).toEqual({ q: [64, 48], k: [32, 48], v: [32, 48], o: [48, 64], gate: [96, 48], up: [96, 48], down: [48, 96], qBias: undefined, oBias: undefined });
    expect(weights.tied).toBe(false);
    expect(weights.lmHead).not.toBe(weights.tokenEmbedding);
    expect(weights.lmHead.source).toBe('lm_head.weight');
    expect(weights.layers[1].q.module).toEqual({ path: 'model.layers.1.self_attn.q_proj', fanInFanOut: false });
    expect(weights.layers).toHaveLength(2);
  });

  it('qwen2: q/k/v biases, tied head', async () => {
    const { weights, written } = await tiny('qwen2');
    expect(shapesOf(weights)).toEqual({ q: [64, 64], k: [32, 64], v: [32, 64], o: [64, 64], gate: [128, 64], up: [128, 64], down: [64, 128], qBias: [64], oBias: undefined });
    expect(weights.layers[0].k.bias!.shape).toEqual([32]);
    expect(weights.tied).toBe(true);
    expect(weights.lmHead).toBe(weights.tokenEmbedding);
    expect([...weights.layers[1].v.bias!.read()]).toEqual(Array.from(written.tensors['model.layers.1.self_attn.v_proj.bias'].data).map(Math.fround));
  });

  it('gpt2: Conv1D (in, out) transposed element-wise, c_attn split into q, k, v', async () => {
    const { config, weights, files } = await tiny('gpt2');
    const C = config.hiddenSize;
    const F = config.intermediateSize;
    expect(shapesOf(weights)).toEqual({ q: [C, C], k: [C, C], v: [C, C], o: [C, C], gate: undefined, up: [F, C], down: [C, F], qBias: [C], oBias: [C] });
    expect(weights.positionEmbedding!.shape).toEqual([config.maxPositions, C]);
    const raw = (name: string) => files.weights[0].tensors.get(name)!.toFloat32();

    const cAttn = raw('transformer.h.1.attn.c_attn.weight'); // (C, 3C)
    const cAttnBias = raw('transformer.h.1.attn.c_attn.bias'); // (3C)
    const layer = weights.layers[1];
    for (const [part, lin] of [layer.q, layer.k, layer.v].entries()) {
      const w = lin.weight.read(); // (C out, C in)
      const b = lin.bias!.read();
      for (let o = 0; o < C; o++) {
        for (let i = 0; i < C; i++) expect(w[o * C + i]).toBe(cAttn[i * 3 * C + part * C + o]);
        expect(b[o]).toBe(cAttnBias[part * C + o]);
      }
      expect(lin.module).toEqual({ path: 'transformer.h.1.attn.c_attn', rows: [part * C, (part + 1) * C], fanInFanOut: true });
    }
    const cFc = raw('transformer.h.0.mlp.c_fc.weight'); // (C, F)
    const up = weights.layers[0].up.weight.read(); // (F, C)
    for (let o = 0; o < F; o++) for (let i = 0; i < C; i++) expect(up[o * C + i]).toBe(cFc[i * F + o]);
    const proj = raw('transformer.h.0.mlp.c_proj.weight'); // (F, C)
    const down = weights.layers[0].down.weight.read(); // (C, F)
    for (let o = 0; o < C; o++) for (let i = 0; i < F; i++) expect(down[o * F + i]).toBe(proj[i * C + o]);
    expect(weights.tied).toBe(true);
  });

  it('gpt2 with the un-prefixed names of the "gpt2" Hub repo maps to the same weights', async () => {
    const prefixed = await tiny('gpt2', { seed: 5 });
    const bare = await tiny('gpt2', { seed: 5, unprefixed: true });
    expect(bare.files.weights[0].tensors.has('h.0.attn.c_attn.weight')).toBe(true);
    expect(bare.files.weights[0].tensors.has('transformer.h.0.attn.c_attn.weight')).toBe(false);
    const a = allTensors(prefixed.weights);
    const b = allTensors(bare.weights);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, t] of a) expect(b.get(name)!.read(), name).toEqual(t.read());
    // PEFT paths are those of GPT2LMHeadModel either way.
    expect(bare.weights.layers[0].o.module.path).toBe('transformer.h.0.attn.c_proj');
  });

  it('a sharded checkpoint loads the same weights as a single file', async () => {
    const single = await tiny('qwen2', { seed: 3 });
    const sharded = await tiny('qwen2', { seed: 3, sharded: true });
    expect((await readdir(sharded.dir)).filter((f) => f.includes('safetensors')).sort()).toEqual([
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
    ]);
    expect(sharded.files.weights.map((f) => f.file)).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(sharded.files.weights.every((f) => f.tensors.size > 0)).toBe(true);
    const a = allTensors(single.weights);
    const b = allTensors(sharded.weights);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, t] of a) expect(b.get(name)!.read(), name).toEqual(t.read());
  });

  it('F16 and BF16 checkpoints widen to f32 within their precision', async () => {
    for (const [dtype, eps] of [['F16', 2 ** -11], ['BF16', 2 ** -8]] as const) {
      const m = await tiny('llama', { dtype, seed: 9 });
      expect(m.files.weights[0].tensors.get('model.layers.0.mlp.up_proj.weight')!.dtype).toBe(dtype);
      const original = m.written.tensors['model.layers.0.mlp.up_proj.weight'].data;
      const read = m.weights.layers[0].up.weight.read();
      let rounded = 0;
      for (let i = 0; i < read.length; i++) {
        expect(Math.abs(read[i] - original[i])).toBeLessThanOrEqual(eps * Math.abs(original[i]) + 2 ** -24);
        if (read[i] !== Math.fround(original[i])) rounded++;
      }
      expect(rounded).toBeGreaterThan(read.length / 2);
    }
  });

  it('names the missing tensor and the files', async () => {
    const { config, files } = await tiny('llama');
    const shard = files.weights[0];
    const without = (name: string): SafetensorsFile[] => {
      const tensors = new Map(shard.tensors);
      tensors.delete(name);
      return [{ ...shard, tensors }];
    };
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(ModelFormatError);
        return (e as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(err(() => mapWeights(config, without('model.layers.1.mlp.down_proj.weight')))).toBe(
      'model.safetensors: tensor "model.layers.1.mlp.down_proj.weight" is missing',
    );
    // Untied config without lm_head.weight: named, not silently tied.
    expect(err(() => mapWeights(config, without('lm_head.weight')))).toBe('model.safetensors: tensor "lm_head.weight" is missing');
    // A wrong shape names the tensor, its shape, the expected one, and the shard it is in.
    const tensors = new Map(shard.tensors);
    const k = tensors.get('model.layers.0.self_attn.k_proj.weight')!;
    tensors.set(k.name, new TensorView(k.name, k.dtype, [48, 32], k.bytes, 'model-00002-of-00002.safetensors'));
    expect(err(() => mapWeights(config, [{ ...shard, tensors }]))).toBe(
      'model-00002-of-00002.safetensors: tensor "model.layers.0.self_attn.k_proj.weight" has shape [48, 32], expected [32, 48]',
    );
    const gpt = await tiny('gpt2');
    const gptTensors = new Map(gpt.files.weights[0].tensors);
    gptTensors.delete('transformer.wpe.weight');
    expect(err(() => mapWeights(gpt.config, [{ ...gpt.files.weights[0], tensors: gptTensors }]))).toBe('model.safetensors: tensor "transformer.wpe.weight" is missing');
  });

  it('refuses weights holding NaN or Infinity on load, naming the file, the tensor and the first bad element', async () => {
    // The hostile file: a valid tiny model whose stored bits of one element are overwritten on disk.
    const cases = [
      { dtype: 'F32', tensor: 'model.layers.1.mlp.down_proj.weight', index: 2 * 96 + 37, bits: [0x7fc00000], value: 'NaN', at: '[2, 37]', size: 48 * 96 },
      { dtype: 'BF16', tensor: 'model.embed_tokens.weight', index: 5 * 48 + 1, bits: [0x7f80], value: 'Infinity', at: '[5, 1]', size: 512 * 48 },
      { dtype: 'F16', tensor: 'model.layers.0.post_attention_layernorm.weight', index: 47, bits: [0xfc00], value: '-Infinity', at: '[47]', size: 48 },
    ] as const;
    for (const c of cases) {
      const { dir, files } = await tiny('llama', { dtype: c.dtype });
      const view = files.weights[0].tensors.get(c.tensor)!;
      const file = await readFile(join(dir, 'model.safetensors'));
      const at = view.bytes.byteOffset + c.index * (c.dtype === 'F32' ? 4 : 2);
      if (c.dtype === 'F32') file.writeUInt32LE(c.bits[0], at);
      else file.writeUInt16LE(c.bits[0], at);
      await writeFile(join(dir, 'model.safetensors'), file);
      await expect(loadModel(dir)).rejects.toThrow(
        new ModelFormatError(
          'model.safetensors',
          `tensor "${c.tensor}" holds ${c.value} at ${c.at} (index ${c.index} of ${c.size}); weights that are not finite make every output NaN: the checkpoint is damaged, or was saved after training diverged`,
        ),
      );
    }
  });

  it('scans only the tensors the model uses, and a sharded model names the shard', async () => {
    const { config, files } = await tiny('qwen2', { sharded: true, dtype: 'BF16' });
    // An extra tensor the architecture never reads may hold anything.
    const extraBits = new Uint8Array([0xc0, 0x7f]);
    const extra = new TensorView('model.layers.0.self_attn.rotary_emb.inv_freq', 'BF16', [1], extraBits, 'model-00001-of-00002.safetensors');
    const first = files.weights[0];
    expect(() => mapWeights(config, [{ ...first, tensors: new Map([...first.tensors, [extra.name, extra]]) }, files.weights[1]])).not.toThrow();
    const second = files.weights[1];
    const [name, last] = [...second.tensors].at(-1)!;
    new Uint16Array(last.bytes.buffer, last.bytes.byteOffset, 1)[0] = 0x7fc1;
    expect(() => mapWeights(config, files.weights)).toThrow(`model-00002-of-00002.safetensors: tensor "${name}" holds NaN at [0`);
  });

  it('stories260K: 47 tensors, tied', async () => {
    const { files, weights } = await loadModel(STORIES260K_DIR);
    expect(files.weights[0].tensors.size).toBe(47);
    expect(weights.tied).toBe(true);
    expect(shapesOf(weights, 4)).toEqual({ q: [64, 64], k: [32, 64], v: [32, 64], o: [64, 64], gate: [172, 64], up: [172, 64], down: [64, 172], qBias: undefined, oBias: undefined });
  });
});
