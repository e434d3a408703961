// The decode bench's arithmetic (bench/core/decode-workloads.ts): bytes read per decode step (weights as
// stored + the KV cache at the mean context), the bandwidth bound, the timing read from generate()'s
// onToken calls (checked on the product's generate() over the CPU reference model), and the summary; and
// the decode section's JSON and table (bench/cli/report-decode.ts).

import { describe, expect, it } from 'vitest';
import {
  boundTokensPerS,
  decodeTiming,
  decodeTraffic,
  decodeWeightBytes,
  kvBytesPerPosition,
  meanDecodeContext,
  summariseDecode,
} from '../../bench/core/decode-workloads';
import { randomPrompts } from '../../bench/core/grpo-workloads';
import { SMOLLM2_135M_CONFIG } from '../../bench/core/random-model';
import type { CopyReport, DecodeRun, OursReport } from '../../bench/core/types';
import { decodeJson, decodeReport, shaderCopyGbps } from '../../bench/cli/report-decode';
import { parseModelConfig } from '../../src/engine/model/config';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { generate } from '../../src/engine/model/generate';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';

const smollm = parseModelConfig({ ...SMOLLM2_135M_CONFIG }, 'SmolLM2-135M config');

describe('decode bytes per step', () => {
  it('reads every linear layer and the LM head once per step, as stored', () => {
    // SmolLM2-135M: 30 x (q 576x576 + k, v 2 x 192x576 + o 576x576 + gate, up, down 3 x 576x1536) + head 49152x576
    const N = 30 * (576 * 576 + 2 * 192 * 576 + 576 * 576 + 3 * 576 * 1536) + 49152 * 576;
    expect(N).toBe(134_479_872);
    expect(decodeWeightBytes(smollm, 'f16')).toBe(2 * N);
    expect(decodeWeightBytes(smollm, 'f32')).toBe(4 * N);
  });

  it('reads each sequence\'s f32 keys and values of every layer at every position held', () => {
    expect(kvBytesPerPosition(smollm)).toBe(30 * 2 * 3 * 64 * 4); // 46,080
  });

  it('averages the context over the N - 1 decode steps after the prompt', () => {
    for (const [P, N] of [[8, 16], [1, 2], [5, 9], [64, 33]]) {
      // Decode step i (1 .. N-1) attends over P + i positions.
      const steps = Array.from({ length: N - 1 }, (_, i) => P + i + 1);
      expect(meanDecodeContext(P, N)).toBeCloseTo(steps.reduce((a, b) => a + b, 0) / steps.length, 12);
    }
    expect(() => meanDecodeContext(8, 1)).toThrow(/at least 2 new tokens/);
    expect(() => meanDecodeContext(0, 8)).toThrow(/at least 1 token/);
  });

  it('adds the KV reads of every row of the batch to one read of the weights', () => {
    const t = decodeTraffic(smollm, 'f16', 8, 8, 16);
    expect(t.meanContext).toBe(16);
    expect(t.kvBytesPerStep).toBe(8 * 46_080 * 16);
    expect(t.bytesPerStep).toBe(268_959_744 + 5_898_240);
    expect(decodeTraffic(smollm, 'f16', 1, 8, 16).bytesPerStep).toBe(268_959_744 + 737_280);
  });
});

describe('decode bandwidth bound', () => {
  it('is bandwidth / bytes per step x batch, with GB = 1e9 bytes', () => {
    expect(boundTokensPerS(1e9, 1, 10)).toBeCloseTo(10, 12);
    expect(boundTokensPerS(1e9, 8, 10)).toBeCloseTo(80, 12);
    expect(boundTokensPerS(268_959_744 + 737_280, 1, 21.5)).toBeCloseTo(21.5e9 / 269_697_024, 9);
    expect(() => boundTokensPerS(0, 1, 10)).toThrow(/bytes per step/);
    expect(() => boundTokensPerS(1e9, 1, 0)).toThrow(/bandwidth/);
  });
});

describe('decode timing', () => {
  it('counts the steps between row 0\'s first and last new token and puts the prompts\' pass apart', () => {
    const t = decodeTiming(10, [10.5, 10.7, 11.0, 11.2], 8);
    expect(t.prefillS).toBeCloseTo(0.5, 12);
    expect(t.decodeS).toBeCloseTo(0.7, 12);
    expect(t.decodeSteps).toBe(3);
    expect(t.tokens).toBe(24);
    expect(t.stepS.map((s) => +s.toFixed(6))).toEqual([0.2, 0.3, 0.2]);
    expect(() => decodeTiming(0, [1], 1)).toThrow(/at least 2 tokens/);
  });

  it('sees exactly N onToken calls of row 0 from generate() with EOS ignored (CPU reference model)', async () => {
    const { config, weights } = await loadModel(STORIES260K_DIR);
    const model = new CpuCausalLm(config, weights);
    const prompts = randomPrompts(3, 4, config.vocabSize, config.bosTokenId);
    const N = 6;
    const rowZero: number[] = [];
    let calls = 0;
    const results = await generate(model, prompts, { maxNewTokens: N, temperature: 0, stopTokenIds: [] }, {
      onToken: (index) => {
        calls++;
        if (index === 0) rowZero.push(calls);
      },
    });
    expect(results.map((r) => r.tokens.length)).toEqual([N, N, N]);
    // Row 0 comes first in each step: its calls are 1, 4, 7, ... (3 rows per step).
    expect(rowZero).toEqual(Array.from({ length: N }, (_, i) => 1 + 3 * i));
    expect(decodeTiming(0, rowZero, 3)).toMatchObject({ decodeSteps: N - 1, tokens: 3 * (N - 1) });
  });

  it('summarises runs as tokens over seconds, with the fastest run beside', () => {
    const a = decodeTiming(0, [1, 2, 3], 4); // 2 steps in 2 s: 4 tokens/s
    const b = decodeTiming(0, [0.5, 1, 1.5], 4); // 2 steps in 1 s: 8 tokens/s
    const s = summariseDecode([a, b]);
    expect(s.tokensPerS).toBeCloseTo(16 / 3, 12);
    expect(s.bestTokensPerS).toBeCloseTo(8, 12);
    expect(s.meanStepS).toBeCloseTo(0.75, 12);
    expect(s.medianStepS).toBeCloseTo(0.75, 12);
    expect(s.meanPrefillS).toBeCloseTo(0.75, 12);
    expect(() => summariseDecode([])).toThrow(/no timed decode run/);
  });
});

describe('decode report', () => {
  const copy: CopyReport = {
    gbps: 20,
    bytes: 2 ** 28,
    counted: 'read + write',
    best: 'copyBufferToBuffer',
    methods: [
      { method: 'copyBufferToBuffer', gbps: 20, bestS: 0.03, r: 1 },
      { method: 'vec4 shader (1 per invocation)', gbps: 0.5, bestS: 1, r: 1 },
      { method: 'vec4 shader (4 per invocation)', gbps: 1, bestS: 0.5, r: 1 },
    ],
    verified: true,
  };
  const traffic = decodeTraffic(smollm, 'f16', 1, 8, 8);
  const bound = boundTokensPerS(traffic.bytesPerStep, 1, 20);
  const run: DecodeRun = {
    model: 'smollm2-135m',
    description: 'SmolLM2-135M shape',
    batch: 1,
    promptTokens: 8,
    newTokens: 8,
    weightFormat: 'f16',
    timings: [{ prefillS: 1, decodeS: 7, decodeSteps: 7, tokens: 7, stepS: [1, 1, 1, 1, 1, 1, 1] }],
    traffic,
    tokensPerS: bound / 4,
    meanStepS: 1,
    meanPrefillS: 1,
    bandwidthGbps: 20,
    boundTokensPerS: bound,
    fractionOfBound: 0.25,
    bestFractionOfBound: 0.25,
  };
  const ours = { copy, decode: [run, { ...run, model: 'stories260K', traffic: undefined, tokensPerS: undefined, error: 'Error: broke' }] } as unknown as OursReport;

  it('takes the fastest copy shader apart from the best copy figure', () => {
    expect(shaderCopyGbps(copy)).toBe(1);
    expect(shaderCopyGbps(null)).toBeNull();
  });

  it('puts the bytes, the bound and the fractions in the JSON, and errors on their rows', () => {
    const json = decodeJson(ours)!;
    expect(json.shader_copy_gbps).toBe(1);
    const [r, broken] = json.runs;
    expect(r).toMatchObject({ bytes_per_step: traffic.bytesPerStep, bandwidth_gbps: 20, fraction_of_bound: 0.25, runs: [{ decode_steps: 7, tokens: 7 }] });
    expect(r.bound_tokens_per_s).toBeCloseTo(20e9 / traffic.bytesPerStep, 9);
    // At the shader copy's 1 GB/s the bound is 20 times lower, so the fraction 20 times higher.
    expect(r.fraction_of_shader_bound).toBeCloseTo(5, 9);
    expect(broken).toMatchObject({ error: 'Error: broke', bytes_per_step: null, fraction_of_shader_bound: null });
    expect(decodeJson({ ...ours, decode: [] })).toBeNull();
  });

  it('prints a row per model and batch with the fraction of the bound', () => {
    const lines = decodeReport(decodeJson(ours)!, null).join('\n').split('\n');
    expect(lines[1]).toContain('copy bandwidth 20.00 GB/s');
    const row = lines.find((l) => l.startsWith('smollm2-135m'))!;
    expect(row.split(/\s{2,}/)).toEqual(['smollm2-135m', '1', '8 + 8', '268.96', '0.55', '269.51', '1000.0', '1000.0', (bound / 4).toFixed(1), bound.toFixed(1), '25.0%', '500.0%']);
    expect(lines.find((l) => l.startsWith('stories260K'))).toMatch(/error/);
    expect(lines).toContain('  error: Error: broke');
  });
});
