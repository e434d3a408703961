// The LoRA term a linear slot of the GPU model may carry:
//   y (N, out) += scale * (x (N, in) @ A^T) @ B[rows]^T,   A (r, in), B (out of the module, r)
// A and B of every module sit at element offsets of one f32 parameter buffer (the adapter's arena, see
// src/engine/train/gpu/gpu-lora.ts), so matmul reads them through offsetB: no binding alignment is needed.
// A module that feeds several slots (GPT-2's c_attn: q, k and v, one row block of B each) shares A, so its
// (N, r) product u = x A^T is computed once per layer and reused by every slot it feeds. Modules of one layer
// that read the same input (q_proj and v_proj read the attention norm's output) and whose A's lie back to
// back in the arena form a down group: one (N, count r) product u = x [A_1; A_2; ...]^T serves them all,
// each slot reading its module's r columns. Generation and training add the term through the same recorder;
// training's A reads dropout(x) (groups exist only without dropout) and keeps u for the backward.

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
  /** The down group the module belongs to (absent: its u is its own (N, r)). */
  group?: LoraDownGroup;
}

/** Modules of one layer whose down-projections run as one product over their back-to-back A's. */
export interface LoraDownGroup {
  /** Element offset of the first module's A: the group's (modules r, in) A. */
  offsetA: number;
  modules: number;
  /** This module's place in the group: its u is columns [index r, (index + 1) r) of the group's u. */
  index: number;
}

/** Columns per row of the u that holds `lora`'s module: the group's count r, or r. */
export function uWidth(lora: SlotLora): number {
  return lora.group ? lora.group.modules * lora.r : lora.r;
}

/** Where u of lora's module starts in its row (elements). */
export function uColumn(lora: SlotLora): number {
  return lora.group ? lora.group.index * lora.r : 0;
}

/** What shares one u: the module alone (its index, >= 0) or its group (-1 - the group's A offset). A number: asked per slot and layer. */
export function uKey(lora: SlotLora): number {
  return lora.group ? -1 - lora.group.offsetA : lora.module;
}

export type LayerLoraSlots = Partial<Record<LinearSlot, SlotLora>>;

/** An adapter as the GPU model consumes it: per layer, the LoRA of each adapted slot. */
export interface GpuLoraSlots {
  readonly layers: readonly LayerLoraSlots[];
}

/** u (rows, r) = x (rows, in) @ A^T, or for the module's whole down group u (rows, count r) = x [A_1; ...]^T. */
export function loraDown(step: StepEncoder, u: GPUBuffer, x: GPUBuffer, lora: SlotLora, rows: number): void {
  const offsetB = lora.group ? lora.group.offsetA : lora.offsetA;
  matmul(step, u, x, lora.params, { m: rows, k: lora.inFeatures, n: uWidth(lora), transB: true, offsetB });
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
  const dims = { m: rows, k: lora.r, n: lora.outFeatures, transB: true, offsetA: uColumn(lora), lda: uWidth(lora), offsetB: lora.offsetB, offsetC: column, ldc: ld };
  matmul(step, buffer, u, lora.params, dims, { alpha: lora.scale, accumulate: true });
}

/**
 * Where a module's u = x A^T of one layer lives and what A reads: at inference a step temporary and x
 * itself; in training the activation set's saved u and dropout(x).
 */
export interface LoraDownSource {
  /** The (rows, uWidth(lora)) buffer for u of `lora`'s module (and its down group). */
  u(lora: SlotLora): GPUBuffer;
  /** The input of A for the module's input x. */
  input(x: GPUBuffer, lora: SlotLora): GPUBuffer;
}

/**
 * The LoRA of one layer's slots: `add(y, x, slot)` after the slot's base projection adds the slot's
 * low-rank term, computing u = x A^T once per module or down group (its first slot computes it).
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
    this.source = source ?? { u: (lora) => step.temp(rows * uWidth(lora) * 4, 'lora x A^T'), input: (x) => x };
  }

  /** y += the slot's LoRA term of input x; y null only computes the module's u (recomputation). */
  add(y: SlotOutput | null, x: GPUBuffer, slot: LinearSlot): void {
    const lora = this.slots?.[slot];
    if (!lora) return;
    const key = uKey(lora);
    let u = this.down.get(key);
    if (!u) {
      u = this.source.u(lora);
      loraDown(this.step, u, this.source.input(x, lora), lora, this.rows);
      this.down.set(key, u);
    }
    if (y) loraUp(this.step, y, u, lora, this.rows);
  }
}
