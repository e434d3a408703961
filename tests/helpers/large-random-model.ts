// A Qwen2.5-0.5B-shaped random model written in seconds: writeTinyModel draws float64 normals and builds the
// whole file in memory, which for 494M parameters takes minutes and gigabytes; this writes the safetensors
// header first (the offsets are known from the shapes) and then each tensor's BF16 bytes one at a time, drawn
// uniformly by a xorshift generator. For tests that measure memory and time at a real model's size, not values.

import { copyFile, mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { safetensorsHeaderBytes } from '../../src/engine/model/safetensors';
import { qwen2Config, STORIES260K_DIR } from './tiny-models';

/** Qwen2.5-0.5B's config.json shape fields (hidden 896, 24 layers, 14 heads, 2 kv heads, tied embeddings). */
export const QWEN25_05B_SHAPE = {
  hiddenSize: 896,
  intermediateSize: 4864,
  numLayers: 24,
  numHeads: 14,
  numKvHeads: 2,
  vocabSize: 151936,
  maxPositions: 32768,
} as const;

export interface WrittenLargeModel {
  dir: string;
  /** Bytes of model.safetensors. */
  fileBytes: number;
  parameters: number;
  /** The largest tensor's element count (the tied embedding, V x C). */
  largestTensor: number;
}

interface Tensor {
  name: string;
  shape: number[];
  /** Uniform in [-range, range], plus `mean` (norm weights sit near 1). */
  range: number;
  mean: number;
}

function qwen2Tensors(s: typeof QWEN25_05B_SHAPE): Tensor[] {
  const { hiddenSize: C, intermediateSize: F, numHeads: Hq, numKvHeads: Hkv, vocabSize: V } = s;
  const D = C / Hq;
  const w = (name: string, shape: number[], range = 0.05): Tensor => ({ name, shape, range, mean: 0 });
  const norm = (name: string): Tensor => ({ name, shape: [C], range: 0.1, mean: 1 });
  const tensors: Tensor[] = [w('model.embed_tokens.weight', [V, C], 0.1)];
  for (let l = 0; l < s.numLayers; l++) {
    const p = `model.layers.${l}`;
    tensors.push(norm(`${p}.input_layernorm.weight`));
    for (const [name, out] of [['q_proj', Hq * D], ['k_proj', Hkv * D], ['v_proj', Hkv * D]] as const) {
      tensors.push(w(`${p}.self_attn.${name}.weight`, [out, C]), w(`${p}.self_attn.${name}.bias`, [out], 0.1));
    }
    tensors.push(w(`${p}.self_attn.o_proj.weight`, [C, Hq * D]), norm(`${p}.post_attention_layernorm.weight`));
    tensors.push(w(`${p}.mlp.gate_proj.weight`, [F, C]), w(`${p}.mlp.up_proj.weight`, [F, C]), w(`${p}.mlp.down_proj.weight`, [C, F]));
  }
  tensors.push(norm('model.norm.weight'));
  return tensors;
}

/** BF16 bits of uniform values: the top half of the f32 (truncated; the values only need to be finite). */
function bf16Values(count: number, range: number, mean: number, state: { x: number }): Uint8Array {
  const out = new Uint16Array(count);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  let x = state.x;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    f[0] = mean + range * ((x >>> 0) / 2147483648 - 1);
    out[i] = bits[0] >>> 16;
  }
  state.x = x;
  return new Uint8Array(out.buffer);
}

export async function writeQwen25HalfBModel(dir: string, seed = 1): Promise<WrittenLargeModel> {
  const s = QWEN25_05B_SHAPE;
  const tensors = qwen2Tensors(s);
  const sizeOf = (t: Tensor) => t.shape.reduce((a, b) => a * b, 1);
  await mkdir(dir, { recursive: true });
  const config = qwen2Config({ ...s, headDim: s.hiddenSize / s.numHeads }, { dtype: 'BF16', tied: true });
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(dir, 'generation_config.json'), `${JSON.stringify({ bos_token_id: 1, eos_token_id: 2 }, null, 2)}\n`);
  // The stories260K tokenizer: its 512 ids are valid rows of the larger vocabulary.
  await copyFile(join(STORIES260K_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  await copyFile(join(STORIES260K_DIR, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));

  const header = safetensorsHeaderBytes(
    tensors.map((t) => ({ name: t.name, dtype: 'BF16' as const, shape: t.shape, byteLength: sizeOf(t) * 2 })),
    { format: 'pt' },
  );
  const file = await open(join(dir, 'model.safetensors'), 'w');
  let fileBytes = header.byteLength;
  const state = { x: (seed * 2654435761) | 1 };
  try {
    await file.write(header);
    for (const t of tensors) {
      const bytes = bf16Values(sizeOf(t), t.range, t.mean, state);
      await file.write(bytes);
      fileBytes += bytes.byteLength;
    }
  } finally {
    await file.close();
  }
  const sizes = tensors.map(sizeOf);
  return { dir, fileBytes, parameters: sizes.reduce((a, b) => a + b, 0), largestTensor: Math.max(...sizes) };
}
