// What the training forward and backward of one micro-batch share while they record into one StepEncoder:
// the model, the adapter, the packed rows, the activation buffers, the LoRA branch's input (with dropout)
// and its backward. Every buffer here is a step temporary: it returns to the pool after the submit,
// and the next micro-batch of the same shape takes the same buffers back.

import type { StepEncoder } from '../../gpu/step-encoder';
import { LINEAR_SLOTS, type LinearSlot } from '../../lora/lora-config';
import type { ModelConfig } from '../../model/config';
import type { BlockActivations } from '../../model/gpu/gpu-layer';
import type { LayerLoraSlots, SlotLora } from '../../model/gpu/gpu-lora-slots';
import type { GpuModelWeights, GpuNorm } from '../../model/gpu/gpu-weights';
import { dropoutKey } from '../../ops/cpu/dropout';
import { dropout } from '../../ops/gpu/dropout';
import { matmul } from '../../ops/gpu/matmul';
import { layerNormBackward, rmsNormBackward } from '../../ops/gpu/norms';
import type { GpuLoraAdapter } from './gpu-lora';
import type { PackedBatch } from './packed-batch';

/** LoRA dropout of this micro-batch: masks keyed by (seed, step, micro, module, element). */
export interface DropoutPlan {
  p: number;
  seed: number;
  /** Optimizer step being accumulated (1-based). */
  step: number;
  /** Micro-batch within that step (0-based). */
  micro: number;
}

/**
 * What one layer's backward needs from its forward (besides the layer input, kept separately): the block's
 * activations (gpu-layer.ts) and, for N rows, these.
 */
export interface LayerActivations extends BlockActivations {
  /** Attention logsumexps, per attention group (see packed-batch.ts). */
  lse: GPUBuffer;
  /** (N, C) residual stream after attention: the MLP norm's input. */
  xMid: GPUBuffer;
  /** (N, r) x A^T of each module, stored under the first slot the module feeds. */
  u: Partial<Record<LinearSlot, GPUBuffer>>;
}

/** Per-layer scratch of the backward, shared by every layer (each overwrites it in turn). */
interface BackwardScratch {
  /** (N, C) gradient of a norm output. */
  dh: GPUBuffer;
  /** (N, Q) */
  dAttn: GPUBuffer;
  dq: GPUBuffer;
  /** (N, K) */
  dk: GPUBuffer;
  dv: GPUBuffer;
  /** (N, Q), (N, K): gradients before RoPE (RoPE models only, else dq / dk). */
  dqPre: GPUBuffer;
  dkPre: GPUBuffer;
  /** (N, F) each: gradients of a, b and hidden. */
  da: GPUBuffer;
  db: GPUBuffer;
  dHidden: GPUBuffer;
  /** (N, r) gradient of a module's x A^T. */
  du: GPUBuffer;
}

export class TrainGraph {
  readonly config: ModelConfig;
  readonly rows: number;
  private readonly maxIn: number;
  private readonly loraSlots: ReadonlySet<LinearSlot>;
  private dropScratch: [GPUBuffer, GPUBuffer] | undefined;
  private backwardScratch: BackwardScratch | undefined;
  /** (N, Q) and (N, K) projections before RoPE, shared by every layer's forward. */
  private preRope: [GPUBuffer, GPUBuffer] | undefined;

  constructor(
    readonly step: StepEncoder,
    config: ModelConfig,
    readonly weights: GpuModelWeights,
    /** The adapter the forward adds (and the backward trains); null: the base model alone (scoring only). */
    readonly lora: GpuLoraAdapter | null,
    readonly packed: PackedBatch,
    /** (N) i32 positions (restarting per sequence). */
    readonly positions: GPUBuffer,
    readonly invFreq: GPUBuffer | undefined,
    readonly dropout: DropoutPlan | null,
  ) {
    this.config = config;
    this.rows = packed.rows;
    this.maxIn = Math.max(config.hiddenSize, config.numHeads * config.headDim, config.intermediateSize);
    this.loraSlots = new Set(lora ? lora.layers.flatMap((slots) => Object.keys(slots) as LinearSlot[]) : []);
  }

  /** (N, width) f32 step temporary. */
  rowsBuffer(width: number, label: string): GPUBuffer {
    return this.step.temp(this.rows * width * 4, label);
  }

  layerSlots(layer: number): LayerLoraSlots | undefined {
    return this.lora?.layers[layer];
  }

  /** A fresh set of activation buffers (one per layer, or one shared set when recomputing). */
  allocateActivations(): LayerActivations {
    const { hiddenSize: C, numHeads: Hq, numKvHeads: Hkv, headDim: D, intermediateSize: F } = this.config;
    const buf = (width: number, label: string) => this.rowsBuffer(width, label);
    const u: Partial<Record<LinearSlot, GPUBuffer>> = {};
    for (const slot of this.loraSlots) u[slot] = buf(this.lora!.r, `lora x A^T (${slot})`);
    return {
      attnStats: [buf(1, 'attn norm stats'), buf(1, 'attn norm rstd')],
      h1: buf(C, 'attn norm out'),
      q: buf(Hq * D, 'q'),
      k: buf(Hkv * D, 'k'),
      v: buf(Hkv * D, 'v'),
      attn: buf(Hq * D, 'attention out'),
      lse: this.step.temp(Math.max(1, this.packed.lseElements) * 4, 'attention lse'),
      xMid: buf(C, 'residual after attention'),
      mlpStats: [buf(1, 'mlp norm stats'), buf(1, 'mlp norm rstd')],
      h2: buf(C, 'mlp norm out'),
      a: buf(F, this.config.mlp === 'swiglu' ? 'gate' : 'fc'),
      b: this.config.mlp === 'swiglu' ? buf(F, 'up') : undefined,
      hidden: buf(F, 'mlp hidden'),
      u,
    };
  }

  /** Where q and k land before RoPE (RoPE models), or the saved buffers themselves. */
  projectionTargets(acts: LayerActivations): [GPUBuffer, GPUBuffer] {
    if (!this.invFreq) return [acts.q, acts.k];
    const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = this.config;
    this.preRope ??= [this.rowsBuffer(Hq * D, 'q before rope'), this.rowsBuffer(Hkv * D, 'k before rope')];
    return this.preRope;
  }

  scratch(): BackwardScratch {
    if (!this.backwardScratch) {
      const { hiddenSize: C, numHeads: Hq, numKvHeads: Hkv, headDim: D, intermediateSize: F } = this.config;
      const buf = (width: number, label: string) => this.rowsBuffer(width, label);
      const dq = buf(Hq * D, 'dq');
      const dk = buf(Hkv * D, 'dk');
      const rope = Boolean(this.invFreq);
      this.backwardScratch = {
        dh: buf(C, 'd norm out'),
        dAttn: buf(Hq * D, 'd attention out'),
        dq,
        dk,
        dv: buf(Hkv * D, 'dv'),
        dqPre: rope ? buf(Hq * D, 'dq before rope') : dq,
        dkPre: rope ? buf(Hkv * D, 'dk before rope') : dk,
        da: buf(F, 'd mlp a'),
        db: buf(F, 'd mlp b'),
        dHidden: buf(F, 'd mlp hidden'),
        du: buf(this.trained().r, 'd lora x A^T'),
      };
    }
    return this.backwardScratch;
  }

  /** The buffer holding x A^T of `lora`'s module in this layer. */
  uOf(acts: LayerActivations, slots: LayerLoraSlots, lora: SlotLora): GPUBuffer {
    const owner = LINEAR_SLOTS.find((s) => slots[s]?.module === lora.module)!;
    return acts.u[owner]!;
  }

  /**
   * Backward of one module's LoRA in one layer. entries: the slots it feeds with the gradient of each slot's
   * output; x: the module's input; u: its saved x A^T; dx += the gradient of x through the branch.
   *   dB[rows] += scale dy^T u      dU = sum over slots of scale dy B[rows]
   *   dA += dU^T dropout(x)          dx += dropout(dU A)
   */
  loraBackward(entries: readonly { lora: SlotLora; dy: GPUBuffer }[], x: GPUBuffer, u: GPUBuffer, dx: GPUBuffer): void {
    const { step, rows: N } = this;
    const grads = this.trained().trainingBuffers().grads;
    const { du } = this.scratch();
    const first = entries[0].lora;
    const { r, inFeatures, params, offsetA } = first;
    entries.forEach(({ lora, dy }, i) => {
      const dB = { m: lora.outFeatures, k: N, n: r, transA: true, offsetC: lora.offsetB };
      matmul(step, grads, dy, u, dB, { alpha: lora.scale, accumulate: true });
      matmul(step, du, dy, params, { m: N, k: lora.outFeatures, n: r, offsetB: lora.offsetB }, { alpha: lora.scale, accumulate: i > 0 });
    });
    matmul(step, grads, du, this.loraInput(x, first), { m: r, k: N, n: inFeatures, transA: true, offsetC: offsetA }, { accumulate: true });
    const duA = { m: N, k: r, n: inFeatures, offsetB: offsetA };
    if (!this.dropout) {
      matmul(step, dx, du, params, duA, { accumulate: true });
      return;
    }
    const tmp = this.dropBuffers()[1];
    matmul(step, tmp, du, params, duA);
    dropout(step, dx, tmp, N * inFeatures, { p: this.dropout.p, key: this.dropoutKey(first.module), accumulate: true });
  }

  /** dx (+)= the input gradient of the norm whose forward saved `stats` for input x. */
  normBackward(dx: GPUBuffer, dy: GPUBuffer, x: GPUBuffer, norm: GpuNorm, stats: [GPUBuffer, GPUBuffer], accumulate: boolean): void {
    const dims = { rows: this.rows, channels: this.config.hiddenSize };
    if (this.config.norm === 'rms') rmsNormBackward(this.step, dx, dy, x, norm.weight, stats[0], dims, { accumulate });
    else layerNormBackward(this.step, dx, dy, x, norm.weight, stats[0], stats[1], dims, { accumulate });
  }

  /** The input of lora's A: x itself, or dropout(x) into a scratch buffer (the same mask in the forward and the backward). */
  loraInput(x: GPUBuffer, lora: SlotLora): GPUBuffer {
    if (!this.dropout) return x;
    const xd = this.dropBuffers()[0];
    dropout(this.step, xd, x, this.rows * lora.inFeatures, { p: this.dropout.p, key: this.dropoutKey(lora.module) });
    return xd;
  }

  /** The adapter being trained (the backward exists only for one). */
  private trained(): GpuLoraAdapter {
    if (!this.lora) throw new Error('a backward needs the adapter being trained');
    return this.lora;
  }

  private dropoutKey(module: number): number {
    const d = this.dropout!;
    return dropoutKey({ seed: d.seed, step: d.step, micro: d.micro, module });
  }

  private dropBuffers(): [GPUBuffer, GPUBuffer] {
    this.dropScratch ??= [this.rowsBuffer(this.maxIn, 'lora dropout input'), this.rowsBuffer(this.maxIn, 'lora dropout grad')];
    return this.dropScratch;
  }
}
