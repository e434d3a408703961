// Matmul kernels against the float64 CPU reference. Tolerance: matmulTolerance(k) =
// { atol: 1e-6 + 8e-8 * k, rtol: 1e-5 } (f32 sums of k products in [-1, 1); see selftest/checks/matmul.ts).
// Every comparison covers the whole out buffer, so writes outside the product's rows, columns or offsets
// fail too.

import { describe, expect, it } from 'vitest';
import { packF16 } from '../../src/engine/gpu/f16';
import { matmul, matmulVariants, ruleVariant } from '../../src/engine/ops/gpu/matmul';
import { isSoftwareAdapter } from '../../src/engine/gpu/adapter-info';
import {
  describeCase,
  matmulChecks,
  runMatmulCase,
  type MatmulCase,
} from '../../src/engine/selftest/checks/matmul';
import type { CheckOutcome } from '../../src/engine/selftest/types';
import { Rng } from '../../src/engine/util/rng';
import { expectOutcomes, runCheck } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';
import { expectBitwiseRepeatable } from '../helpers/matmul-gpu';

const ctx = await testGpu();
const TRANSPOSES = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;

/**
 * Half of every (transA, transB, B format, layout) combination that still has each B-side one (transB x
 * format x layout: what the B loads specialize on) and each A-side one (transA x layout) and every transpose
 * pair: transA = (layout + format + transB) mod 2. Each combination is a pipeline of its own, 2-3 s to
 * compile for quad16x8 and shared64 on SwiftShader.
 */
function pairwise<L>(layouts: readonly L[]): { transA: boolean; transB: boolean; bFormat: 'f32' | 'f16'; layout: L }[] {
  return layouts.flatMap((layout, l) =>
    (['f32', 'f16'] as const).flatMap((bFormat, f) => [false, true].map((transB) => ({ transA: (l + f + Number(transB)) % 2 === 1, transB, bFormat, layout }))),
  );
}

async function runAll(cases: MatmulCase[]): Promise<CheckOutcome[]> {
  const outcomes: CheckOutcome[] = [];
  for (const c of cases) outcomes.push(await runMatmulCase(ctx, c));
  return outcomes;
}

describe('matmul on WebGPU', () => {
  for (const check of matmulChecks) {
    it(check.name, async () => runCheck(ctx, check));
  }

  it('shapes that are not tile multiples, in every transpose combination, f32 and f16 B (default variant)', async () => {
    // 1x1x1; odd everything; more than one tile in m and n; m = 1 (GEMV-like); k % 4 == 2 with n odd;
    // k % 4 == 1 with n % 4 == 2.
    const shapes = [
      [1, 1, 1],
      [3, 5, 7],
      [17, 33, 65],
      [1, 40, 33],
      [9, 6, 13],
      [20, 9, 6],
    ] as const;
    const cases: MatmulCase[] = [];
    let seed = 10;
    for (const [transA, transB] of TRANSPOSES) {
      for (const [m, k, n] of shapes) {
        for (const bFormat of ['f32', 'f16'] as const) cases.push({ dims: { m, k, n, transA, transB }, bFormat, seed: seed++ });
      }
    }
    expectOutcomes(await runAll(cases));
  });

  for (const variant of matmulVariants(ctx)) {
    it(`variant ${variant}: every transpose combination, unaligned and aligned, f32 and f16 B (pairwise)`, async () => {
      // Nothing aligned; everything aligned; m and n aligned with k % 4 == 2 (vec4 / pair reads next to a
      // partial last k block).
      const shapes = [
        [17, 33, 65],
        [20, 36, 44],
        [24, 10, 40],
      ] as const;
      const cases = pairwise(shapes).map(({ transA, transB, bFormat, layout: [m, k, n] }, i) => ({ dims: { m, k, n, transA, transB }, bFormat, variant, seed: 100 + i }));
      expectOutcomes(await runAll(cases));
    });
  }

  it('batch 3 with its own B per item and with one B broadcast (strideB = 0)', async () => {
    const cases: MatmulCase[] = [];
    for (const [transA, transB] of TRANSPOSES) {
      for (const strideB of [undefined, 0]) {
        for (const bFormat of ['f32', 'f16'] as const) {
          const dims = { m: 18, k: 12, n: 20, batch: 3, transA, transB, strideB };
          cases.push({ dims, bFormat, seed: cases.length + 200 });
        }
      }
    }
    expectOutcomes(await runAll(cases));
  });

  it('bias, accumulate and alpha together, on every variant', async () => {
    const cases: MatmulCase[] = matmulVariants(ctx).flatMap((variant, i) => [
      { dims: { m: 19, k: 24, n: 37, transB: true }, bias: true, accumulate: true, alpha: -0.75, variant, seed: 300 + i },
      // A decode step's residual-fused product (m <= 8: the gemv kernels' own).
      { dims: { m: 5, k: 44, n: 37, transB: true }, bias: true, accumulate: true, alpha: -0.75, bFormat: 'f16' as const, variant, seed: 350 + i },
      { dims: { m: 21, k: 10, n: 16, transA: true }, bias: true, accumulate: true, bFormat: 'f16' as const, variant, seed: 400 + i },
    ]);
    expectOutcomes(await runAll(cases));
  });

  it('element offsets into every buffer, also odd offsets into f16 B, and padded batch strides', async () => {
    const cases: MatmulCase[] = [];
    for (const [transA, transB] of TRANSPOSES) {
      for (const bFormat of ['f32', 'f16'] as const) {
        for (const [offsetA, offsetB, offsetC] of [
          [4, 8, 4],
          [3, 5, 1],
        ]) {
          const dims = { m: 17, k: 20, n: 12, batch: 2, strideA: 17 * 20 + 8, strideB: 20 * 12 + 4, strideC: 17 * 12 + 3, transA, transB, offsetA, offsetB, offsetC };
          cases.push({ dims, bFormat, seed: cases.length + 500 });
        }
      }
    }
    expectOutcomes(await runAll(cases));
  });

  it('row strides (lda, ldb, ldc: columns of wider matrices) and two-level batches with grouped items, on every variant', async () => {
    const cases: MatmulCase[] = [];
    for (const variant of matmulVariants(ctx)) {
      // q's columns of a fused (T, Q + 2K) projection: A and out rows 36 apart, aligned and not.
      for (const { transA, transB, bFormat, layout: aligned } of pairwise([true, false])) {
        const rowA = transA ? 17 : 20;
        const rowB = transB ? 20 : 12;
        const dims = aligned
          ? { m: 17, k: 20, n: 12, transA, transB, lda: rowA + 16, ldb: rowB + 8, ldc: 36, offsetC: 8 }
          : { m: 17, k: 20, n: 12, transA, transB, lda: rowA + 3, ldb: rowB + 5, ldc: 13, offsetA: 1, offsetC: 1 };
        cases.push({ dims, bFormat, variant, seed: cases.length + 700 });
      }
      // Attention's scores per (sequence, head): 2 sequences x 6 query heads, 3 query heads per key head.
      // Q (B, T, Hq, D), K (B, T, Hkv, D), S (B, Hq, T, T): S = Q K^T per item; then one decode step's
      // (Tq = 1 against the T cached keys: m = 1, the gemv kernels' shape).
      const [T, Hq, Hkv, D] = [9, 6, 2, 8];
      for (const Tq of [T, 1]) {
        cases.push({
          dims: {
            m: Tq, k: D, n: T, batch: 2 * Hq, transB: true, inner: Hq,
            lda: Hq * D, strideA: D, outerA: Tq * Hq * D,
            ldb: Hkv * D, strideB: D, outerB: T * Hkv * D, groupB: Hq / Hkv,
            strideC: Tq * T, outerC: Hq * Tq * T,
          },
          variant,
          seed: cases.length + 700,
        });
      }
    }
    expectOutcomes(await runAll(cases));
  });

  it('software adapters take quad16x8 only from 2^24 multiply-adds (SwiftShader compiles it for seconds)', async () => {
    const ctx = await testGpu();
    const lmHead = { m: 256, k: 64, n: 512, transB: true }; // stories260K, 4 x 64 tokens: 8.4M
    const mlp = { m: 256, k: 576, n: 1536, transB: true }; // SmolLM2-135M at T = 256: 226M
    const rules = (['f32', 'f16'] as const).map((b) => [ruleVariant(ctx, lmHead, b), ruleVariant(ctx, mlp, b)]);
    if (isSoftwareAdapter(ctx.adapter) && ctx.hasSubgroups) {
      expect(rules).toEqual([
        ['reg8x8', 'quad16x8'],
        ['widen+reg8x8', 'widen+quad16x8'],
      ]);
    } else {
      // Elsewhere the size does not change the choice.
      for (const [small, large] of rules) expect(small).toBe(large);
    }
  });

  it('many workgroups in both directions (default variant)', async () => {
    expectOutcomes(
      await runAll([
        { dims: { m: 150, k: 64, n: 530, transB: true }, seed: 600 },
        { dims: { m: 150, k: 64, n: 530, transB: true }, bFormat: 'f16', seed: 601 },
        { dims: { m: 130, k: 72, n: 300, transA: true }, accumulate: true, seed: 602 },
      ]),
    );
  });

  it('gives bitwise identical results on every run, for every variant', async () => {
    await expectBitwiseRepeatable(ctx, matmulVariants(ctx), 40, 96, 72);
  });

  it('rejects operands that do not fit their bindings and unknown variants', async () => {
    const small = ctx.createBuffer(64);
    try {
      const step = ctx.step();
      expect(() => matmul(step, small, small, small, { m: 8, k: 8, n: 8 })).toThrow(/needs 256 bytes/);
      expect(() => matmul(step, small, small, small, { m: 2, k: 2, n: 2 }, { variant: 'nope' })).toThrow(/unknown variant/);
    } finally {
      small.destroy();
    }
  });

  if (ctx.hasShaderF16) {
    it('native shader-f16 variant (shared64_f16) reads f16 B directly: exercised on this adapter', async () => {
      expect(matmulVariants(ctx)).toContain('shared64_f16');
      const cases: MatmulCase[] = [];
      for (const [transA, transB] of TRANSPOSES) {
        cases.push({ dims: { m: 17, k: 33, n: 65, transA, transB }, bFormat: 'f16', variant: 'shared64_f16', seed: 800 + cases.length });
        cases.push({ dims: { m: 9, k: 15, n: 11, transA, transB, offsetB: 3 }, bFormat: 'f16', variant: 'shared64_f16', bias: true, seed: 800 + cases.length });
      }
      const outcomes = await runAll(cases);
      for (const o of outcomes) console.log(o.detail);
      expectOutcomes(outcomes);
    });
  } else {
    it('native shader-f16 variant: NOT EXERCISED, this adapter lacks shader-f16 (only checks it is not offered)', async () => {
      console.log(`shader-f16 variant not exercised on ${ctx.adapter.description || ctx.adapter.architecture}: no shader-f16`);
      expect(matmulVariants(ctx)).not.toContain('shared64_f16');
      const step = ctx.step();
      const x = ctx.createBuffer(16);
      try {
        expect(() => matmul(step, x, x, x, { m: 1, k: 1, n: 1 }, { bFormat: 'f16', variant: 'shared64_f16' })).toThrow(/shader-f16/);
      } finally {
        x.destroy();
      }
    });
  }

  it('the pairwise cases hold every B-side and A-side combination and every transpose pair, in half the cases', () => {
    const cases = pairwise([0, 1, 2]);
    const distinct = (key: (c: (typeof cases)[number]) => string) => new Set(cases.map(key)).size;
    expect(cases).toHaveLength(12);
    expect(distinct((c) => `${c.transB} ${c.bFormat} ${c.layout}`)).toBe(12);
    expect(distinct((c) => `${c.transA} ${c.layout}`)).toBe(6);
    expect(distinct((c) => `${c.transA} ${c.transB}`)).toBe(4);
  });

  it('names each case it checks', () => {
    expect(describeCase({ dims: { m: 2, k: 3, n: 4, transB: true, offsetB: 1 }, bFormat: 'f16', seed: 0 })).toBe(
      '2x3x4 transB offsets 0/1/0 f16 B',
    );
  });
});
