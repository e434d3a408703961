// The LoRA term a linear slot of the GPU model may carry:
//   y (N, out) += scale * (x (N, in) @ A^T) @ B[rows]^T,   A (r, in), B (out of the module, r)
// A and B of every module sit at element offsets of one f32 parameter buffer (the adapter's arena, see
// src/engine/train/gpu/gpu-lora.ts), so matmul reads them through offsetB: no binding alignment is needed.
// A module that feeds several slots (GPT-2's c_attn: q, k and v, one row block of B each) shares A, so its
// (N, r) product u = x A^T is computed once per layer and reused by every slot it feeds. Generation and
// training add the term through the same recorder; training's A reads dropout(x) and keeps u for the backward.

import type { StepEncoder } from '../../gpu/step-encoder';
import type { LinearSlot } from '../../lora/lora-config';
import { matmul } from '../../ops/gpu/matmul';
import type { Columns } from './gpu-linear';

/** Where one adapted slot finds its LoRA parameters. */
export interface SlotLora {
  /** f32 arena holding every A and B of the adapter. */
  params: GPUBuffer;
  /** Index of the module in the adapter: shared by the slots one module feeds. */
  module: number;
  r: number;
  inFeatures: number;
  /** Rows of B this slot uses (its output width). */
  outFeatures: number;
  /** Element offset of the module's A (r, in). */
  offsetA: number;
  /** Element offset of the slot's first row of B: B[rows[0]] .. (outFeatures, r). */
  offsetB: number;
  /** alpha / r (or alpha / sqrt(r) with rsLoRA). */
  scale: number;
}

export type LayerLoraSlots = Partial<Record<LinearSlot, SlotLora>>;

/** An adapter as the GPU model consumes it: per layer, the LoRA of each adapted slot. */
export interface GpuLoraSlots {
  readonly layers: readonly LayerLoraSlots[];
}

/** u (rows, r) = x (rows, in) @ A^T. */
export function loraDown(step: StepEncoder, u: GPUBuffer, x: GPUBuffer, lora: SlotLora, rows: number): void {
  matmul(step, u, x, lora.params, { m: rows, k: lora.inFeatures, n: lora.r, transB: true, offsetB: lora.offsetA });
}

/** A slot's output (or its gradient): a buffer of its own, or its columns of a fused projection's rows. */
export type SlotOutput = GPUBuffer | ({ buffer: GPUBuffer } & Columns);

/** The buffer and the (column, ld) addressing of a slot's output of `width` columns. */
export function slotColumns(y: SlotOutput, width: number): { buffer: GPUBuffer; column: number; ld: number } {
  return 'column' in y ? y : { buffer: y, column: 0, ld: width };
}

/** y (rows, out) += scale * u (rows, r) @ B[rows]^T. */
export function loraUp(step: StepEncoder, y: SlotOutput, u: GPUBuffer, lora: SlotLora, rows: number): void {
  const { buffer, column, ld } = slotColumns(y, lora.outFeatures);
  const dims = { m: rows, k: lora.r, n: lora.outFeatures, transB: true, offsetB: lora.offsetB, offsetC: column, ldc: ld };
  matmul(step, buffer, u, lora.params, dims, { alpha: lora.scale, accumulate: true });
}

/**
 * Where a module's u = x A^T of one layer lives and what A reads: at inference a step temporary and x
 * itself; in training the activation set's saved u and dropout(x).
 */
export interface LoraDownSource {
  /** The (rows, r) buffer for u of `lora`'s module. */
  u(lora: SlotLora): GPUBuffer;
  /** The input of A for the module's input x. */
  input(x: GPUBuffer, lora: SlotLora): GPUBuffer;
}

/**
 * The LoRA of one layer's slots: `add(y, x, slot)` after the slot's base projection adds the slot's
 * low-rank term, computing u = x A^T once per module (the first slot of the module computes it).
 */
export class LayerLoraRecorder {
  private readonly down = new Map<number, GPUBuffer>();
  private readonly source: LoraDownSource;

  constructor(
    private readonly step: StepEncoder,
    private readonly slots: LayerLoraSlots | undefined,
    private readonly rows: number,
    /** Default: inference (no dropout, u in a step temporary). */
    source?: LoraDownSource,
  ) {
    this.source = source ?? { u: (lora) => step.temp(rows * lora.r * 4, 'lora x A^T'), input: (x) => x };
  }

  /** y += the slot's LoRA term of input x; y null only computes the module's u (recomputation). */
  add(y: SlotOutput | null, x: GPUBuffer, slot: LinearSlot): void {
    const lora = this.slots?.[slot];
    if (!lora) return;
    let u = this.down.get(lora.module);
    if (!u) {
      u = this.source.u(lora);
      loraDown(this.step, u, this.source.input(x, lora), lora, this.rows);
      this.down.set(lora.module, u);
    }
    if (y) loraUp(this.step, y, u, lora, this.rows);
  }
}
