// One transformer block of the CPU reference, written top to bottom like llm.c. Every activation is a
// Float64Array; weights are the checkpoint's values as Float32Array, read once. Rows are the T new tokens
// of one sequence, whose keys and values are appended to that sequence's cache before attention.

import { swigluForward, geluForward } from '../ops/cpu/activations';
import { attentionForward } from '../ops/cpu/attention';
import { matmulForward } from '../ops/cpu/matmul';
import { layerNormForward, rmsNormForward } from '../ops/cpu/norms';
import { ropeForward } from '../ops/cpu/rope';
import type { ModelConfig } from './config';
import type { LayerWeights, LinearWeights, NormWeights } from './weights';

export interface CpuLinear {
  /** (out, in) */
  weight: Float32Array;
  /** (out) */
  bias?: Float32Array;
  out: number;
  in: number;
}

export interface CpuNorm {
  /** (C) */
  weight: Float32Array;
  /** (C), LayerNorm only. */
  bias?: Float32Array;
}

export interface CpuLayer {
  attnNorm: CpuNorm;
  q: CpuLinear;
  k: CpuLinear;
  v: CpuLinear;
  o: CpuLinear;
  mlpNorm: CpuNorm;
  gate?: CpuLinear;
  up: CpuLinear;
  down: CpuLinear;
}

/** One layer's cache: (capacity, Hkv, D) keys and values, rows [0, length) filled. */
export interface LayerCache {
  k: Float64Array;
  v: Float64Array;
}

export function readLinear(l: LinearWeights): CpuLinear {
  const [out, inp] = l.weight.shape;
  return { weight: l.weight.read(), bias: l.bias?.read(), out, in: inp };
}

export function readNorm(n: NormWeights): CpuNorm {
  return { weight: n.weight.read(), bias: n.bias?.read() };
}

export function readLayer(l: LayerWeights): CpuLayer {
  return {
    attnNorm: readNorm(l.attnNorm),
    q: readLinear(l.q),
    k: readLinear(l.k),
    v: readLinear(l.v),
    o: readLinear(l.o),
    mlpNorm: readNorm(l.mlpNorm),
    gate: l.gate && readLinear(l.gate),
    up: readLinear(l.up),
    down: readLinear(l.down),
  };
}

/** y (T, out) = x (T, in) @ W^T + b. */
export function linear(x: Float64Array, w: CpuLinear, T: number): Float64Array {
  const y = new Float64Array(T * w.out);
  matmulForward(y, x, w.weight, { m: T, k: w.in, n: w.out, transB: true }, { bias: w.bias });
  return y;
}

/** RMSNorm (Llama, Qwen2) or LayerNorm (GPT-2) of each of the T rows of x (T, C). */
export function norm(config: ModelConfig, x: Float64Array, n: CpuNorm, T: number): Float64Array {
  const C = config.hiddenSize;
  const out = new Float64Array(T * C);
  const rstd = new Float64Array(T);
  if (config.norm === 'rms') rmsNormForward(out, rstd, x, n.weight, T, C, config.normEps);
  else layerNormForward(out, new Float64Array(T), rstd, x, n.weight, n.bias!, T, C, config.normEps);
  return out;
}

function addInPlace(x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i] += y[i];
}

/**
 * x (T, C), the residual stream of T new tokens at positions [start, start + T), is updated in place.
 * invFreq is the (D / 2) RoPE table (unused for learned positions).
 */
export function layerForward(
  config: ModelConfig,
  layer: CpuLayer,
  cache: LayerCache,
  x: Float64Array,
  T: number,
  start: number,
  invFreq: Float32Array,
): void {
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = config;

  // Attention: norm -> q, k, v -> RoPE -> append k, v to the cache -> causal GQA over the cache -> o.
  const h = norm(config, x, layer.attnNorm, T);
  const q = linear(h, layer.q, T); // (T, Hq, D)
  const k = linear(h, layer.k, T); // (T, Hkv, D)
  const v = linear(h, layer.v, T); // (T, Hkv, D)
  if (config.positions === 'rope') {
    ropeForward(q, q, invFreq, { B: 1, T, H: Hq, D, positionOffset: start });
    ropeForward(k, k, invFreq, { B: 1, T, H: Hkv, D, positionOffset: start });
  }
  cache.k.set(k, start * Hkv * D);
  cache.v.set(v, start * Hkv * D);
  const attn = new Float64Array(T * Hq * D); // (T, Hq, D)
  const lse = new Float64Array(Hq * T);
  // Query i sits at absolute position start + i and sees cache rows 0..start + i.
  attentionForward(attn, lse, q, cache.k, cache.v, { batch: 1, tq: T, tk: start + T, hq: Hq, hkv: Hkv, headDim: D });
  addInPlace(x, linear(attn, layer.o, T));

  // MLP: norm -> SwiGLU down(silu(gate) * up) or GPT-2's c_proj(gelu_tanh(c_fc)) -> residual.
  const m = norm(config, x, layer.mlpNorm, T);
  const up = linear(m, layer.up, T); // (T, F)
  const act = new Float64Array(up.length);
  if (config.mlp === 'swiglu') swigluForward(act, linear(m, layer.gate!, T), up);
  else geluForward(act, up);
  addInPlace(x, linear(act, layer.down, T));
}
