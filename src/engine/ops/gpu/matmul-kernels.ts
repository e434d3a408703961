// The matmul kernel variants: which WGSL files each is built from, its entry point, its tunables and the
// block of out one workgroup computes (for the dispatch grid). The WGSL files are parts joined here; see
// shaders/matmul_common.wgsl for the flags and bindings every variant shares.
//
//   quad16x8        16x8 outputs per invocation, quads share A rows (subgroups); 64 invocations =
//                   16 quads, Q of them along m: a workgroup covers 16*Q x 32*(16/Q).
//   reg8x8, reg4x4  8x8 / 4x4 outputs per invocation, no subgroups; 64 invocations, W along m.
//   shared64        64x64 per 16x16 workgroup, 4x4 per invocation, k tiles of SH_TK in workgroup memory.
//   shared64_f16    shared64 reading f16 B natively (shader-f16).
//   widen+X         X after widening an f16 B once into an f32 scratch copy (f32 B: X unchanged).
//   gemv_cols       decode (m <= 8, B stored (n, k)): 4 columns x m rows per invocation, each streaming
//                   its B rows once; no barriers (software adapters).
//   gemv_splitk     decode: SPLITK_LANES invocations per column split k, partials summed in workgroup
//                   memory (real GPUs without subgroups); gemv_splitk_sg sums them in subgroups first.
//
// Q / W are picked per product to pad (m, n) the least (e.g. n = 576 runs 64-column blocks rather than
// 256-column ones) and passed as a parameter (lanes_m), not a constant: one pipeline serves every split.

import commonSource from '../../../../shaders/matmul_common.wgsl?raw';
import b32Source from '../../../../shaders/matmul_b32.wgsl?raw';
import f16Source from '../../../../shaders/matmul_f16.wgsl?raw';
import regSource from '../../../../shaders/matmul_reg.wgsl?raw';
import quadSource from '../../../../shaders/matmul_quad.wgsl?raw';
import sharedSource from '../../../../shaders/matmul_shared.wgsl?raw';
import widenSource from '../../../../shaders/matmul_widen.wgsl?raw';
import gemvBSource from '../../../../shaders/matmul_gemv_b.wgsl?raw';
import gemvSource from '../../../../shaders/matmul_gemv.wgsl?raw';
import splitkSource from '../../../../shaders/matmul_gemv_splitk.wgsl?raw';
import splitkSgSource from '../../../../shaders/matmul_gemv_sg.wgsl?raw';
import { defineKernel, joinWgsl, MAX_WORKGROUPS_PER_DIM, type BindingKind, type KernelDef } from '../../gpu/kernel';

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
const GEMV_B = { file: 'matmul_gemv_b.wgsl', source: gemvBSource };
const SPLITK = { file: 'matmul_gemv_splitk.wgsl', source: splitkSource };
const GEMV_SOURCE = joinWgsl(COMMON, GEMV_B, { file: 'matmul_gemv.wgsl', source: gemvSource });
const SPLITK_SOURCE = joinWgsl(COMMON, GEMV_B, SPLITK);
const SPLITK_SG_SOURCE = joinWgsl({ file: 'matmul_gemv_sg.wgsl', source: splitkSgSource }, COMMON, GEMV_B, SPLITK);

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
  | 'widen+quad16x8'
  | 'gemv_cols'
  | 'gemv_splitk'
  | 'gemv_splitk_sg';

export interface MatmulVariant {
  readonly name: MatmulVariantName;
  readonly kernel: KernelDef;
  /** An f16 B is first widened to an f32 scratch copy (WIDEN_KERNEL); an f32 B runs the kernel as is. */
  readonly widenB?: boolean;
  /** The kernel reads A as vec4 where A is aligned (A_FAST); the others read A element by element. */
  readonly vecA: boolean;
  /** What the device must offer. */
  readonly needs?: 'subgroups' | 'shader-f16';
  /**
   * The decode kernels (gemv_*) take only products with m <= GEMV_MAX_M and B stored (n, k), not transA,
   * and read B rows as 16-byte vectors when every row starts on 16 bytes (their B_FAST). The others take
   * every product.
   */
  readonly gemv?: boolean;
  /** The variant's choices for an (m, k, n) product. */
  tune(m: number, n: number, k: number): MatmulTuneChoice;
  /** Rows and columns of out per workgroup, given those choices. */
  block(choice: MatmulTuneChoice): { rows: number; cols: number };
}

export interface MatmulTuneChoice {
  /** Override constants (each distinct set is a pipeline of its own). */
  readonly constants: Readonly<Record<string, number>>;
  /**
   * Invocations (reg) or quads (quad) of a workgroup along m, passed as a parameter (Params.lanes_m) so one
   * pipeline serves every split; 0 where the kernel has no such split.
   */
  readonly lanesM: number;
}

const NO_CONSTANTS: Readonly<Record<string, number>> = Object.freeze({});

/** One frozen choice per distinct (first, second) constant pair: the dispatcher interns by identity. */
function pairChoices(first: string, second: string): (a: number, b: number) => MatmulTuneChoice {
  const known = new Map<number, MatmulTuneChoice>();
  return (a, b) => {
    const key = a * 65536 + b;
    let choice = known.get(key);
    if (!choice) known.set(key, (choice = { constants: Object.freeze({ [first]: a, [second]: b }), lanesM: 0 }));
    return choice;
  };
}
const splitkChoice = pairChoices('GEMV_M', 'SPLITK_LANES');
const gemvColsChoice = pairChoices('GEMV_M', 'GEMV_WG');
/** The reg and quad kernels' choice: no constants, `lanesM` along m. */
const lanes = (lanesM: number): MatmulTuneChoice => ({ constants: NO_CONSTANTS, lanesM });

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
const REG_LANES_M_OPTIONS = [8, 4, 16, 2, 32, 1, 64];
const QUAD_LANES_M_OPTIONS = [2, 4, 1, 8, 16];

const reg8x8: Omit<MatmulVariant, 'name'> = {
  kernel: defineKernel('matmul.reg', REG_SOURCE, 'reg8x8', BINDINGS),
  vecA: true,
  tune: (m, n) => lanes(leastPadding(m, n, REG_LANES_M_OPTIONS, regBlock(8))),
  block: (c) => regBlock(8)(c.lanesM),
};

const quad16x8: Omit<MatmulVariant, 'name'> = {
  kernel: defineKernel('matmul.quad', QUAD_SOURCE, 'quad16x8', BINDINGS),
  vecA: true,
  needs: 'subgroups',
  tune: (m, n) => lanes(leastPadding(m, n, QUAD_LANES_M_OPTIONS, quadBlock)),
  block: (c) => quadBlock(c.lanesM),
};

const SHARED64_CHOICE: MatmulTuneChoice = { constants: Object.freeze({ SH_TK: 16 }), lanesM: 0 };

const shared64: Omit<MatmulVariant, 'name'> = {
  kernel: defineKernel('matmul.shared', SHARED_SOURCE, 'shared64', BINDINGS),
  vecA: false,
  tune: () => SHARED64_CHOICE,
  block: () => ({ rows: 64, cols: 64 }),
};

/** The most rows of A a gemv kernel takes (its accumulators are unrolled for 8). */
export const GEMV_MAX_M = 8;
/** The most columns: every gemv block spans at least 8 columns, and a grid axis holds 65535 blocks. */
export const GEMV_MAX_N = 8 * MAX_WORKGROUPS_PER_DIM;

/**
 * gemv_cols' workgroup: the largest of 16, 8, 4 invocations (64, 32, 16 columns) that still makes 8
 * workgroups, else 4, so a software adapter's threads all get work. Measured on SwiftShader (1 x 1536 x
 * 576, f16): 16 invocations cost 40% less CPU than 64, mostly the 33% of padded columns that 256-column
 * blocks compute there; 4 cost as much as 16.
 */
function gemvColsWorkgroup(n: number): number {
  for (const wg of [16, 8]) if (Math.ceil(n / (4 * wg)) >= 8) return wg;
  return 4;
}

/**
 * Invocations per column for the split-k kernels: enough 16-byte octets per lane to keep loads in flight,
 * few enough that the last round over k leaves few lanes idle (k = 576 in f16 is 72 octets: 9 rounds of 8
 * lanes, against 2.25 rounds of 32). At least 8 (lane r < m sums row r).
 */
function splitkLanes(k: number): number {
  const octets = Math.ceil(k / 8);
  return octets >= 256 ? 32 : octets >= 96 ? 16 : 8;
}

const splitkBlock = (lanes: number) => ({ rows: GEMV_MAX_M, cols: 256 / lanes });

const gemvSplitk: Omit<MatmulVariant, 'name'> = {
  kernel: defineKernel('matmul.gemv_splitk', SPLITK_SOURCE, 'gemv_splitk', BINDINGS),
  vecA: true,
  gemv: true,
  tune: (m, _n, k) => splitkChoice(m, splitkLanes(k)),
  block: (c) => splitkBlock(c.constants.SPLITK_LANES),
};

export const MATMUL_VARIANTS: Readonly<Record<MatmulVariantName, MatmulVariant>> = {
  reg8x8: { name: 'reg8x8', ...reg8x8 },
  'widen+reg8x8': { name: 'widen+reg8x8', ...reg8x8, widenB: true },
  reg4x4: {
    name: 'reg4x4',
    kernel: defineKernel('matmul.reg', REG_SOURCE, 'reg4x4', BINDINGS),
    vecA: true,
    tune: (m, n) => lanes(leastPadding(m, n, REG_LANES_M_OPTIONS, regBlock(4))),
    block: (c) => regBlock(4)(c.lanesM),
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
  gemv_cols: {
    name: 'gemv_cols',
    kernel: defineKernel('matmul.gemv_cols', GEMV_SOURCE, 'gemv_cols', BINDINGS),
    vecA: true,
    gemv: true,
    tune: (m, n) => gemvColsChoice(m, gemvColsWorkgroup(n)),
    block: (c) => ({ rows: GEMV_MAX_M, cols: 4 * c.constants.GEMV_WG }),
  },
  gemv_splitk: { name: 'gemv_splitk', ...gemvSplitk },
  gemv_splitk_sg: {
    name: 'gemv_splitk_sg',
    ...gemvSplitk,
    kernel: defineKernel('matmul.gemv_splitk_sg', SPLITK_SG_SOURCE, 'gemv_splitk_sg', BINDINGS),
    needs: 'subgroups',
  },
};
