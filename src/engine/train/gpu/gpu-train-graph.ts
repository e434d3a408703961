// What the training forward and backward of one micro-batch share while they record into one StepEncoder:
// the model, the adapter, the packed rows, the activation buffers, the LoRA branch's input (with dropout)
// and its backward. Every buffer here is a step temporary taken at the size and name the allocation plan
// gives (train-allocation.ts: the memory estimate sums the same plan); it returns to the pool after the
// submit, and the next micro-batch of the same shape takes the same buffers back.

import type { StepEncoder } from '../../gpu/step-encoder';
import type { LinearSlot } from '../../lora/lora-config';
import type { ModelConfig } from '../../model/config';
import type { BlockActivations } from '../../model/gpu/gpu-layer';
import { slotColumns, uColumn, uWidth, type LayerLoraSlots, type SlotLora, type SlotOutput } from '../../model/gpu/gpu-lora-slots';
import type { GpuModelWeights, GpuNorm } from '../../model/gpu/gpu-weights';
import { dropoutKey } from '../../ops/cpu/dropout';
import { dropout } from '../../ops/gpu/dropout';
import { matmul } from '../../ops/gpu/matmul';
import { layerNormBackward, rmsNormBackward } from '../../ops/gpu/norms';
import { uOwnerSlot, type GpuLoraAdapter } from './gpu-lora';
import type { PackedBatch } from './packed-batch';
import type { BackwardSpecs, BufferSpec, PassPlan } from './train-allocation';

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
  /** (N, Q + 2K) gradients of q, k, v side by side per row (for RoPE models, of q and k as projected once rotated back). */
  dqkv: GPUBuffer;
  /** (N, 2F) gradients of gate and up side by side (SwiGLU), or (N, F) of c_fc (GELU). */
  da: GPUBuffer;
  /** (N, F) gradient of the activated hidden. */
  dHidden: GPUBuffer;
  /** (N, width) gradient of a module's (or down group's) x A^T: as wide as the widest saved u. */
  du: GPUBuffer;
}

/** The buffers a pass takes from its plan: the pass's own, and for training the backward's and dropout's. */
export interface GraphPlan {
  pass: PassPlan;
  backward?: BackwardSpecs;
  dropout?: [BufferSpec, BufferSpec];
}

export class TrainGraph {
  readonly config: ModelConfig;
  readonly rows: number;
  private dropScratch: [GPUBuffer, GPUBuffer] | undefined;
  private backwardScratch: BackwardScratch | undefined;
  /** (N, Q + 2K) projections before RoPE, shared by every layer's forward. */
  private preRope: GPUBuffer | undefined;

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
    readonly plan: GraphPlan,
  ) {
    this.config = config;
    this.rows = packed.rows;
  }

  /** A step temporary as the plan specifies it. */
  take(spec: BufferSpec): GPUBuffer {
    return this.step.temp(spec.bytes, spec.name);
  }

  /** The norm statistics buffers of a spec list: [mean, rstd] (LayerNorm), or the one rstd twice (RMSNorm). */
  takeStats(specs: readonly BufferSpec[]): [GPUBuffer, GPUBuffer] {
    const first = this.take(specs[0]);
    return [first, specs[1] ? this.take(specs[1]) : first];
  }

  layerSlots(layer: number): LayerLoraSlots | undefined {
    return this.lora?.layers[layer];
  }

  /** A fresh set of activation buffers (one per layer, or one shared set when recomputing). */
  allocateActivations(): LayerActivations {
    const p = this.plan.pass.activations;
    const u: Partial<Record<LinearSlot, GPUBuffer>> = {};
    for (const [slot, spec] of Object.entries(p.u) as [LinearSlot, BufferSpec][]) u[slot] = this.take(spec);
    return {
      attnStats: this.takeStats(p.attnStats),
      h1: this.take(p.h1),
      q: this.take(p.q),
      k: this.take(p.k),
      v: this.take(p.v),
      attn: this.take(p.attn),
      lse: this.take(p.lse),
      xMid: this.take(p.xMid),
      mlpStats: this.takeStats(p.mlpStats),
      h2: this.take(p.h2),
      a: this.take(p.a),
      hidden: this.take(p.hidden),
      u,
    };
  }

  /** Where q, k and v land side by side before RoPE (RoPE models; undefined for learned positions). */
  qkvPre(): GPUBuffer | undefined {
    const spec = this.plan.pass.qkvPre;
    if (!this.invFreq || !spec) return undefined;
    this.preRope ??= this.take(spec);
    return this.preRope;
  }

  scratch(): BackwardScratch {
    if (!this.backwardScratch) {
      const b = this.plan.backward;
      if (!b) throw new Error('a backward needs the plan of a training pass');
      this.backwardScratch = {
        dh: this.take(b.dh),
        dAttn: this.take(b.dAttn),
        dqkv: this.take(b.dqkv),
        da: this.take(b.da),
        dHidden: this.take(b.dHidden),
        du: this.take(b.du),
      };
    }
    return this.backwardScratch;
  }

  /** The buffer holding x A^T of `lora`'s module (and its down group) in this layer. */
  uOf(acts: LayerActivations, slots: LayerLoraSlots, lora: SlotLora): GPUBuffer {
    const u = acts.u[uOwnerSlot(slots, lora)];
    if (!u) throw new Error(`the allocation plan has no saved x A^T for LoRA module ${lora.module}`);
    return u;
  }

  /**
   * Backward of one module's LoRA, or of one down group's modules, in one layer. entries: the slots they feed
   * with the gradient of each slot's output; x: their input; u: the saved x A^T (N, width: r, or the group's
   * count r, module m's u in its r columns); dx += the gradient of x through the branches.
   *   dB_m[rows] += scale dy^T u_m      dU_m = sum over m's slots of scale dy B_m[rows]   (into m's columns)
   *   dA += dU^T dropout(x)              dx += dropout(dU A)   (A, dA: the group's A's, back to back: one product each)
   */
  loraBackward(entries: readonly { lora: SlotLora; dy: SlotOutput }[], x: GPUBuffer, u: GPUBuffer, dx: GPUBuffer): void {
    const { step, rows: N } = this;
    const grads = this.trained().trainingBuffers().grads;
    const { du } = this.scratch();
    const first = entries[0].lora;
    const { inFeatures, params } = first;
    const width = uWidth(first);
    const offsetA = first.group ? first.group.offsetA : first.offsetA;
    const started = new Set<number>(); // modules whose dU has its first term
    for (const { lora, dy } of entries) {
      // dy may be the slot's columns of a fused (N, ld) gradient: read at its column, rows ld apart.
      const { buffer, column, ld } = slotColumns(dy, lora.outFeatures);
      const uAt = uColumn(lora);
      const dB = { m: lora.outFeatures, k: N, n: lora.r, transA: true, offsetA: column, lda: ld, offsetB: uAt, ldb: width, offsetC: lora.offsetB };
      matmul(step, grads, buffer, u, dB, { alpha: lora.scale, accumulate: true });
      const dU = { m: N, k: lora.outFeatures, n: lora.r, offsetA: column, lda: ld, offsetB: lora.offsetB, offsetC: uAt, ldc: width };
      matmul(step, du, buffer, params, dU, { alpha: lora.scale, accumulate: started.has(lora.module) });
      started.add(lora.module);
    }
    matmul(step, grads, du, this.loraInput(x, first), { m: width, k: N, n: inFeatures, transA: true, offsetC: offsetA }, { accumulate: true });
    const duA = { m: N, k: width, n: inFeatures, offsetB: offsetA };
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
    const specs = this.plan.dropout;
    if (!specs) throw new Error('LoRA dropout needs its scratch in the allocation plan');
    this.dropScratch ??= [this.take(specs[0]), this.take(specs[1])];
    return this.dropScratch;
  }
}
