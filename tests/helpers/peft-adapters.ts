// PEFT adapters written by hand the way PEFT's save_pretrained writes them (adapter_config.json fields and
// adapter_model.safetensors keys), and float64 references of what PEFT computes with them: each module's
// s_m B_m A_m and the base weights merged with it, independent of Tunelab's loader.

import { expect } from 'vitest';
import { LINEAR_SLOTS, type LinearSlot } from '../../src/engine/lora/lora-config';
import type { ModelConfig } from '../../src/engine/model/config';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { writeSafetensors, type TensorToWrite } from '../../src/engine/model/safetensors';
import type { ModelWeights } from '../../src/engine/model/weights';
import { Rng } from '../../src/engine/util/rng';
import type { LoadedModel } from './tiny-models';

/** One module of a hand-written adapter: its own rank and alpha, A (r, in) and B (out, r). */
export interface HandModule {
  path: string;
  /** Canonical slots it feeds and their rows of B: GPT-2's c_attn feeds q, k, v. */
  slots: [number, LinearSlot, number, number][];
  r: number;
  alpha: number;
  inF: number;
  outF: number;
  a: Float32Array;
  b: Float32Array;
}

const LLAMA_SLOT: Record<string, LinearSlot> = { q_proj: 'q', k_proj: 'k', v_proj: 'v', o_proj: 'o', gate_proj: 'gate', up_proj: 'up', down_proj: 'down' };

export function handModule(path: string, slots: HandModule['slots'], r: number, alpha: number, inF: number, outF: number, rng: Rng): HandModule {
  return { path, slots, r, alpha, inF, outF, a: rng.normals(r * inF, 0.3), b: rng.normals(outF * r, 0.3) };
}

/** Llama modules "model.layers.{l}.self_attn.{name}" with the ranks and alphas the test says PEFT gives them. */
export function llamaModules(c: ModelConfig, names: string[], rankOf: (path: string) => number, alphaOf: (path: string) => number, seed: number): HandModule[] {
  const dims: Record<string, [number, number]> = {
    q_proj: [c.hiddenSize, c.numHeads * c.headDim],
    k_proj: [c.hiddenSize, c.numKvHeads * c.headDim],
    v_proj: [c.hiddenSize, c.numKvHeads * c.headDim],
    o_proj: [c.numHeads * c.headDim, c.hiddenSize],
  };
  const rng = new Rng(seed);
  const out: HandModule[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    for (const name of names) {
      const path = `model.layers.${l}.self_attn.${name}`;
      const [inF, outF] = dims[name];
      out.push(handModule(path, [[l, LLAMA_SLOT[name], 0, outF]], rankOf(path), alphaOf(path), inF, outF, rng));
    }
  }
  return out;
}

/** adapter_model.safetensors as PEFT writes it: keys "base_model.model.<path>.lora_A.weight", F32. */
export function peftWeights(modules: HandModule[], keyOf = (path: string, which: 'A' | 'B') => `base_model.model.${path}.lora_${which}.weight`): Uint8Array {
  const tensors: Record<string, TensorToWrite> = {};
  for (const m of modules) {
    tensors[keyOf(m.path, 'A')] = { dtype: 'F32', shape: [m.r, m.inF], data: m.a };
    tensors[keyOf(m.path, 'B')] = { dtype: 'F32', shape: [m.outF, m.r], data: m.b };
  }
  return writeSafetensors(tensors, { format: 'pt' });
}

export function peftConfig(over: Record<string, unknown>): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: 'tiny',
    r: 8,
    lora_alpha: 16,
    lora_dropout: 0.05,
    target_modules: ['q_proj', 'v_proj'],
    bias: 'none',
    use_rslora: false,
    fan_in_fan_out: false,
    init_lora_weights: true,
    inference_mode: true,
    modules_to_save: null,
    use_dora: false,
    rank_pattern: {},
    alpha_pattern: {},
    layers_to_transform: null,
    layers_pattern: null,
    megatron_config: null,
    megatron_core: 'megatron.core',
    loftq_config: {},
    peft_version: '0.17.0',
    ...over,
  };
}

/** s_m B_m A_m (out, in) in float64: the module's delta as PEFT computes it. */
export function delta64(m: HandModule, rslora: boolean): Float64Array {
  const s = rslora ? m.alpha / Math.sqrt(m.r) : m.alpha / m.r;
  const d = new Float64Array(m.outF * m.inF);
  for (let o = 0; o < m.outF; o++) {
    for (let i = 0; i < m.inF; i++) {
      let acc = 0;
      for (let k = 0; k < m.r; k++) acc += m.b[o * m.r + k] * m.a[k * m.inF + i];
      d[o * m.inF + i] = s * acc;
    }
  }
  return d;
}

/** scale B' A' in float64 from the imported adapter's arrays (rank R). */
export function importedDelta(a: Float32Array, b: Float32Array, R: number, inF: number, outF: number, scale: number): Float64Array {
  const d = new Float64Array(outF * inF);
  for (let o = 0; o < outF; o++) {
    for (let i = 0; i < inF; i++) {
      let acc = 0;
      for (let k = 0; k < R; k++) acc += b[o * R + k] * a[k * inF + i];
      d[o * inF + i] = scale * acc;
    }
  }
  return d;
}

/** max |x - y| / max |y| */
export function relErr(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < y.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
    ref = Math.max(ref, Math.abs(y[i]));
  }
  return diff / ref;
}

/** W + s_m B_m A_m for every adapted slot, merged here in float64 (then f32), independently of the loader. */
export function handMerged(weights: ModelWeights, modules: HandModule[], rslora: boolean): { weights: ModelWeights; expected: Map<string, Float64Array> } {
  const expected = new Map<string, Float64Array>();
  for (const m of modules) {
    const d = delta64(m, rslora);
    for (const [layer, slot, begin, end] of m.slots) {
      const w = weights.layers[layer][slot]!.weight.read();
      const merged = new Float64Array(w.length);
      for (let j = 0; j < w.length; j++) merged[j] = w[j] + d[begin * m.inF + j];
      expect(merged.length).toBe((end - begin) * m.inF);
      expected.set(`${layer}.${slot}`, merged);
    }
  }
  const layers = weights.layers.map((l, i) => {
    const copy = { ...l };
    for (const slot of LINEAR_SLOTS) {
      const data = expected.get(`${i}.${slot}`);
      const linear = copy[slot];
      if (data && linear) copy[slot] = { ...linear, weight: { source: 'hand-merged', shape: linear.weight.shape, read: () => Float32Array.from(data) } };
    }
    return copy;
  });
  return { weights: { ...weights, layers }, expected };
}

export async function logitsOf(model: LoadedModel, weights: ModelWeights): Promise<Float32Array> {
  const cpu = new CpuCausalLm(model.config, weights);
  const [out] = await cpu.extend([{ sequence: cpu.createSequence(8), tokens: [5, 9, 100, 7, 300, 2] }], 'all');
  return out;
}
