// The matmul kernel variants: which WGSL files each is built from, its entry point, its tunables and the
// block of out one workgroup computes (for the dispatch grid). The WGSL files are parts joined here; see
// shaders/matmul_common.wgsl for the flags and bindings every variant shares.
//
//   quad16x8        16x8 outputs per invocation, quads share A rows (subgroups); 64 invocations =
//                   16 quads, QUADS_M of them along m: a workgroup covers 16*QUADS_M x 32*(16/QUADS_M).
//   reg8x8, reg4x4  8x8 / 4x4 outputs per invocation, no subgroups; 64 invocations, REG_WG_M along m.
//   shared64        64x64 per 16x16 workgroup, 4x4 per invocation, k tiles of SH_TK in workgroup memory.
//   shared64_f16    shared64 reading f16 B natively (shader-f16).
//   widen+X         X after widening an f16 B once into an f32 scratch copy (f32 B: X unchanged).
//
// QUADS_M / REG_WG_M are picked per product to pad (m, n) the least (e.g. n = 576 runs 64-column blocks
// rather than 256-column ones).

import commonSource from '../../../../shaders/matmul_common.wgsl?raw';
import b32Source from '../../../../shaders/matmul_b32.wgsl?raw';
import f16Source from '../../../../shaders/matmul_f16.wgsl?raw';
import regSource from '../../../../shaders/matmul_reg.wgsl?raw';
import quadSource from '../../../../shaders/matmul_quad.wgsl?raw';
import sharedSource from '../../../../shaders/matmul_shared.wgsl?raw';
import widenSource from '../../../../shaders/matmul_widen.wgsl?raw';
import { defineKernel, joinWgsl, type BindingKind, type KernelDef } from '../../gpu/kernel';

/** a, a as vec4, b, b as vec4, bias, out, params. */
const BINDINGS: readonly BindingKind[] = ['read', 'read', 'read', 'read', 'read', 'write', 'uniform'];

const COMMON = { file: 'matmul_common.wgsl', source: commonSource };
const B32 = { file: 'matmul_b32.wgsl', source: b32Source };
const F16 = { file: 'matmul_f16.wgsl', source: f16Source };
const REG_SOURCE = joinWgsl(COMMON, B32, { file: 'matmul_reg.wgsl', source: regSource });
// `enable` directives must open a module, so the files that carry one go first.
const QUAD_SOURCE = joinWgsl({ file: 'matmul_quad.wgsl', source: quadSource }, COMMON, B32);
const SHARED_SOURCE = joinWgsl(COMMON, B32, { file: 'matmul_shared.wgsl', source: sharedSource });
const SHARED_F16_SOURCE = joinWgsl(F16, COMMON, { file: 'matmul_shared.wgsl', source: sharedSource });

/** f16 -> f32 widening of B into scratch, ahead of the register kernels (src, dst, params). */
export const WIDEN_KERNEL = defineKernel('matmul.widen', widenSource, 'widen', ['read', 'write', 'uniform']);
export const WIDEN_WG = 256;

export type MatmulVariantName =
  | 'reg8x8'
  | 'reg4x4'
  | 'quad16x8'
  | 'shared64'
  | 'shared64_f16'
  | 'widen+reg8x8'
  | 'widen+quad16x8';

export interface MatmulVariant {
  readonly name: MatmulVariantName;
  readonly kernel: KernelDef;
  /** An f16 B is first widened to an f32 scratch copy (WIDEN_KERNEL); an f32 B runs the kernel as is. */
  readonly widenB?: boolean;
  /** The kernel reads A as vec4 where A is aligned (A_FAST); the others read A element by element. */
  readonly vecA: boolean;
  /** What the device must offer. */
  readonly needs?: 'subgroups' | 'shader-f16';
  /** The variant's own override constants for an (m, n) product. */
  tune(m: number, n: number): Record<string, number>;
  /** Rows and columns of out per workgroup, given those constants. */
  block(constants: Readonly<Record<string, number>>): { rows: number; cols: number };
}

/**
 * The workgroup shape (among `options`, in order of preference) that pads (m, n) the least: n = 576 in
 * blocks of 256 columns computes 768, in blocks of 64 exactly 576.
 */
function leastPadding(m: number, n: number, options: readonly number[], block: (o: number) => { rows: number; cols: number }): number {
  let best = options[0];
  let bestArea = Infinity;
  for (const o of options) {
    const { rows, cols } = block(o);
    const area = Math.ceil(m / rows) * rows * Math.ceil(n / cols) * cols;
    if (area < bestArea) {
      best = o;
      bestArea = area;
    }
  }
  return best;
}

/** Lanes along m in a 64-lane workgroup of register tiles of t x t. */
const regBlock = (t: number) => (w: number) => ({ rows: t * w, cols: t * (64 / w) });
/** Quads along m in a 16-quad workgroup of 16 x 32 quad tiles. */
const quadBlock = (q: number) => ({ rows: 16 * q, cols: 32 * (16 / q) });
const REG_WG_M_OPTIONS = [8, 4, 16, 2, 32, 1, 64];
const QUADS_M_OPTIONS = [2, 4, 1, 8, 16];

const reg8x8: Omit<MatmulVariant, 'name'> = {
  kernel: defineKernel('matmul.reg', REG_SOURCE, 'reg8x8', BINDINGS),
  vecA: true,
  tune: (m, n) => ({ REG_WG_M: leastPadding(m, n, REG_WG_M_OPTIONS, regBlock(8)) }),
  block: (c) => regBlock(8)(c.REG_WG_M),
};

const quad16x8: Omit<MatmulVariant, 'name'> = {
  kernel: defineKernel('matmul.quad', QUAD_SOURCE, 'quad16x8', BINDINGS),
  vecA: true,
  needs: 'subgroups',
  tune: (m, n) => ({ QUADS_M: leastPadding(m, n, QUADS_M_OPTIONS, quadBlock) }),
  block: (c) => quadBlock(c.QUADS_M),
};

const shared64: Omit<MatmulVariant, 'name'> = {
  kernel: defineKernel('matmul.shared', SHARED_SOURCE, 'shared64', BINDINGS),
  vecA: false,
  tune: () => ({ SH_TK: 16 }),
  block: () => ({ rows: 64, cols: 64 }),
};

export const MATMUL_VARIANTS: Readonly<Record<MatmulVariantName, MatmulVariant>> = {
  reg8x8: { name: 'reg8x8', ...reg8x8 },
  'widen+reg8x8': { name: 'widen+reg8x8', ...reg8x8, widenB: true },
  reg4x4: {
    name: 'reg4x4',
    kernel: defineKernel('matmul.reg', REG_SOURCE, 'reg4x4', BINDINGS),
    vecA: true,
    tune: (m, n) => ({ REG_WG_M: leastPadding(m, n, REG_WG_M_OPTIONS, regBlock(4)) }),
    block: (c) => regBlock(4)(c.REG_WG_M),
  },
  quad16x8: { name: 'quad16x8', ...quad16x8 },
  'widen+quad16x8': { name: 'widen+quad16x8', ...quad16x8, widenB: true },
  shared64: { name: 'shared64', ...shared64 },
  shared64_f16: {
    name: 'shared64_f16',
    ...shared64,
    kernel: defineKernel('matmul.shared_f16', SHARED_F16_SOURCE, 'shared64', BINDINGS),
    needs: 'shader-f16',
  },
};
