// The decode kernels (gemv_cols, gemv_splitk, gemv_splitk_sg: m <= 8 rows against a Linear weight stored
// (n, k)) against the float64 CPU reference, with matmulTolerance(k) as in matmul.test.ts: decode's shapes
// (SmolLM2-135M's k = 576 / 1536 and LM head n = 49152, Qwen2.5-0.5B's k = 896 / 4864 and its 151936-row
// head split in parts, odd k), f16 and f32 B, bias, alpha and accumulate (the residual add), offsets, row
// strides and two-level batches; which kernel the dispatcher records (a gemv kernel for the products it
// takes, the rule's kernel for the rest, also when a gemv variant is named or tuned); bitwise repeatability.

import { describe, expect, it } from 'vitest';
import { isSoftwareAdapter } from '../../src/engine/gpu/adapter-info';
import { packF16, roundToF16 } from '../../src/engine/gpu/f16';
import type { StepEncoder } from '../../src/engine/gpu/step-encoder';
import { matmul, matmulVariants, type MatmulDims, type MatrixFormat } from '../../src/engine/ops/gpu/matmul';
import { activateMatmulTuning, contextAdapterKey, matmulKernelsVersion } from '../../src/engine/ops/gpu/matmul-tuning';
import { matmulTolerance, runMatmulCase, type MatmulCase } from '../../src/engine/selftest/checks/matmul';
import { Rng } from '../../src/engine/util/rng';
import { expectClose, expectOutcomes } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';
import { expectBitwiseRepeatable, kernelsOf, testTuning } from '../helpers/matmul-gpu';

const ctx = await testGpu();
const GEMV = (['gemv_cols', 'gemv_splitk', 'gemv_splitk_sg'] as const).filter((v) => matmulVariants(ctx).includes(v));
const DEFAULT_GEMV = isSoftwareAdapter(ctx.adapter) ? 'gemv_cols' : ctx.hasSubgroups ? 'gemv_splitk_sg' : 'gemv_splitk';

async function runAll(cases: MatmulCase[]) {
  const outcomes = [];
  for (const c of cases) outcomes.push(await runMatmulCase(ctx, c));
  return outcomes;
}

const gemvKernel = (variant: string) => `matmul.${variant}:${variant}`;

describe('gemv matmul kernels', () => {
  it('the dispatcher sends m <= 8 rows against B stored (n, k) to the gemv kernel and everything else elsewhere', async () => {
    expect(GEMV).toContain(DEFAULT_GEMV);
    for (const bFormat of ['f32', 'f16'] as const) {
      for (const m of [1, 8]) expect(await kernelsOf(ctx, { m, k: 64, n: 40, transB: true }, bFormat)).toEqual([gemvKernel(DEFAULT_GEMV)]);
      for (const dims of [{ m: 9, k: 64, n: 40, transB: true }, { m: 4, k: 64, n: 40 }, { m: 4, k: 64, n: 40, transA: true, transB: true }]) {
        const kernels = await kernelsOf(ctx, dims, bFormat);
        expect(kernels.some((k) => k.includes('gemv')), JSON.stringify(dims)).toBe(false);
        // Named, a gemv variant runs the rule's kernel for a product it does not take.
        for (const variant of GEMV) expect(await kernelsOf(ctx, dims, bFormat, variant)).toEqual(kernels);
      }
    }
    for (const variant of GEMV) expect(await kernelsOf(ctx, { m: 1, k: 40, n: 12, transB: true }, 'f16', variant)).toEqual([gemvKernel(variant)]);
  });

  it('a tuning that chose a gemv kernel for m < 16 runs it where it can and the rule elsewhere in the slot', async () => {
    const rule12 = await kernelsOf(ctx, { m: 12, k: 64, n: 40, transB: true }, 'f32');
    const other = GEMV.find((v) => v !== DEFAULT_GEMV) ?? DEFAULT_GEMV;
    activateMatmulTuning(ctx, testTuning(ctx, [{ id: 'f32.decode', label: 'm < 16, B f32', products: [], bFormat: 'f32', choice: other, rule: DEFAULT_GEMV, candidates: [] }]));
    try {
      expect(await kernelsOf(ctx, { m: 4, k: 64, n: 40, transB: true }, 'f32')).toEqual([gemvKernel(other)]);
      expect(await kernelsOf(ctx, { m: 12, k: 64, n: 40, transB: true }, 'f32')).toEqual(rule12);
      expectOutcomes(await runAll([{ dims: { m: 12, k: 64, n: 40, transB: true }, seed: 5 }, { dims: { m: 4, k: 30, n: 40 }, seed: 6 }]));
    } finally {
      ctx.matmulTuning = undefined;
    }
  });

  for (const variant of GEMV) {
    it(`${variant}: m = 1, 3, 8, aligned and unaligned k and offsets, f32 and f16 B, bias, alpha, accumulate, row strides, batches`, async () => {
      const cases: MatmulCase[] = [];
      let seed = 1000;
      for (const bFormat of ['f32', 'f16'] as const) {
        // Vector reads with k % 8 == 0 (octets only) and k % 8 == 4 (octets and a tail); element reads with
        // k % 8 == 5 and k < 8; n not a multiple of a block. (Few distinct m and flags: each is a pipeline,
        // and lavapipe compiles one in seconds.)
        for (const [m, k, n, ldb] of [[1, 40, 33, 40], [8, 64, 9, 64], [1, 12, 300, 16], [3, 37, 70, 37], [3, 6, 21, 6]] as const) {
          cases.push({ dims: { m, k, n, ldb, transB: true }, bFormat, variant, seed: seed++ });
        }
        cases.push({ dims: { m: 3, k: 48, n: 37, transB: true }, bFormat, variant, bias: true, accumulate: true, alpha: -0.75, seed: seed++ });
        // Odd offsets (element reads), then 16-byte-aligned ones with padded rows (vector reads).
        cases.push({ dims: { m: 3, k: 24, n: 19, transB: true, offsetA: 3, offsetB: 5, offsetC: 1, lda: 27, ldb: 29, ldc: 23 }, bFormat, variant, seed: seed++ });
        cases.push({ dims: { m: 3, k: 24, n: 19, transB: true, offsetA: 4, offsetB: 8, offsetC: 8, lda: 28, ldb: 32, ldc: 36 }, bFormat, variant, bias: true, accumulate: true, seed: seed++ });
        // Batch 3 with one B broadcast, and a one-token decode step of attention's scores per (sequence,
        // head): q (B, 1, Hq, D) against k (B, T, Hkv, D), 3 query heads per key head.
        cases.push({ dims: { m: 1, k: 16, n: 10, batch: 3, transB: true, strideB: 0 }, bFormat, variant, seed: seed++ });
        cases.push({
          dims: { m: 1, k: 8, n: 9, batch: 2 * 6, transB: true, inner: 6, lda: 8, strideA: 8, outerA: 6 * 8, ldb: 2 * 8, strideB: 8, outerB: 9 * 2 * 8, groupB: 3, strideC: 9, outerC: 6 * 9 },
          bFormat,
          variant,
          seed: seed++,
        });
      }
      expectOutcomes(await runAll(cases));
    });
  }

  it('decode shapes of SmolLM2-135M and Qwen2.5-0.5B (default gemv kernel): m = 1, 2, 5, 8, k = 576 / 1536 / 896 / 4864 and odd', async () => {
    const cases: MatmulCase[] = [
      { dims: { m: 1, k: 576, n: 1536, transB: true }, bFormat: 'f16', seed: 1 },
      { dims: { m: 2, k: 1536, n: 576, transB: true }, bFormat: 'f16', accumulate: true, seed: 2 },
      { dims: { m: 5, k: 896, n: 128, transB: true }, bFormat: 'f16', bias: true, seed: 3 },
      { dims: { m: 8, k: 4864, n: 96, transB: true }, bFormat: 'f16', accumulate: true, seed: 4 },
      { dims: { m: 8, k: 576, n: 192, transB: true }, bFormat: 'f32', bias: true, accumulate: true, seed: 5 },
      { dims: { m: 1, k: 4864, n: 70, transB: true }, bFormat: 'f32', accumulate: true, seed: 6 },
      { dims: { m: 2, k: 577, n: 65, transB: true }, bFormat: 'f16', bias: true, seed: 7 },
      { dims: { m: 5, k: 1539, n: 33, transB: true }, bFormat: 'f32', seed: 8 },
      // SmolLM2-135M's LM head at batch 1 and 8.
      { dims: { m: 1, k: 576, n: 49152, transB: true }, bFormat: 'f16', seed: 9 },
      { dims: { m: 8, k: 576, n: 49152, transB: true }, bFormat: 'f16', seed: 10 },
    ];
    for (const c of cases) expect(await kernelsOf(ctx, c.dims, c.bFormat ?? 'f32')).toEqual([gemvKernel(DEFAULT_GEMV)]);
    const outcomes = await runAll(cases);
    for (const o of outcomes) console.log(o.detail);
    expectOutcomes(outcomes);
  });

  it("an LM head split as Qwen2.5-0.5B's is (k = 896, f16) in three row parts writing the columns of one logits row each", async () => {
    // A tenth of Qwen2.5-0.5B's 151936 rows: the same three-part split (each part its own buffer and columns
    // of the output rows, ldc = vocab), at a size whose float64 reference stays short.
    const [k, vocab] = [896, 15194];
    const parts = [5065, 5065, 5064];
    const m = 2;
    const rng = new Rng(77);
    const a = rng.f32(m * k);
    const initial = rng.f32(m * vocab);
    const aBuffer = ctx.upload(a);
    const out = ctx.upload(initial);
    const want = Float64Array.from(initial);
    try {
      let firstRow = 0;
      for (const rows of parts) {
        const w = roundToF16(rng.f32(rows * k));
        const bias = rng.f32(rows);
        const wBuffer = ctx.upload(packF16(w));
        const biasBuffer = ctx.upload(bias);
        try {
          const step = ctx.step();
          // The residual-style accumulate and a bias per part, into columns [firstRow, firstRow + rows).
          matmul(step, out, aBuffer, wBuffer, { m, k, n: rows, transB: true, ldc: vocab, offsetC: firstRow }, { bFormat: 'f16', bias: biasBuffer, accumulate: true });
          await step.submit();
        } finally {
          wBuffer.destroy();
          biasBuffer.destroy();
        }
        for (let r = 0; r < m; r++) {
          for (let c = 0; c < rows; c++) {
            let sum = 0;
            for (let i = 0; i < k; i++) sum += a[r * k + i] * w[c * k + i];
            want[r * vocab + firstRow + c] += sum + bias[c];
          }
        }
        firstRow += rows;
      }
      expectClose(await ctx.readF32(out, m * vocab), want, matmulTolerance(k), 'logits');
    } finally {
      aBuffer.destroy();
      out.destroy();
    }
  });

  it('gives bitwise identical results on every run, for every gemv variant', async () => {
    await expectBitwiseRepeatable(ctx, GEMV, 3, 1541, 300);
  });
});
