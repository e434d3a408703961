// The matmul autotune on a real adapter (SwiftShader by default), with a tiny budget and two classes: the
// record's structure (this adapter's key, the kernels' version, every candidate in order with a figure or
// a note, the choice one of them), then the dispatcher following a record: a forced choice of reg8x8 for
// m >= 128 with f16 B and of reg4x4 for LoRA's narrow products is the kernel each dispatch records (no
// widening pass), a slot the record does not cover keeps the rule, and the tuned products equal the
// float64 CPU reference.

import { afterEach, describe, expect, it } from 'vitest';
import type { StepEncoder } from '../../src/engine/gpu/step-encoder';
import { matmul, ruleVariant } from '../../src/engine/ops/gpu/matmul';
import { autotuneMatmul, classCandidates } from '../../src/engine/ops/gpu/matmul-autotune';
import { MATMUL_CLASSES } from '../../src/engine/ops/gpu/matmul-classes';
import { activateMatmulTuning, contextAdapterKey, matmulKernelsVersion, type MatmulTuning } from '../../src/engine/ops/gpu/matmul-tuning';
import { ensureMatmulTuning, type MatmulTuningStore } from '../../src/engine/ops/gpu/matmul-tuning-cache';
import { runMatmulCase } from '../../src/engine/selftest/checks/matmul';
import { expectOutcomes } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';
import { kernelsOf, testTuning } from '../helpers/matmul-gpu';

const ctx = await testGpu();

afterEach(() => {
  ctx.matmulTuning = undefined;
});


describe('matmul autotune', () => {
  it('measures every candidate of each class within a small budget and keeps a choice that ran', async () => {
    const classes = MATMUL_CLASSES.filter((c) => c.id === 'f16.decode' || c.id === 'f32.gradB');
    const progress: string[] = [];
    const started = performance.now();
    const record = await autotuneMatmul(ctx, { budgetS: 4, classes, maxSamples: 2, onProgress: (p) => progress.push(`${p.done}/${p.total} ${p.phase} ${p.classId} ${p.variant}`) });
    const seconds = (performance.now() - started) / 1000;
    expect(record.adapterKey).toBe(contextAdapterKey(ctx));
    expect(record.kernelsVersion).toBe(matmulKernelsVersion());
    expect(record.profile).toBe('small'); // SwiftShader and lavapipe are software adapters
    expect(record.budgetS).toBe(4);
    expect(Math.abs(record.elapsedS - seconds)).toBeLessThan(1);
    expect(Number.isNaN(Date.parse(record.tunedAt))).toBe(false);
    expect(record.classes.map((c) => c.id)).toEqual(['f16.decode', 'f32.gradB']);
    for (const [i, c] of record.classes.entries()) {
      const cls = classes[i];
      expect(c.bFormat).toBe(cls.f16 ? 'f16' : 'f32');
      expect(c.products).toEqual(cls.products.small);
      expect(c.rule).toBe(ruleVariant(ctx, cls.products.small[0], c.bFormat));
      expect(c.candidates.map((x) => x.variant)).toEqual(classCandidates(ctx, cls, c.rule));
      for (const x of c.candidates) expect(x.gflops !== null ? x.gflops > 0 && !x.note : typeof x.note === 'string').toBe(true);
      if (i === 0) {
        // The first measurement always runs: the first class's rule has a figure and no note.
        expect(c.candidates[0]).toEqual({ variant: c.rule, gflops: expect.any(Number) });
        expect(c.candidates[0].gflops).toBeGreaterThan(0);
      }
      // The choice ran, unless nothing of the class did (the budget ran out first): then it is the rule.
      const chosen = c.candidates.find((x) => x.variant === c.choice);
      if (c.candidates[0].gflops === null) {
        expect(c.candidates.every((x) => x.note === 'not timed: budget spent')).toBe(true);
        expect(c.choice).toBe(c.rule);
      } else {
        expect(chosen?.gflops).toBeGreaterThan(0);
      }
      console.log(`${c.id}: chose ${c.choice}; ${c.candidates.map((x) => `${x.variant} ${x.gflops?.toFixed(3) ?? x.note}`).join(', ')}`);
    }
    // With f32 B the widening variants are their twins: only f16 classes time them.
    expect(record.classes[1].candidates.some((x) => x.variant.startsWith('widen+'))).toBe(false);
    // Every candidate's first measurement, then one more sample round (maxSamples 2), each counted once.
    const candidates = record.classes.reduce((s, c) => s + c.candidates.length, 0);
    expect(progress).toHaveLength(2 * candidates);
    expect(progress.at(-1)).toMatch(new RegExp(`^${2 * candidates}/${2 * candidates} sample `));
    expect(progress.filter((p) => p.includes(' measure '))).toHaveLength(candidates);
    // Round robin: both rules first.
    expect(progress.slice(0, 2).map((p) => p.split(' ').slice(1, 3).join(' '))).toEqual(['measure f16.decode', 'measure f32.gradB']);
    console.log(`autotune of 2 classes: ${seconds.toFixed(1)} s for a 4 s budget`);
  });

  it('dispatches the variant a record chose for the class and the rule elsewhere, with products equal to the CPU reference', async () => {
    const large = { m: 160, k: 48, n: 96, transB: true };
    const narrow = { m: 40, k: 36, n: 8 };
    const uncovered = { m: 160, k: 40, n: 8, transB: true }; // f16 B, n < 32: no class covers it
    const ruleLarge = await kernelsOf(ctx, large, 'f16');
    const ruleNarrow = await kernelsOf(ctx, narrow, 'f32');
    const ruleUncovered = await kernelsOf(ctx, uncovered, 'f16');

    const record = testTuning(ctx, [
      { id: 'f16.large', label: 'm ≥ 128, B f16', products: [], bFormat: 'f16', choice: 'reg8x8', rule: 'widen+quad16x8', candidates: [] },
      { id: 'f32.narrow', label: 'm ≥ 16, n < 32, B f32 (LoRA)', products: [], bFormat: 'f32', choice: 'reg4x4', rule: 'reg8x8', candidates: [] },
    ]);
    activateMatmulTuning(ctx, record);
    expect(await kernelsOf(ctx, large, 'f16')).toEqual(['matmul.reg:reg8x8']);
    expect(await kernelsOf(ctx, narrow, 'f32')).toEqual(['matmul.reg:reg4x4']);
    expect(await kernelsOf(ctx, uncovered, 'f16')).toEqual(ruleUncovered);
    // The rule picks otherwise on these products, so the record really changed the dispatch.
    expect(ruleLarge).not.toEqual(['matmul.reg:reg8x8']);
    expect(ruleNarrow).not.toEqual(['matmul.reg:reg4x4']);

    expectOutcomes([
      await runMatmulCase(ctx, { dims: large, bFormat: 'f16', seed: 31 }),
      await runMatmulCase(ctx, { dims: narrow, bFormat: 'f32', seed: 32 }),
      await runMatmulCase(ctx, { dims: { ...large, transB: false }, bFormat: 'f16', seed: 33 }),
    ]);
  });

  it('tunes on a miss, stores and activates the record; the next device start is a cache hit', async () => {
    const saved = new Map<string, MatmulTuning>();
    const store: MatmulTuningStore = { get: async (key) => saved.get(key), put: async (r) => void saved.set(r.adapterKey, r) };
    const tune = { budgetS: 1, classes: MATMUL_CLASSES.filter((c) => c.id === 'f32.narrow.decode') };
    const reasons: string[] = [];
    const first = await ensureMatmulTuning(ctx, store, { tune, onTuning: (why) => reasons.push(why) });
    expect(first.source).toBe('tuned');
    expect(reasons).toEqual(['none is cached for this adapter']);
    expect([...saved.keys()]).toEqual([contextAdapterKey(ctx)]);
    expect(ctx.matmulTuning?.record).toBe(saved.get(contextAdapterKey(ctx)));

    ctx.matmulTuning = undefined;
    const active = () => ctx.matmulTuning; // read afresh: the calls below set it
    const second = await ensureMatmulTuning(ctx, store, { tune, onTuning: (why) => reasons.push(why) });
    expect(second.source).toBe('cache');
    expect(reasons).toHaveLength(1);
    expect(active()?.record).toBe(saved.get(contextAdapterKey(ctx)));

    const again = await ensureMatmulTuning(ctx, store, { tune, retune: true, onTuning: (why) => reasons.push(why) });
    expect(again.source).toBe('tuned');
    expect(reasons.at(-1)).toBe('asked to measure again');
    expect(active()?.record).not.toBe(first.source === 'tuned' ? first.record : undefined);
    expect(active()?.record).toBe(saved.get(contextAdapterKey(ctx)));
  });

  it('refuses a record measured on another adapter or with other kernels', () => {
    const base = testTuning(ctx, []);
    expect(() => activateMatmulTuning(ctx, { ...base, adapterKey: 'other / gpu #00000000' })).toThrow('measured on another adapter');
    expect(() => activateMatmulTuning(ctx, { ...base, kernelsVersion: '00000000' })).toThrow('measured with other kernels');
    expect(ctx.matmulTuning).toBeUndefined();
  });
});
