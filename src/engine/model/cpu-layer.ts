// One transformer block of the CPU references, written top to bottom like llm.c: the one block of the
// inference model (cpu-model.ts) and of the training reference (src/engine/train/cpu/cpu-lora-layer.ts).
// Activations are Float64Array; weights are f32 (inference) or f64 (training). The caller says where
// attention's keys and values come from (a sequence's KV cache, or this call's own rows) and how a linear
// slot is computed (the base product, or with a LoRA branch); the block returns the activations a backward
// needs, arrays it makes anyway, so inference pays nothing for them.
//
//   x -> norm -> q, k, v -> RoPE -> [append k, v to the cache] -> causal GQA -> mid = x + o(attn)
//     -> norm -> SwiGLU down(silu(gate) * up) or GPT-2's c_proj(gelu_tanh(c_fc)) -> out = mid + down(act)

import type { LinearSlot } from '../lora/lora-config';
import { geluForward, swigluForward } from '../ops/cpu/activations';
import { attentionForward } from '../ops/cpu/attention';
import { matmulForward } from '../ops/cpu/matmul';
import { layerNormForward, rmsNormForward } from '../ops/cpu/norms';
import { ropeForward } from '../ops/cpu/rope';
import type { ModelConfig } from './config';
import type { CpuLayer, CpuLinear, CpuNorm } from './cpu-weights';

export interface NormSaved {
  /** (T, C) the norm's input. */
  x: Float64Array;
  /** (T, C) the norm's output. */
  out: Float64Array;
  /** (T), LayerNorm only. */
  mean: Float64Array;
  /** (T) */
  rstd: Float64Array;
}

/** RMSNorm (Llama, Qwen2) or LayerNorm (GPT-2) of each of the T rows of x (T, C). */
export function normForward(config: ModelConfig, x: Float64Array, n: CpuNorm, T: number): NormSaved {
  const C = config.hiddenSize;
  const out = new Float64Array(T * C);
  const mean = new Float64Array(T);
  const rstd = new Float64Array(T);
  if (config.norm === 'rms') rmsNormForward(out, rstd, x, n.weight, T, C, config.normEps);
  else layerNormForward(out, mean, rstd, x, n.weight, n.bias!, T, C, config.normEps);
  return { x, out, mean, rstd };
}

/** y (T, out) = x (T, in) @ W^T + b: a linear slot without adapter. */
export function linearForward(x: Float64Array, w: CpuLinear, T: number): Float64Array {
  const y = new Float64Array(T * w.out);
  matmulForward(y, x, w.weight, { m: T, k: w.in, n: w.out, transB: true }, { bias: w.bias });
  return y;
}

/** One layer's cache of a sequence: (capacity, Hkv, D) keys and values, rows [0, length) filled. */
export interface LayerCache {
  k: Float64Array;
  v: Float64Array;
}

/** Computes linear slot `slot` with weights w for the block's input x (T, in): y (T, out). */
export type SlotLinear = (slot: LinearSlot, x: Float64Array, w: CpuLinear) => Float64Array;

export interface BlockOptions {
  /** (D / 2) RoPE inverse frequencies (unused for learned positions). */
  invFreq: Float32Array;
  /**
   * The sequence's cache: the T rows sit at positions [start, start + T), their k and v are written to the
   * cache there and attention reads cache rows [0, start + T). Absent: positions 0..T-1, attention within
   * this call's rows (training).
   */
  cache?: { layer: LayerCache; start: number };
  /** Default: the base product (no adapter). Training passes the LoRA branch, which saves its inputs. */
  linear?: SlotLinear;
}

/** What the block's backward needs (the LoRA branch saves its own part). */
export interface BlockSaved {
  attnNorm: NormSaved;
  /** (T, Hq, D), (T, Hkv, D), (T, Hkv, D): this call's q and k after RoPE, and v. */
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  /** (T, Hq * D) attention output, the input of o. */
  attn: Float64Array;
  mlpNorm: NormSaved;
  /** (T, F) pre-activations: SwiGLU's gate (absent for GPT-2) and up / c_fc. */
  gate?: Float64Array;
  up: Float64Array;
  /** (T, F) the input of down / c_proj. */
  act: Float64Array;
}

/** out (T, C) = the block applied to x (T, C), which stays intact; and the activations for a backward. */
export function blockForward(config: ModelConfig, layer: CpuLayer, x: Float64Array, T: number, options: BlockOptions): { out: Float64Array; saved: BlockSaved } {
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = config;
  const w = layer.linears;
  const slotLinear = options.linear ?? ((_slot, input, weights) => linearForward(input, weights, T));
  const linear = (slot: LinearSlot, input: Float64Array): Float64Array => slotLinear(slot, input, w[slot]!);
  const cache = options.cache;
  const start = cache?.start ?? 0;

  // Attention: norm -> q, k, v -> RoPE -> causal GQA over the cache or this call's rows -> o -> residual.
  const attnNorm = normForward(config, x, layer.attnNorm, T);
  const q = linear('q', attnNorm.out); // (T, Hq, D)
  const k = linear('k', attnNorm.out); // (T, Hkv, D)
  const v = linear('v', attnNorm.out); // (T, Hkv, D)
  if (config.positions === 'rope') {
    ropeForward(q, q, options.invFreq, { B: 1, T, H: Hq, D, positionOffset: start });
    ropeForward(k, k, options.invFreq, { B: 1, T, H: Hkv, D, positionOffset: start });
  }
  if (cache) {
    cache.layer.k.set(k, start * Hkv * D);
    cache.layer.v.set(v, start * Hkv * D);
  }
  const attn = new Float64Array(T * Hq * D); // (T, Hq, D)
  // Query i sits at absolute position start + i and sees key rows 0..start + i.
  const dims = { batch: 1, tq: T, tk: start + T, hq: Hq, hkv: Hkv, headDim: D };
  attentionForward(attn, new Float64Array(Hq * T), q, cache?.layer.k ?? k, cache?.layer.v ?? v, dims);
  const mid = linear('o', attn);
  for (let i = 0; i < mid.length; i++) mid[i] += x[i];

  // MLP: norm -> SwiGLU or GELU -> down -> residual.
  const mlpNorm = normForward(config, mid, layer.mlpNorm, T);
  const up = linear('up', mlpNorm.out); // (T, F)
  const act = new Float64Array(up.length);
  let gate: Float64Array | undefined;
  if (config.mlp === 'swiglu') {
    gate = linear('gate', mlpNorm.out);
    swigluForward(act, gate, up);
  } else {
    geluForward(act, up);
  }
  const out = linear('down', act);
  for (let i = 0; i < out.length; i++) out[i] += mid[i];

  return { out, saved: { attnNorm, q, k, v, attn, mlpNorm, gate, up, act } };
}
