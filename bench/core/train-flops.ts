// Training FLOP accounting (../shared/docs/domain.md, "Throughput accounting"): with a frozen base and LoRA,
// one trained token costs about
//
//   4N + 6·L·C·T
//
// 4N: the forward (2N: one multiply-add per weight) and the backward to the activations (2N); the base
// gets no weight gradients, which full fine-tuning's 6N would add. 6·L·C·T: attention's QK^T and AV,
// forward (2·L·C·T) and backward (4·L·C·T), with T the sequence length.
//
// N here is the number of weights a token is multiplied by: every linear layer (q, k, v, o, gate, up, down,
// or GPT-2's c_attn, c_proj, c_fc, mlp.c_proj) plus the LM head (V·C), counted once even when it is tied to
// the embedding. The input embedding is a row gather (no FLOPs), so an untied model's embedding table is
// not counted; norms and biases are element-wise and left out. Kaplan et al.'s "non-embedding" N would
// drop the LM head, yet the head is a real (T, C) x (C, V) product run forward and backward in every step
// (21% of SmolLM2-135M's matmul weights): leaving it out would understate the work.
//
// DPO with the reference's forward in the step adds a forward pass with the adapter off for every position:
// 2N + 2·L·C·T (forwardFlopsPerToken).
//
// LoRA's own products (6·r·(in + out) per adapted slot and token: x A^T and its B, forward, the two
// gradients and the input gradient) are not in the formula; loraFlopsPerToken gives them separately.

import type { ModelConfig } from '../../src/engine/model/config';
import type { LoraAdapter } from '../../src/engine/lora/adapter';

export interface TrainFlops {
  /** N: linear-layer weights plus the LM head (V·C). */
  matmulParams: number;
  /** 4N */
  weightFlopsPerToken: number;
  /** 6·L·C·T */
  attentionFlopsPerToken: number;
  /** 4N + 6·L·C·T */
  flopsPerToken: number;
}

/** Weights of the linear layers of one block (biases excluded). */
export function blockMatmulParams(config: ModelConfig): number {
  const { hiddenSize: C, intermediateSize: F, numHeads: Hq, numKvHeads: Hkv, headDim: D } = config;
  const attention = C * Hq * D /* q */ + 2 * C * Hkv * D /* k, v */ + Hq * D * C; /* o */
  const mlp = (config.mlp === 'swiglu' ? 3 : 2) * C * F; // gate, up, down (SwiGLU) or fc, proj (GELU)
  return attention + mlp;
}

/** N as defined above: L blocks of linear layers plus the LM head. */
export function matmulParams(config: ModelConfig): number {
  return config.numLayers * blockMatmulParams(config) + config.vocabSize * config.hiddenSize;
}

/** Training FLOPs per token at sequence length T, frozen base with LoRA. */
export function trainFlopsPerToken(config: ModelConfig, seqLen: number): TrainFlops {
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new RangeError(`sequence length must be a positive integer, got ${seqLen}`);
  const N = matmulParams(config);
  const weightFlopsPerToken = 4 * N;
  const attentionFlopsPerToken = 6 * config.numLayers * config.hiddenSize * seqLen;
  return { matmulParams: N, weightFlopsPerToken, attentionFlopsPerToken, flopsPerToken: weightFlopsPerToken + attentionFlopsPerToken };
}

/** A forward pass alone per token (scoring, DPO's reference pass): 2N + 2·L·C·T. */
export function forwardFlopsPerToken(config: ModelConfig, seqLen: number): number {
  const t = trainFlopsPerToken(config, seqLen);
  return t.weightFlopsPerToken / 2 + t.attentionFlopsPerToken / 3;
}

/** LoRA's own FLOPs per token (not part of the formula): 6·r·(in + out) per adapted slot. */
export function loraFlopsPerToken(adapter: LoraAdapter): number {
  const r = adapter.config.r;
  let total = 0;
  for (const m of adapter.modules) for (const s of m.slots) total += 6 * r * (m.inFeatures + (s.rows[1] - s.rows[0]));
  return total;
}
