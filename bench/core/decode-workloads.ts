// The decode bench's arithmetic (decode-bench.ts runs it): the bytes one greedy decode step must read from
// device memory, the bandwidth bound on tokens/s that follows from the copy bandwidth measured in the same
// run, and the summary of the timed runs.
//
// One decode step of a batch of B sequences (generate.ts: one extend with the last token of every row)
// multiplies one row per sequence by every linear layer's weight and by the LM head, so it reads every
// such matrix once whatever B is (matmul m = B), as stored on the GPU (f16: 2 bytes a weight;
// gpu-weights.ts); the input embedding is a gather of B rows and norms and biases are vectors, so they are
// left out (train-flops.ts's N counts the same matrices). Each sequence's attention also reads its own key
// and value cache rows: L x 2 x Hkv x D f32 values (kv-cache.ts) per position held. With a prompt of P
// tokens and N new tokens, the first token comes from the prompt's pass (prefill, not a decode step) and
// decode step i = 1 .. N-1 attends over P + i positions, P + N/2 on average.
//
//   bytes per step  = weight bytes + B x KV bytes per position x (P + N/2)
//   bound tokens/s  = bandwidth / bytes per step x B
//
// Bandwidth: the copy section's best figure as it reports it, bytes read + bytes written per second (a
// copy of S bytes counts 2S). A device's memory (GDDR, HBM, or the host's DRAM under SwiftShader) carries
// reads and writes over the same bus, so a copy at R GB/s shows the memory moving R GB per second, and a
// step that only reads can at best read at that rate. Taking R / 2 (a copy's reads alone) would halve the
// bound and double every fraction of it; this bench keeps the stricter bound.

import type { ModelConfig } from '../../src/engine/model/config';
import { mean, median } from './measure';
import { matmulParams } from './train-flops';

/** Bytes of one stored weight: f16 packed two per u32, or f32. */
export function bytesPerWeight(format: 'f16' | 'f32'): number {
  return format === 'f16' ? 2 : 4;
}

/** Bytes of every linear layer's weight plus the LM head (once when tied), as stored. */
export function decodeWeightBytes(config: ModelConfig, format: 'f16' | 'f32'): number {
  return matmulParams(config) * bytesPerWeight(format);
}

/** Bytes of one sequence's KV cache per position: L x (K and V) x Hkv x D f32 values. */
export function kvBytesPerPosition(config: ModelConfig): number {
  return config.numLayers * 2 * config.numKvHeads * config.headDim * 4;
}

/** Positions a decode step attends over, averaged over the N - 1 decode steps after a prompt of P tokens. */
export function meanDecodeContext(promptTokens: number, newTokens: number): number {
  if (!Number.isInteger(promptTokens) || promptTokens < 1) throw new RangeError(`a prompt needs at least 1 token, got ${promptTokens}`);
  if (!Number.isInteger(newTokens) || newTokens < 2) throw new RangeError(`decode needs at least 2 new tokens (the first comes from the prompt's pass), got ${newTokens}`);
  return promptTokens + newTokens / 2;
}

export interface DecodeTraffic {
  /** Read once per step, whatever the batch. */
  weightBytes: number;
  kvBytesPerPosition: number;
  meanContext: number;
  /** batch x kvBytesPerPosition x meanContext */
  kvBytesPerStep: number;
  /** weightBytes + kvBytesPerStep */
  bytesPerStep: number;
}

export function decodeTraffic(config: ModelConfig, format: 'f16' | 'f32', batch: number, promptTokens: number, newTokens: number): DecodeTraffic {
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a whole number >= 1, got ${batch}`);
  const weightBytes = decodeWeightBytes(config, format);
  const perPosition = kvBytesPerPosition(config);
  const meanContext = meanDecodeContext(promptTokens, newTokens);
  const kvBytesPerStep = batch * perPosition * meanContext;
  return { weightBytes, kvBytesPerPosition: perPosition, meanContext, kvBytesPerStep, bytesPerStep: weightBytes + kvBytesPerStep };
}

/** Tokens/s if every step only read its bytes at `bandwidthGbps` (GB = 1e9 bytes): B tokens per step. */
export function boundTokensPerS(bytesPerStep: number, batch: number, bandwidthGbps: number): number {
  if (!(bytesPerStep > 0)) throw new RangeError(`bytes per step must be positive, got ${bytesPerStep}`);
  if (!(bandwidthGbps > 0)) throw new RangeError(`bandwidth must be positive, got ${bandwidthGbps} GB/s`);
  return ((bandwidthGbps * 1e9) / bytesPerStep) * batch;
}

/** One timed generate(): the prompts' pass, then N - 1 decode steps of B tokens each. */
export interface DecodeTiming {
  /** From the call to the first new token (prefill and its sampling). */
  prefillS: number;
  /** From the first new token to the last: decodeSteps steps. */
  decodeS: number;
  decodeSteps: number;
  /** Tokens the decode steps produced: B x decodeSteps. */
  tokens: number;
  /** Each decode step's seconds (between row 0's consecutive tokens). */
  stepS: number[];
}

export interface DecodeSummary {
  /** Decode tokens / decode seconds over every timed run. */
  tokensPerS: number;
  /** The fastest run's. */
  bestTokensPerS: number;
  meanStepS: number;
  medianStepS: number;
  meanPrefillS: number;
}

export function summariseDecode(runs: readonly DecodeTiming[]): DecodeSummary {
  if (runs.length === 0) throw new RangeError('no timed decode run to summarise');
  for (const r of runs) {
    if (!(r.decodeS > 0) || r.decodeSteps < 1) throw new RangeError(`a decode run of ${r.decodeSteps} steps took ${r.decodeS} s`);
  }
  const tokens = runs.reduce((n, r) => n + r.tokens, 0);
  const seconds = runs.reduce((s, r) => s + r.decodeS, 0);
  const steps = runs.flatMap((r) => r.stepS);
  return {
    tokensPerS: tokens / seconds,
    bestTokensPerS: Math.max(...runs.map((r) => r.tokens / r.decodeS)),
    meanStepS: seconds / runs.reduce((n, r) => n + r.decodeSteps, 0),
    medianStepS: steps.length ? median(steps) : NaN,
    meanPrefillS: mean(runs.map((r) => r.prefillS)),
  };
}

/**
 * A run's timing from the moments generate() called onToken for row 0 (seconds; `startS`: the call). Between
 * two of them lie exactly one decode step's extend and the sampling of every row.
 */
export function decodeTiming(startS: number, rowZeroTokenTimes: readonly number[], batch: number): DecodeTiming {
  const first = rowZeroTokenTimes[0];
  if (first === undefined || rowZeroTokenTimes.length < 2) throw new RangeError(`decode timing needs at least 2 tokens of row 0, got ${rowZeroTokenTimes.length}`);
  const decodeSteps = rowZeroTokenTimes.length - 1;
  const stepS = rowZeroTokenTimes.slice(1).map((t, i) => t - rowZeroTokenTimes[i]);
  return { prefillS: first - startS, decodeS: rowZeroTokenTimes[decodeSteps] - first, decodeSteps, tokens: batch * decodeSteps, stepS };
}
