// The LoRA term a linear slot of the GPU model may carry:
//   y (N, out) += scale * (x (N, in) @ A^T) @ B[rows]^T,   A (r, in), B (out of the module, r)
// A and B of every module sit at element offsets of one f32 parameter buffer (the adapter's arena, see
// src/engine/train/gpu/gpu-lora.ts), so matmul reads them through offsetB: no binding alignment is needed.
// A module that feeds several slots (GPT-2's c_attn: q, k and v, one row block of B each) shares A, so its
// (N, r) product u = x A^T is computed once per layer and reused by every slot it feeds.

import type { StepEncoder } from '../../gpu/step-encoder';
import type { LinearSlot } from '../../lora/lora-config';
import { matmul } from '../../ops/gpu/matmul';

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

/** y (rows, out) += scale * u (rows, r) @ B[rows]^T. */
export function loraUp(step: StepEncoder, y: GPUBuffer, u: GPUBuffer, lora: SlotLora, rows: number): void {
  const dims = { m: rows, k: lora.r, n: lora.outFeatures, transB: true, offsetB: lora.offsetB };
  matmul(step, y, u, lora.params, dims, { alpha: lora.scale, accumulate: true });
}

/**
 * Inference-time LoRA of one layer (no dropout): `add(y, x, slot)` after the slot's base projection adds
 * the slot's low-rank term, computing x A^T once per module.
 */
export class LayerLoraRecorder {
  private readonly down = new Map<number, GPUBuffer>();

  constructor(
    private readonly step: StepEncoder,
    private readonly slots: LayerLoraSlots | undefined,
    private readonly rows: number,
  ) {}

  add(y: GPUBuffer, x: GPUBuffer, slot: LinearSlot): void {
    const lora = this.slots?.[slot];
    if (!lora) return;
    let u = this.down.get(lora.module);
    if (!u) {
      u = this.step.temp(this.rows * lora.r * 4, 'lora x A^T');
      loraDown(this.step, u, x, lora, this.rows);
      this.down.set(lora.module, u);
    }
    loraUp(this.step, y, u, lora, this.rows);
  }
}
