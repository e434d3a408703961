// Matrix multiply on the GPU: out[z] = alpha * op(A[z]) @ op(B[z]) (+ bias) (+ out[z] if accumulate), for
// every batch item z, out row-major (m, n). A and out are f32; B is f32 or f16 packed two per u32.
// A linear layer's backward is this same product: dX = dY @ W, dW = dY^T @ X (transA).
//
// Variants (see matmul-kernels.ts and shaders/matmul_*.wgsl): register-tiled kernels for software
// adapters (quad16x8 with subgroups, else reg8x8 / reg4x4) and a workgroup-memory tiled kernel for real
// GPUs (shared64, or shared64_f16 with native f16 loads when the device has shader-f16). All of them take
// any shape, alignment, offset and stride; aligned operands unlock vec4 (f32) or pair (f16) loads.
// Decode's products (m <= 8 rows against a Linear weight stored (n, k)) go to the gemv kernels, which
// stream each weight row once: gemv_cols on software adapters, gemv_splitk(_sg) on real GPUs; a gemv
// kernel never sees another product (named or tuned, it is replaced by the rule's variant for it).

import type { GpuContext } from '../../gpu/context';
import { isSoftwareAdapter } from '../../gpu/adapter-info';
import { bufferSize } from '../../gpu/buffer-size';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';
import { ceilDiv, grid1d, packParams, type KernelConstants } from '../../gpu/kernel';
import { itemExtent, lastItemBase, matmulLayout, type MatmulDims, type MatmulLayout } from '../matmul-dims';
import { tunedVariant } from './matmul-tuning';
import { GEMV_MAX_M, GEMV_MAX_N, MATMUL_VARIANTS, WIDEN_KERNEL, WIDEN_WG, type MatmulVariant, type MatmulVariantName } from './matmul-kernels';

export type MatrixFormat = 'f32' | 'f16';

export type { MatmulDims } from '../matmul-dims';

export interface MatmulOptions {
  /** Default 'f32'; A and C are always f32. */
  bFormat?: MatrixFormat;
  /** Default 1. */
  alpha?: number;
  /** out += result instead of out = result. */
  accumulate?: boolean;
  /** f32 (n), added to every row. */
  bias?: Binding;
  /** Element of `bias` holding column 0's value (default 0). */
  biasOffset?: number;
  /**
   * f32 laid out like out (from biasOffset): out = alpha * A B + residual, e.g. a residual connection
   * written to a buffer of its own without copying x there first. Not with bias or accumulate; must not
   * alias out.
   */
  residual?: Binding;
  /** Force a kernel variant by name (benchmarks, tests); default: chosen by shape and adapter. */
  variant?: string;
}

/** Dimensions with every default filled in. */
type Shape = MatmulLayout;

/** Names usable as options.variant on this device. */
export function matmulVariants(ctx: GpuContext): string[] {
  return Object.values(MATMUL_VARIANTS)
    .filter((v) => supported(ctx, v))
    .map((v) => v.name);
}

export function matmul(step: StepEncoder, out: Binding, a: Binding, b: Binding, dims: MatmulDims, options: MatmulOptions = {}): void {
  const ctx = step.ctx;
  const s = normalize(dims);
  const bFormat = options.bFormat ?? 'f32';
  const f16 = bFormat === 'f16';
  checkFits('A', a, lastItemBase(s, 'A') + itemExtent(s, 'A'), 4);
  checkFits('B', b, lastItemBase(s, 'B') + itemExtent(s, 'B'), f16 ? 2 : 4);
  checkFits('out', out, lastItemBase(s, 'C') + itemExtent(s, 'C'), 4);
  const biasOffset = options.biasOffset ?? 0;
  if (!isU32(biasOffset)) throw new RangeError(`matmul: biasOffset must be a u32, got ${biasOffset}`);
  if (options.bias) checkFits('bias', options.bias, biasOffset + s.n, 4);
  if (options.residual) {
    if (options.bias || options.accumulate) throw new RangeError('matmul: a residual takes the bias binding, so it excludes bias and accumulate');
    checkFits('residual', options.residual, biasOffset + lastItemBase(s, 'C') + itemExtent(s, 'C'), 4);
  }
  if (s.m === 0 || s.n === 0 || s.batch === 0) return;

  const variant = pickVariant(ctx, s, bFormat, options.variant);
  let bBinding = b;
  let f16B = f16;
  if (f16 && variant.widenB && s.k > 0 && widenFits(ctx, s)) {
    // Register kernels would convert each half once per reading invocation: convert B once instead.
    const span = lastItemBase(s, 'B') - s.offsetB + itemExtent(s, 'B');
    bBinding = widen(step, b, s.offsetB, span);
    s.offsetB = 0;
    f16B = false;
  }
  const choice = variant.tune(s.m, s.n, s.k);
  const constants = internedConstants(variant, choice.constants, [
    s.transA,
    s.transB,
    f16B,
    variant.vecA && aFast(s, a),
    variant.gemv ? bRowsAligned(s, f16B) : f16B ? bPairs(s) : bFast(s, bBinding),
    s.k % 4 === 0,
  ]);
  const flags = (options.bias ? 1 : 0) | (options.accumulate ? 2 : 0) | (options.residual ? 4 : 0);
  const params = packMatmulParams(s, options.alpha ?? 1, choice.lanesM, flags, biasOffset);
  const { rows, cols } = variant.block(choice);
  const grid = [ceilDiv(s.m, rows), ceilDiv(s.n, cols), s.batch] as const;
  // Without a bias, any read-only binding fills its slot (the bias flag off keeps it unread).
  const bindings = [a, vec4View(a), bBinding, vec4View(bBinding), options.bias ?? options.residual ?? a, out];
  step.dispatch(variant.kernel, bindings, grid, params, constants);
}

const FLAG_NAMES = ['TRANS_A', 'TRANS_B', 'B_F16', 'A_FAST', 'B_FAST', 'K_EXACT'] as const;
const interned = new Map<MatmulVariant, WeakMap<object, Map<number, KernelConstants>>>();

/**
 * One constants object per (variant, tuning, flags), reused by every dispatch that needs it: the pipeline
 * cache then finds the pipeline by object identity instead of building a key string per dispatch.
 */
function internedConstants(variant: MatmulVariant, tune: Readonly<Record<string, number>>, flags: readonly boolean[]): KernelConstants {
  let bits = 0;
  for (let i = 0; i < flags.length; i++) if (flags[i]) bits |= 1 << i;
  // Tunings are frozen objects shared by every product they suit: keyed by identity, then by the flags.
  let byTune = interned.get(variant);
  if (!byTune) interned.set(variant, (byTune = new WeakMap()));
  let byBits = byTune.get(tune);
  if (!byBits) byTune.set(tune, (byBits = new Map()));
  let constants = byBits.get(bits);
  if (!constants) {
    const c: Record<string, number> = { ...tune };
    FLAG_NAMES.forEach((name, i) => (c[name] = Number(flags[i])));
    byBits.set(bits, (constants = Object.freeze(c)));
  }
  return constants;
}

/** One parameter block reused by every matmul: StepEncoder.dispatch copies it before the next one is packed. */
const PARAMS = new Uint32Array(24);

/**
 * The Params struct of shaders/matmul_common.wgsl (23 words, padded to 24; the shape's fields checked by
 * normalize()), in PARAMS: valid until the next call.
 */
function packMatmulParams(s: Shape, alpha: number, lanesM: number, flags: number, biasOffset: number): ArrayBuffer {
  const u = PARAMS;
  u[0] = s.m;
  u[1] = s.n;
  u[2] = s.k;
  u[3] = s.lda;
  u[4] = s.ldb;
  u[5] = s.strideA;
  u[6] = s.strideB;
  u[7] = s.strideC;
  u[8] = s.offsetA;
  u[9] = s.offsetB;
  u[10] = s.offsetC;
  F32_BITS[0] = alpha;
  u[11] = U32_OF_F32[0];
  u[12] = s.ldc;
  u[13] = s.inner;
  u[14] = s.outerA;
  u[15] = s.outerB;
  u[16] = s.outerC;
  u[17] = s.groupA;
  u[18] = s.groupB;
  u[19] = s.groupC;
  u[20] = lanesM;
  u[21] = flags;
  u[22] = biasOffset;
  return u.buffer;
}

/** alpha's f32 bits without a view per dispatch. */
const F32_BITS = new Float32Array(1);
const U32_OF_F32 = new Uint32Array(F32_BITS.buffer);

/**
 * The step scratch every widened B shares (StepEncoder.shared): each product reads its copy before the next
 * widening overwrites it, so a step holds one f32 copy of its largest widened matrix, not one per product.
 * A caller that knows that size may reserve it first under this key (the trainer does).
 */
export const WIDEN_SCRATCH_KEY = 'matmul.widenB';

/** Bytes of the f32 copy of `count` f16 elements (the kernel writes whole pairs). */
export function widenScratchBytes(count: number): number {
  return (count + (count % 2)) * 4;
}

/**
 * Widens `count` f16 elements of `b` from element `offset` on into the step's f32 widening scratch: element
 * offset + j lands at j. The copy holds until the next widening in the step.
 */
export function widen(step: StepEncoder, b: Binding, offset: number, count: number): GPUBuffer {
  const scratch = step.shared(WIDEN_SCRATCH_KEY, widenScratchBytes(count));
  const params = packParams([
    ['u32', offset],
    ['u32', count],
  ]);
  const constants = { WG: WIDEN_WG, ODD: offset % 2 };
  step.dispatch(WIDEN_KERNEL, [b, scratch], grid1d(ceilDiv(count, 2 * WIDEN_WG)), params, constants);
  return scratch;
}

/**
 * The default variant: register kernels on software adapters (measured fastest on SwiftShader, where
 * barriers are slow and every per-invocation load is a gather), workgroup-memory tiles on real GPUs.
 * Narrow products would waste most of a 16 x 32 quad tile or an 8 x 8 tile, so the tile shrinks with m, n.
 * Products the gemv kernels take go to them first: on SwiftShader gemv_cols (no barriers) runs 1 x 576 x
 * 49152 and 1 x 1536 x 576 in f16 in 0.4-0.5x reg4x4's CPU time and m = 8 about as fast as reg8x8; the
 * split-k kernels' barriers make them ~20x slower there, so they are the real GPUs' choice.
 */
/**
 * Software adapters run quad16x8 only from this many multiply-adds (m n k, all items): SwiftShader takes
 * 1.6-2.8 s to compile each of its specializations against 0.3-0.5 s for reg8x8, and below this size the
 * two run alike (stories260K, batch 4 x 64 tokens, 12 LoRA steps: 11.2 s with quad16x8 vs 11.0 s without;
 * the first run's compiles 14.6 s vs 6.3 s).
 */
const QUAD_MIN_PRODUCT = 2 ** 24;

function defaultVariant(ctx: GpuContext, s: Shape, bFormat: MatrixFormat): MatmulVariantName {
  const software = isSoftwareAdapter(ctx.adapter);
  // Decode's products (a few rows against a Linear weight) stream B once: gemv kernels.
  const gemv: MatmulVariantName = software ? 'gemv_cols' : ctx.hasSubgroups ? 'gemv_splitk_sg' : 'gemv_splitk';
  if (gemvTakes(s)) return gemv;
  if (!software) return bFormat === 'f16' && ctx.hasShaderF16 ? 'shared64_f16' : 'shared64';
  // Widening an f16 B costs k * n conversions up front and pays off once 16 rows share each column.
  const widen = bFormat === 'f16' && s.m >= 16 && widenFits(ctx, s);
  const large = s.m * s.n * s.k * s.batch >= QUAD_MIN_PRODUCT;
  if (s.m >= 16 && s.n >= 32 && ctx.hasSubgroups && large) return widen ? 'widen+quad16x8' : 'quad16x8';
  if (s.m >= 8 && s.n >= 8) return widen ? 'widen+reg8x8' : 'reg8x8';
  return 'reg4x4';
}

/**
 * Whether matmul() would widen this product's f16 B into the step's f32 scratch first: a caller that knows
 * several products read whole f16 matrices may widen them together instead (widened-layer.ts) and pass the f32
 * copies, which then run the same kernel.
 */
export function widensB(ctx: GpuContext, dims: MatmulDims): boolean {
  const s = normalize(dims);
  return s.k > 0 && Boolean(pickVariant(ctx, s, 'f16', undefined).widenB) && widenFits(ctx, s);
}

/** What the default rule picks for a product, ignoring any tuning (the autotune's reference and fallback). */
export function ruleVariant(ctx: GpuContext, dims: MatmulDims, bFormat: MatrixFormat): MatmulVariantName {
  return defaultVariant(ctx, normalize(dims), bFormat);
}

function pickVariant(ctx: GpuContext, s: Shape, bFormat: MatrixFormat, name: string | undefined): MatmulVariant {
  if (name === undefined) {
    // The autotune's choice for this shape class when the device has one (see matmul-tuning.ts), else the rule.
    const tuned = tunedVariant(ctx.matmulTuning, s.m, s.n, bFormat === 'f16', s.transA);
    return takesOrRule(ctx, MATMUL_VARIANTS[tuned ?? defaultVariant(ctx, s, bFormat)], s, bFormat);
  }
  const variant = (MATMUL_VARIANTS as Record<string, MatmulVariant | undefined>)[name];
  if (!variant) throw new Error(`matmul: unknown variant "${name}" (have ${Object.keys(MATMUL_VARIANTS).join(', ')})`);
  if (!supported(ctx, variant)) throw new Error(`matmul: variant "${name}" needs the ${variant.needs} feature, which this device lacks`);
  // Native f16 loads only concern an f16 B; with f32 B the variant is its f32 twin.
  if (variant.name === 'shared64_f16' && bFormat === 'f32') return MATMUL_VARIANTS.shared64;
  return takesOrRule(ctx, variant, s, bFormat);
}

/**
 * `variant`, or the rule's variant for a product it does not take: a gemv kernel named by the caller or
 * chosen by the autotune for a slot (whose m < 16 also covers m = 9..15 and B stored (k, n)) never runs
 * a product it would get wrong.
 */
function takesOrRule(ctx: GpuContext, variant: MatmulVariant, s: Shape, bFormat: MatrixFormat): MatmulVariant {
  return !variant.gemv || gemvTakes(s) ? variant : MATMUL_VARIANTS[defaultVariant(ctx, s, bFormat)];
}

/** Whether the gemv kernels take the product: m <= 8 rows of A (m, k) against B stored (n, k), n within their grid. */
function gemvTakes(s: Shape): boolean {
  return s.m <= GEMV_MAX_M && !s.transA && s.transB && s.n <= GEMV_MAX_N;
}

/** Whether the f32 copy of B fits one binding (else the kernel reads the halves itself). */
function widenFits(ctx: GpuContext, s: Shape): boolean {
  return (lastItemBase(s, 'B') - s.offsetB + itemExtent(s, 'B')) * 4 <= ctx.limits.maxStorageBufferBindingSize;
}

function supported(ctx: GpuContext, v: MatmulVariant): boolean {
  if (v.needs === 'subgroups') return ctx.hasSubgroups;
  if (v.needs === 'shader-f16') return ctx.hasShaderF16;
  return true;
}

const U32_FIELDS = ['m', 'k', 'n', 'batch', 'strideA', 'strideB', 'strideC', 'offsetA', 'offsetB', 'offsetC', 'lda', 'ldb', 'ldc', 'inner', 'outerA', 'outerB', 'outerC', 'groupA', 'groupB', 'groupC'] as const;

/** v is an integer in [0, 2^32): (v >>> 0) === v, which also rejects NaN, fractions and negatives. */
const isU32 = (v: number) => v >>> 0 === v;

function normalize(d: MatmulDims): Shape {
  const s = matmulLayout(d);
  for (const key of U32_FIELDS) {
    const v = s[key];
    if (!isU32(v)) throw new RangeError(`matmul: ${key} must be a u32, got ${v}`);
  }
  if (s.batch > 65535) throw new RangeError(`matmul: batch ${s.batch} exceeds 65535 (split it)`);
  if (s.inner < 1 || s.groupA < 1 || s.groupB < 1 || s.groupC < 1) throw new RangeError('matmul: inner and groups must be at least 1');
  // Rows may be any distance apart, but never closer than a row is long (C's rows would overlap).
  const rowA = s.transA ? s.m : s.k;
  const rowB = s.transB ? s.k : s.n;
  if (s.lda < rowA || s.ldb < rowB || s.ldc < s.n) {
    throw new RangeError(`matmul: row strides lda ${s.lda}, ldb ${s.ldb}, ldc ${s.ldc} are shorter than the rows (${rowA}, ${rowB}, ${s.n})`);
  }
  return s;
}

function bindingBytes(b: Binding): number {
  if ('buffer' in b) return b.size ?? bufferSize(b.buffer) - (b.offset ?? 0);
  return bufferSize(b);
}

function checkFits(what: string, b: Binding, elements: number, bytesPerElement: number): void {
  const need = Math.ceil((elements * bytesPerElement) / 4) * 4;
  const have = bindingBytes(b);
  if (need > have) throw new RangeError(`matmul: ${what} needs ${need} bytes but its binding holds ${have}`);
}

/** The same binding seen as vec4s: an array<vec4> binding must hold at least one whole vec4. */
function vec4View(b: Binding): Binding {
  if (bindingBytes(b) >= 16) return b;
  const buffer = 'buffer' in b ? b.buffer : b;
  const offset = 'buffer' in b ? (b.offset ?? 0) : 0;
  if (bufferSize(buffer) - offset < 16) throw new RangeError('matmul: operand buffers must hold at least 16 bytes');
  return { buffer, offset };
}

/** Whether every vec4 read along the contiguous dimension of an f32 operand is aligned and bound. */
function vec4Aligned(s: Shape, operand: 'A' | 'B', b: Binding): boolean {
  const [rowLen, offset, stride, outer] = operand === 'A' ? [s.lda, s.offsetA, s.strideA, s.outerA] : [s.ldb, s.offsetB, s.strideB, s.outerB];
  const stridesOk = s.batch === 1 || (stride % 4 === 0 && outer % 4 === 0);
  const lastElement = lastItemBase(s, operand) + itemExtent(s, operand) - 1;
  return rowLen % 4 === 0 && offset % 4 === 0 && stridesOk && (Math.floor(lastElement / 4) + 1) * 16 <= bindingBytes(b);
}

function aFast(s: Shape, a: Binding): boolean {
  return s.k > 0 && vec4Aligned(s, 'A', a);
}

function bFast(s: Shape, b: Binding): boolean {
  return s.k > 0 && vec4Aligned(s, 'B', b);
}

/** The gemv kernels' B_FAST: every B row of every item starts on 16 bytes (8 halves or 4 floats). */
function bRowsAligned(s: Shape, f16: boolean): boolean {
  const unit = f16 ? 8 : 4;
  const stridesOk = s.batch === 1 || (s.strideB % unit === 0 && s.outerB % unit === 0);
  return s.k > 0 && s.ldb % unit === 0 && s.offsetB % unit === 0 && stridesOk;
}

/** f16 B: pairs of halves along the contiguous dimension start at even elements. */
function bPairs(s: Shape): boolean {
  return s.ldb % 2 === 0 && s.offsetB % 2 === 0 && (s.batch === 1 || (s.strideB % 2 === 0 && s.outerB % 2 === 0));
}
