// Matmul test helpers shared by the GPU tests: which kernels a call records, bitwise repeatability over
// variants, and a hand-made tuning record.

import { expect } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import { packF16 } from '../../src/engine/gpu/f16';
import type { StepEncoder } from '../../src/engine/gpu/step-encoder';
import { matmul, type MatmulDims, type MatrixFormat } from '../../src/engine/ops/gpu/matmul';
import { contextAdapterKey, matmulKernelsVersion, type MatmulTuning } from '../../src/engine/ops/gpu/matmul-tuning';
import { Rng } from '../../src/engine/util/rng';

/** The kernels (name:entry point) recorded into `step` from now on, in order. */
export function watchDispatches(step: StepEncoder): string[] {
  const seen: string[] = [];
  const dispatch = step.dispatch.bind(step);
  step.dispatch = (def, ...rest) => {
    seen.push(`${def.name}:${def.entryPoint}`);
    dispatch(def, ...rest);
  };
  return seen;
}

/** The kernels one matmul call records (contiguous operands, one batch item). */
export async function kernelsOf(ctx: GpuContext, dims: MatmulDims, bFormat: MatrixFormat, variant?: string): Promise<string[]> {
  const a = ctx.createBuffer(Math.max(16, dims.m * dims.k * 4));
  const b = ctx.createBuffer(Math.max(16, dims.k * dims.n * 4));
  const out = ctx.createBuffer(Math.max(16, dims.m * dims.n * 4));
  try {
    const step = ctx.step();
    const seen = watchDispatches(step);
    matmul(step, out, a, b, dims, { bFormat, variant });
    await step.submit();
    return seen;
  } finally {
    for (const buffer of [a, b, out]) buffer.destroy();
  }
}

/** Each variant, with f32 and f16 B, gives the same output bits twice for (m, k) @ (n, k)^T. */
export async function expectBitwiseRepeatable(ctx: GpuContext, variants: readonly string[], m: number, k: number, n: number): Promise<void> {
  const rng = new Rng(700);
  const a = ctx.upload(rng.f32(m * k));
  const bValues = rng.f32(n * k);
  const b32 = ctx.upload(bValues);
  const b16 = ctx.upload(packF16(bValues));
  const out = ctx.createBuffer(m * n * 4);
  try {
    for (const variant of variants) {
      for (const [b, bFormat] of [
        [b32, 'f32'],
        [b16, 'f16'],
      ] as const) {
        const runs: Uint32Array[] = [];
        for (let r = 0; r < 2; r++) {
          const step = ctx.step();
          step.clear(out);
          matmul(step, out, a, b, { m, k, n, transB: true }, { bFormat, variant });
          await step.submit();
          runs.push(await ctx.readU32(out, m * n));
        }
        expect(runs[1], `${variant} ${bFormat}`).toEqual(runs[0]);
      }
    }
  } finally {
    for (const buffer of [a, b32, b16, out]) buffer.destroy();
  }
}

/** A tuning record for this adapter and these kernels with the given classes (as if measured just now). */
export function testTuning(ctx: GpuContext, classes: MatmulTuning['classes']): MatmulTuning {
  return {
    adapterKey: contextAdapterKey(ctx),
    kernelsVersion: matmulKernelsVersion(),
    tunedAt: new Date().toISOString(),
    profile: 'small',
    budgetS: 1,
    elapsedS: 1,
    classes,
  };
}
