import { describe, expect, it } from 'vitest';
import { layerNormBackward, layerNormForward, rmsNormBackward, rmsNormForward } from '../../src/engine/ops/cpu/norms';
import type { GpuAdapterSummary } from '../../src/engine/gpu/adapter-info';
import { preferredNormVariant } from '../../src/engine/ops/gpu/norms';
import { Rng } from '../../src/engine/util/rng';
import { expectGradient, weightedSum } from '../helpers/gradcheck';

const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

describe('RMSNorm (CPU reference)', () => {
  it('normalises [3, 4] by sqrt(mean square) = sqrt(12.5) with w = 1, eps = 0', () => {
    const out = new Float64Array(2);
    const rstd = new Float64Array(1);
    rmsNormForward(out, rstd, f64([3, 4]), f64([1, 1]), 1, 2, 0);
    expect(rstd[0]).toBeCloseTo(1 / Math.sqrt(12.5), 15);
    expect(out[0]).toBeCloseTo(3 / Math.sqrt(12.5), 15);
    expect(out[1]).toBeCloseTo(4 / Math.sqrt(12.5), 15);
  });

  it('adds eps to the mean square and scales by the weight, row by row', () => {
    // Row 0: mean square 12.5, + eps 0.5 = 13. Row 1: [1, 1] -> mean square 1, + 0.5 = 1.5.
    const out = new Float64Array(4);
    const rstd = new Float64Array(2);
    rmsNormForward(out, rstd, f64([3, 4, 1, 1]), f64([2, -1]), 2, 2, 0.5);
    const want = [6 / Math.sqrt(13), -4 / Math.sqrt(13), 2 / Math.sqrt(1.5), -1 / Math.sqrt(1.5)];
    want.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 14));
    expect(rstd[1]).toBeCloseTo(1 / Math.sqrt(1.5), 14);
  });

  it('has input and weight gradients that match finite differences', () => {
    const rng = new Rng(21);
    const [N, C, eps] = [3, 5, 1e-5];
    const x = f64(rng.f32(N * C));
    const w = f64(rng.f32(C, 0.5, 1.5));
    const proj = f64(rng.f32(N * C));
    const loss = () => {
      const out = new Float64Array(N * C);
      rmsNormForward(out, new Float64Array(N), x, w, N, C, eps);
      return weightedSum(out, proj);
    };
    const rstd = new Float64Array(N);
    rmsNormForward(new Float64Array(N * C), rstd, x, w, N, C, eps);
    const dx = new Float64Array(N * C);
    const dw = new Float64Array(C);
    rmsNormBackward(dx, dw, proj, x, w, rstd, N, C);
    expectGradient(dx, loss, x, 'rmsnorm dx');
    expectGradient(dw, loss, w, 'rmsnorm dw');
  });

  it('accumulates into existing gradients and skips dw when it is null', () => {
    const x = f64([3, 4]);
    const w = f64([1, 1]);
    const rstd = f64([1 / Math.sqrt(12.5)]);
    const dy = f64([1, 0]);
    const once = new Float64Array(2);
    rmsNormBackward(once, null, dy, x, w, rstd, 1, 2);
    const twice = f64([10, 20]);
    rmsNormBackward(twice, null, dy, x, w, rstd, 1, 2);
    expect(twice[0]).toBeCloseTo(10 + once[0], 14);
    expect(twice[1]).toBeCloseTo(20 + once[1], 14);
    // By hand: r = 1/sqrt(12.5), k = r^2 * (1*1*3) / 2 = 3 / 25; dx = r * ([1, 0] - [3, 4] * 3/25).
    const r = 1 / Math.sqrt(12.5);
    expect(once[0]).toBeCloseTo(r * (1 - 9 / 25), 14);
    expect(once[1]).toBeCloseTo(r * -(12 / 25), 14);
  });
});

describe('LayerNorm (CPU reference)', () => {
  it('centres and scales [1, 3] (mean 2, variance 1) then applies w and b', () => {
    const out = new Float64Array(2);
    const mean = new Float64Array(1);
    const rstd = new Float64Array(1);
    layerNormForward(out, mean, rstd, f64([1, 3]), f64([2, 3]), f64([0.5, -0.5]), 1, 2, 0);
    expect([...mean]).toEqual([2]);
    expect([...rstd]).toEqual([1]);
    expect([...out]).toEqual([-1.5, 2.5]);
  });

  it('uses the biased variance plus eps', () => {
    // [1, 2, 3, 4]: mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25, + eps 0.75 = 2.
    const out = new Float64Array(4);
    const mean = new Float64Array(1);
    const rstd = new Float64Array(1);
    layerNormForward(out, mean, rstd, f64([1, 2, 3, 4]), f64([1, 1, 1, 1]), f64([0, 0, 0, 0]), 1, 4, 0.75);
    expect(rstd[0]).toBeCloseTo(1 / Math.sqrt(2), 15);
    [-1.5, -0.5, 0.5, 1.5].forEach((d, i) => expect(out[i]).toBeCloseTo(d / Math.sqrt(2), 15));
  });

  it('has input, weight and bias gradients that match finite differences', () => {
    const rng = new Rng(22);
    const [N, C, eps] = [3, 6, 1e-5];
    const x = f64(rng.f32(N * C));
    const w = f64(rng.f32(C, 0.5, 1.5));
    const b = f64(rng.f32(C));
    const proj = f64(rng.f32(N * C));
    const loss = () => {
      const out = new Float64Array(N * C);
      layerNormForward(out, new Float64Array(N), new Float64Array(N), x, w, b, N, C, eps);
      return weightedSum(out, proj);
    };
    const mean = new Float64Array(N);
    const rstd = new Float64Array(N);
    layerNormForward(new Float64Array(N * C), mean, rstd, x, w, b, N, C, eps);
    const dx = new Float64Array(N * C);
    const dw = new Float64Array(C);
    const db = new Float64Array(C);
    layerNormBackward(dx, dw, db, proj, x, w, mean, rstd, N, C);
    expectGradient(dx, loss, x, 'layernorm dx');
    expectGradient(dw, loss, w, 'layernorm dw');
    expectGradient(db, loss, b, 'layernorm db');
  });

  it('gives a zero input gradient for a constant upstream gradient with w = 1 (shift invariance)', () => {
    // y is invariant to adding a constant to x, and sum(xhat) = 0, so dy = const gives dx = 0.
    const rng = new Rng(23);
    const C = 7;
    const x = f64(rng.f32(C));
    const mean = new Float64Array(1);
    const rstd = new Float64Array(1);
    const ones = new Float64Array(C).fill(1);
    layerNormForward(new Float64Array(C), mean, rstd, x, ones, new Float64Array(C), 1, C, 1e-5);
    const dx = new Float64Array(C);
    layerNormBackward(dx, null, null, new Float64Array(C).fill(0.3), x, ones, mean, rstd, 1, C);
    for (const v of dx) expect(Math.abs(v)).toBeLessThan(1e-15);
  });
});

describe('norm variant choice', () => {
  const adapter = (over: Partial<GpuAdapterSummary>): GpuAdapterSummary => ({
    vendor: '',
    architecture: '',
    device: '',
    description: '',
    isFallbackAdapter: false,
    features: { shaderF16: false, subgroups: true, timestampQuery: true },
    limits: {
      maxStorageBufferBindingSize: 1 << 30,
      maxBufferSize: 1 << 30,
      maxComputeWorkgroupStorageSize: 32768,
      maxComputeInvocationsPerWorkgroup: 256,
      maxComputeWorkgroupsPerDimension: 65535,
      maxStorageBuffersPerShaderStage: 8,
    },
    ...over,
  });

  it('uses one invocation per row on software adapters and workgroup trees on GPUs', () => {
    expect(preferredNormVariant(adapter({ architecture: 'swiftshader', isFallbackAdapter: true }))).toBe('row');
    expect(preferredNormVariant(adapter({ vendor: 'mesa', description: 'llvmpipe (LLVM 19.1.7, 256 bits)' }))).toBe('row');
    expect(preferredNormVariant(adapter({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100' }))).toBe('workgroup');
  });
});
