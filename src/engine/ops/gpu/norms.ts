// Dispatchers for RMSNorm (Llama, Qwen2) and LayerNorm (GPT-2): forward, input gradient, and the optional
// parameter gradients. Rows are B * T tokens, each of `channels` f32 values. Weights (and LayerNorm's bias)
// are f32 or f16 packed two per u32; gradients are always f32.
//
// Row kernels put `threadsPerRow` invocations on each row: the 'workgroup' variant (many invocations and
// a workgroup-memory tree per row) suits real GPUs, the 'row' variant (one invocation per row, no
// barriers) suits software adapters. Each is deterministic; the two sum in different orders, so their
// results may differ in the last bits.
//
// Parameter gradients are deterministic without atomics: row blocks are reduced per column, then the
// blocks are added in order (a second pass, skipped when there is only one block).

import rmsNormSource from '../../../../shaders/rmsnorm.wgsl?raw';
import rmsNormBackwardSource from '../../../../shaders/rmsnorm_backward.wgsl?raw';
import rmsNormWeightGradSource from '../../../../shaders/rmsnorm_weight_grad.wgsl?raw';
import layerNormSource from '../../../../shaders/layernorm.wgsl?raw';
import layerNormBackwardSource from '../../../../shaders/layernorm_backward.wgsl?raw';
import layerNormParamGradSource from '../../../../shaders/layernorm_param_grad.wgsl?raw';
import normGradSumSource from '../../../../shaders/norm_grad_sum.wgsl?raw';
import normRowSource from '../../../../shaders/norm_row.wgsl?raw';
import { isSoftwareAdapter, type GpuAdapterSummary } from '../../gpu/adapter-info';
import { ceilDiv, defineKernel, grid1d, joinWgsl, MAX_WORKGROUPS_PER_DIM, packParams, type JoinedWgsl, type KernelDef, type ParamField } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';

export type NormWeightFormat = 'f32' | 'f16';
export type NormVariant = 'workgroup' | 'row';

export interface NormDims {
  /** B * T. */
  rows: number;
  /** C, any size >= 1 (need not be a multiple of 4 or of the workgroup). */
  channels: number;
}

export interface NormRowOptions {
  /** Storage of the weight (and LayerNorm bias): 'f32' (default) or 'f16' packed two per u32. */
  weightFormat?: NormWeightFormat;
  /** Default: preferredNormVariant(adapter) — 'row' on software adapters, 'workgroup' on GPUs. */
  variant?: NormVariant;
}

export interface NormForwardOptions extends NormRowOptions {
  eps: number;
}

export interface NormBackwardOptions extends NormRowOptions {
  /** dx += gradient instead of dx = gradient (e.g. into the residual stream's gradient). */
  accumulate?: boolean;
}

export interface NormParamGradOptions {
  /** Parameter gradients += instead of = (accumulation over micro-batches). */
  accumulate?: boolean;
}

const ROW_WG = 256;
const ROW_VARIANT_WG = 64;
const COLUMN_WG = 64;
/** Rows per block of the parameter-gradient first pass (raised when N is huge, to cap the blocks). */
const ROWS_PER_BLOCK = 64;
const MAX_BLOCKS = 1024;

/** The row kernels share their geometry overrides, weight read and row sum (WGSL has no includes). */
function withNormRow(file: string, source: string): JoinedWgsl {
  return joinWgsl({ file: 'norm_row.wgsl', source: normRowSource }, { file, source });
}

const RMSNORM = defineKernel('rmsnorm.forward', withNormRow('rmsnorm.wgsl', rmsNormSource), 'main', ['read', 'read', 'write', 'write', 'uniform']);
const RMSNORM_BACKWARD = defineKernel('rmsnorm.backward', withNormRow('rmsnorm_backward.wgsl', rmsNormBackwardSource), 'main', [
  'read',
  'read',
  'read',
  'read',
  'write',
  'uniform',
]);
const RMSNORM_WEIGHT_GRAD = defineKernel('rmsnorm.weight_grad', rmsNormWeightGradSource, 'main', [
  'read',
  'read',
  'read',
  'write',
  'uniform',
]);
const LAYERNORM = defineKernel('layernorm.forward', withNormRow('layernorm.wgsl', layerNormSource), 'main', [
  'read',
  'read',
  'read',
  'write',
  'write',
  'write',
  'uniform',
]);
const LAYERNORM_BACKWARD = defineKernel('layernorm.backward', layerNormBackwardSource, 'main', [
  'read',
  'read',
  'read',
  'read',
  'read',
  'write',
  'uniform',
]);
const LAYERNORM_PARAM_GRAD = defineKernel('layernorm.param_grad', layerNormParamGradSource, 'main', [
  'read',
  'read',
  'read',
  'read',
  'write',
  'write',
  'uniform',
]);
const NORM_GRAD_SUM = defineKernel('norm.grad_sum', normGradSumSource, 'main', ['read', 'write', 'uniform']);

/** 'row' on software (fallback / SwiftShader) adapters, where barriers are slow; 'workgroup' elsewhere. */
export function preferredNormVariant(adapter: GpuAdapterSummary): NormVariant {
  return isSoftwareAdapter(adapter) ? 'row' : 'workgroup';
}

interface RowGeometry {
  workgroups: [number, number, number];
  constants: Record<string, number>;
}

function checkDims({ rows, channels }: NormDims): void {
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(channels) || channels < 1) {
    throw new RangeError(`norm dims must be positive integers, got rows=${rows} channels=${channels}`);
  }
}

/** Workgroup shape of a row kernel: threads per row a power of two, about 8 columns per thread, <= 256. */
function rowGeometry(dims: NormDims, options: NormRowOptions, adapter: GpuAdapterSummary): RowGeometry {
  checkDims(dims);
  const f16 = (options.weightFormat ?? 'f32') === 'f16' ? 1 : 0;
  if ((options.variant ?? preferredNormVariant(adapter)) === 'row') {
    const wg = ROW_VARIANT_WG;
    return { workgroups: grid1d(ceilDiv(dims.rows, wg)), constants: { WG: wg, TPR: 1, W_F16: f16 } };
  }
  let tpr = 32;
  while (tpr < ROW_WG && tpr * 8 < dims.channels) tpr *= 2;
  const rowsPerGroup = ROW_WG / tpr;
  return { workgroups: grid1d(ceilDiv(dims.rows, rowsPerGroup)), constants: { WG: ROW_WG, TPR: tpr, W_F16: f16 } };
}

/** Records one row kernel: params (rows, cols[, eps]), geometry from the step's adapter, ACCUMULATE if set. */
function dispatchRows(
  step: StepEncoder,
  kernel: KernelDef,
  bindings: Binding[],
  dims: NormDims,
  options: NormRowOptions & { eps?: number; accumulate?: boolean },
): void {
  const g = rowGeometry(dims, options, step.ctx.adapter);
  const fields: ParamField[] = [
    ['u32', dims.rows],
    ['u32', dims.channels],
  ];
  if (options.eps !== undefined) fields.push(['f32', options.eps]);
  const constants = options.accumulate === undefined ? g.constants : { ...g.constants, ACCUMULATE: options.accumulate ? 1 : 0 };
  step.dispatch(kernel, bindings, g.workgroups, packParams(fields), constants);
}

/**
 * y = w * (x * rstd), rstd = 1 / sqrt(mean(x^2) + eps), per row (Hugging Face's float32 RMSNorm).
 * y (N, C), rstd (N) written; x (N, C); weight (C) f32 or packed f16.
 */
export function rmsNormForward(
  step: StepEncoder,
  y: Binding,
  rstd: Binding,
  x: Binding,
  weight: Binding,
  dims: NormDims,
  options: NormForwardOptions,
): void {
  dispatchRows(step, RMSNORM, [x, weight, y, rstd], dims, options);
}

/** dx (=, or += with accumulate) the RMSNorm input gradient from dy (N, C), x, weight and the saved rstd. */
export function rmsNormBackward(
  step: StepEncoder,
  dx: Binding,
  dy: Binding,
  x: Binding,
  weight: Binding,
  rstd: Binding,
  dims: NormDims,
  options: NormBackwardOptions = {},
): void {
  dispatchRows(step, RMSNORM_BACKWARD, [dy, x, weight, rstd, dx], dims, { ...options, accumulate: Boolean(options.accumulate) });
}

interface BlockPlan {
  rowsPerBlock: number;
  blocks: number;
}

function blockPlan(dims: NormDims): BlockPlan {
  checkDims(dims);
  const rowsPerBlock = Math.max(ROWS_PER_BLOCK, ceilDiv(dims.rows, MAX_BLOCKS));
  const blocks = ceilDiv(dims.rows, rowsPerBlock);
  if (ceilDiv(dims.channels, COLUMN_WG) > MAX_WORKGROUPS_PER_DIM) {
    throw new RangeError(`norm parameter gradient: ${dims.channels} channels is more than one dispatch covers`);
  }
  return { rowsPerBlock, blocks };
}

/** out (C) (=, or += with accumulate) the sum over blocks of partial (blocks, C), blocks in order. */
function sumBlocks(step: StepEncoder, out: Binding, partial: Binding, channels: number, blocks: number, accumulate: boolean): void {
  const params = packParams([
    ['u32', channels],
    ['u32', blocks],
  ]);
  step.dispatch(NORM_GRAD_SUM, [partial, out], grid1d(ceilDiv(channels, COLUMN_WG)), params, {
    WG: COLUMN_WG,
    ACCUMULATE: accumulate ? 1 : 0,
  });
}

/** dweight (C) (=, or += with accumulate) sum_n dy * x * rstd: the RMSNorm weight gradient, deterministic. */
export function rmsNormWeightGrad(
  step: StepEncoder,
  dweight: Binding,
  dy: Binding,
  x: Binding,
  rstd: Binding,
  dims: NormDims,
  options: NormParamGradOptions = {},
): void {
  const { rowsPerBlock, blocks } = blockPlan(dims);
  const accumulate = Boolean(options.accumulate);
  const direct = blocks === 1;
  const partial = direct ? dweight : step.temp(blocks * dims.channels * 4, 'rmsnorm.dw partials');
  const params = packParams([
    ['u32', dims.rows],
    ['u32', dims.channels],
    ['u32', rowsPerBlock],
  ]);
  step.dispatch(RMSNORM_WEIGHT_GRAD, [dy, x, rstd, partial], [ceilDiv(dims.channels, COLUMN_WG), blocks, 1], params, {
    WG: COLUMN_WG,
    ACCUMULATE: direct && accumulate ? 1 : 0,
  });
  if (!direct) sumBlocks(step, dweight, partial, dims.channels, blocks, accumulate);
}

/**
 * y = (x - mean) * rstd * w + b per row (PyTorch LayerNorm, biased variance). y (N, C), mean (N) and
 * rstd (N) written; x (N, C); weight and bias (C) both f32 or both packed f16.
 */
export function layerNormForward(
  step: StepEncoder,
  y: Binding,
  mean: Binding,
  rstd: Binding,
  x: Binding,
  weight: Binding,
  bias: Binding,
  dims: NormDims,
  options: NormForwardOptions,
): void {
  dispatchRows(step, LAYERNORM, [x, weight, bias, y, mean, rstd], dims, options);
}

/** dx (=, or += with accumulate) the LayerNorm input gradient from dy (N, C), x, weight, saved mean and rstd. */
export function layerNormBackward(
  step: StepEncoder,
  dx: Binding,
  dy: Binding,
  x: Binding,
  weight: Binding,
  mean: Binding,
  rstd: Binding,
  dims: NormDims,
  options: NormBackwardOptions = {},
): void {
  dispatchRows(step, LAYERNORM_BACKWARD, [dy, x, weight, mean, rstd, dx], dims, { ...options, accumulate: Boolean(options.accumulate) });
}

/**
 * dweight (C) = sum_n dy * xhat and dbias (C) = sum_n dy (or += with accumulate): the LayerNorm parameter
 * gradients, deterministic. dweight and dbias must be distinct buffers (or non-overlapping ranges).
 */
export function layerNormParamGrad(
  step: StepEncoder,
  dweight: Binding,
  dbias: Binding,
  dy: Binding,
  x: Binding,
  mean: Binding,
  rstd: Binding,
  dims: NormDims,
  options: NormParamGradOptions = {},
): void {
  const { rowsPerBlock, blocks } = blockPlan(dims);
  const accumulate = Boolean(options.accumulate);
  const direct = blocks === 1;
  const bytes = blocks * dims.channels * 4;
  const dwPartial = direct ? dweight : step.temp(bytes, 'layernorm.dw partials');
  const dbPartial = direct ? dbias : step.temp(bytes, 'layernorm.db partials');
  const params = packParams([
    ['u32', dims.rows],
    ['u32', dims.channels],
    ['u32', rowsPerBlock],
  ]);
  step.dispatch(
    LAYERNORM_PARAM_GRAD,
    [dy, x, mean, rstd, dwPartial, dbPartial],
    [ceilDiv(dims.channels, COLUMN_WG), blocks, 1],
    params,
    { WG: COLUMN_WG, ACCUMULATE: direct && accumulate ? 1 : 0 },
  );
  if (!direct) {
    sumBlocks(step, dweight, dwPartial, dims.channels, blocks, accumulate);
    sumBlocks(step, dbias, dbPartial, dims.channels, blocks, accumulate);
  }
}
