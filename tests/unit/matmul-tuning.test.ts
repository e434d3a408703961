// The matmul tuning's pure parts: the integer slot of a product at every bucket edge, the classes' products
// in their own slots, the per-slot table of a record, the choice against the rule (margin, notes), the
// check of two variants' outputs, the adapter key and the record checker's messages.

import { describe, expect, it } from 'vitest';
import type { GpuAdapterSummary } from '../../src/engine/gpu/adapter-info';
import { chooseVariant, mismatch, RULE_MARGIN } from '../../src/engine/ops/gpu/matmul-autotune';
import { classSlots, MATMUL_CLASSES, MATMUL_SLOTS, matmulSlot } from '../../src/engine/ops/gpu/matmul-classes';
import { checkMatmulTuning } from '../../src/engine/ops/gpu/matmul-tuning-cache';
import { matmulAdapterKey, matmulKernelsVersion, tunedVariant, tuningSlots, type MatmulTuning } from '../../src/engine/ops/gpu/matmul-tuning';

const ADAPTER: GpuAdapterSummary = {
  vendor: 'google',
  architecture: 'swiftshader',
  device: 'swiftshader-device-subzero-',
  description: 'SwiftShader driver 5.0.0',
  isFallbackAdapter: true,
  features: { shaderF16: false, subgroups: true, timestampQuery: true },
  limits: {
    maxStorageBufferBindingSize: 1 << 30,
    maxBufferSize: 1 << 30,
    maxComputeWorkgroupStorageSize: 32768,
    maxComputeInvocationsPerWorkgroup: 256,
    maxComputeWorkgroupsPerDimension: 65535,
    maxStorageBuffersPerShaderStage: 12,
  },
};

function record(choices: Record<string, string>): MatmulTuning {
  return {
    adapterKey: 'k',
    kernelsVersion: matmulKernelsVersion(),
    tunedAt: '2026-12-10T10:00:00.000Z',
    profile: 'small',
    budgetS: 15,
    elapsedS: 12,
    classes: Object.entries(choices).map(([id, choice]) => ({
      id,
      label: id,
      products: [],
      bFormat: id.startsWith('f16') ? 'f16' : 'f32',
      choice: choice as MatmulTuning['classes'][number]['choice'],
      rule: 'reg4x4',
      candidates: [],
    })),
  };
}

describe('matmul shape slots', () => {
  it('splits m at 16 and 128, n at 32, and keeps B format and transA apart', () => {
    expect(matmulSlot(15, 32, false, false)).toBe(0);
    expect(matmulSlot(16, 32, false, false)).toBe(2);
    expect(matmulSlot(127, 32, false, false)).toBe(2);
    expect(matmulSlot(128, 32, false, false)).toBe(4);
    expect(matmulSlot(128, 32, true, false)).toBe(5);
    expect(matmulSlot(128, 31, false, false)).toBe(10);
    expect(matmulSlot(1, 1, true, true)).toBe(19);
    expect(matmulSlot(1 << 20, 1 << 20, true, true)).toBe(17);
    const all = new Set<number>();
    for (const m of [1, 16, 128]) for (const n of [1, 32]) for (const f16 of [false, true]) for (const t of [false, true]) all.add(matmulSlot(m, n, f16, t));
    expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: MATMUL_SLOTS }, (_, i) => i));
  });

  it('puts every product of a class in one of its slots, in both profiles, and no slot in two classes', () => {
    const owner = new Map<number, string>();
    for (const c of MATMUL_CLASSES) {
      const slots = classSlots(c);
      for (const profile of ['full', 'small'] as const) {
        for (const p of c.products[profile]) expect(slots, `${c.id} ${profile} ${p.m}x${p.k}x${p.n}`).toContain(matmulSlot(p.m, p.n, c.f16, p.transA));
      }
      for (const s of slots) {
        expect(owner.get(s), `slot ${s}`).toBeUndefined();
        owner.set(s, c.id);
      }
    }
    expect(new Set(MATMUL_CLASSES.map((c) => c.id)).size).toBe(MATMUL_CLASSES.length);
  });

  it("maps a record's choices onto its classes' slots and leaves the rest to the rule", () => {
    const slots = tuningSlots(record({ 'f16.large': 'reg8x8', 'f32.narrow': 'reg4x4', 'gone.class': 'quad16x8' }));
    const active = { record: record({}), slots };
    expect(tunedVariant(active, 256, 1536, true, false)).toBe('reg8x8');
    expect(tunedVariant(active, 256, 1536, false, false)).toBeUndefined();
    expect(tunedVariant(active, 64, 16, false, false)).toBe('reg4x4');
    expect(tunedVariant(active, 256, 16, false, false)).toBe('reg4x4');
    expect(tunedVariant(active, 4, 16, false, false)).toBeUndefined();
    expect(slots.filter(Boolean)).toHaveLength(3);
    expect(tunedVariant(undefined, 256, 1536, true, false)).toBeUndefined();
  });
});

describe('choosing a variant', () => {
  it('keeps the rule unless a candidate beats it by the margin, and never picks a candidate with a note', () => {
    const rule = 'widen+quad16x8';
    expect(RULE_MARGIN).toBe(1.05);
    const slightly = [
      { variant: rule, gflops: 1 },
      { variant: 'quad16x8', gflops: 1.04 },
    ] as const;
    expect(chooseVariant(slightly, rule)).toBe(rule);
    const clearly = [
      { variant: rule, gflops: 1 },
      { variant: 'quad16x8', gflops: 1.2 },
      { variant: 'reg8x8', gflops: 1.1 },
    ] as const;
    expect(chooseVariant(clearly, rule)).toBe('quad16x8');
    const wrong = [
      { variant: rule, gflops: 1 },
      { variant: 'quad16x8', gflops: 5, note: 'wrong result (4x576x1536: element 3: 1 against 2)' },
    ] as const;
    expect(chooseVariant(wrong, rule)).toBe(rule);
    // The rule failed: the fastest that worked.
    const ruleFailed = [
      { variant: rule, gflops: null, note: 'error: x' },
      { variant: 'reg8x8', gflops: 0.4 },
      { variant: 'reg4x4', gflops: 0.5 },
    ] as const;
    expect(chooseVariant(ruleFailed, rule)).toBe('reg4x4');
    expect(chooseVariant([{ variant: rule, gflops: null, note: 'error: x' }], rule)).toBe(rule);
  });

  it("accepts rounding differences between two variants' sums and names the first element beyond them", () => {
    const want = Float32Array.from([1, -2, 0.5, 100]);
    const k = 576;
    const atol = 2 * (1e-6 + 8e-8 * k);
    expect(mismatch(Float32Array.from([1 + atol * 0.9, -2, 0.5, 100 * (1 + 1e-5)]), want, k)).toBeNull();
    expect(mismatch(Float32Array.from([1, -2, 0.5 + 10 * atol, 100]), want, k)).toBe(`element 2: ${Math.fround(0.5 + 10 * atol)} against 0.5`);
    expect(mismatch(Float32Array.from([1, NaN, 0.5, 100]), want, k)).toMatch(/^element 1: NaN/);
  });
});

describe('tuning records', () => {
  it('keys an adapter by its identity and the kernel features, so a driver update or a device without shader-f16 misses', () => {
    const key = matmulAdapterKey(ADAPTER, { shaderF16: false, subgroups: true });
    expect(key).toMatch(/^google \/ swiftshader \/ swiftshader-device-subzero- \/ SwiftShader driver 5\.0\.0 #[0-9a-f]{8}$/);
    expect(matmulAdapterKey(ADAPTER, { shaderF16: false, subgroups: true })).toBe(key);
    expect(matmulAdapterKey(ADAPTER, { shaderF16: false, subgroups: false })).not.toBe(key);
    expect(matmulAdapterKey({ ...ADAPTER, description: 'SwiftShader driver 5.0.1' }, { shaderF16: false, subgroups: true })).not.toBe(key);
    expect(matmulKernelsVersion()).toMatch(/^[0-9a-f]{8}$/);
  });

  it('checks a stored record and names the field that is wrong', () => {
    const good = record({ 'f16.large': 'quad16x8' });
    expect(checkMatmulTuning(good, 'file.json')).toBe(good);
    expect(() => checkMatmulTuning({ ...good, budgetS: '15' }, 'file.json')).toThrow('file.json: field "budgetS" must be a number');
    expect(() => checkMatmulTuning({ ...good, profile: 'huge' }, 'file.json')).toThrow('file.json: field "profile" must be "full" or "small"');
    const badChoice = { ...good, classes: [{ ...good.classes[0], choice: 'quad32x32' }] };
    expect(() => checkMatmulTuning(badChoice, 'file.json')).toThrow('file.json: field "classes[0].choice" must be a matmul variant name');
    const badCandidate = { ...good, classes: [{ ...good.classes[0], candidates: [{ variant: 'reg8x8', gflops: 'fast' }] }] };
    expect(() => checkMatmulTuning(badCandidate, 'file.json')).toThrow('field "classes[0].candidates[0].gflops" must be a number or null');
    expect(() => checkMatmulTuning(null, 'file.json')).toThrow('file.json: field "(record)" must be an object');
  });
});
