// A LoRA adapter on the GPU: every module's A (r, in) and B (out, r) in ONE f32 parameter buffer, at element
// offsets rounded up to 64 elements (256 bytes: whole vec4 loads for the matmuls, and any tensor could be
// bound on its own). Every A comes first, in module order, then every B: the A's of one layer's modules that
// read the same input then lie back to back (r * in is a multiple of 64 for the supported models), and such
// a down group projects its input in one product (gpu-lora-slots.ts). Training adds one gradient buffer and
// AdamW's m and v, all with the same layout, so the gradient norm and the optimizer each run as one dispatch
// over the whole arena. The padding stays 0 in every buffer (a zero gradient leaves a zero parameter at zero
// under AdamW), so it changes no norm.
// The base model's weights are never part of this: they stay frozen and get no gradient buffers.

import type { GpuContext } from '../../gpu/context';
import type { LoraAdapter } from '../../lora/adapter';
import { LINEAR_SLOTS, type LinearSlot } from '../../lora/lora-config';
import { uKey, type GpuLoraSlots, type LayerLoraSlots, type SlotLora } from '../../model/gpu/gpu-lora-slots';
import { FUSED_GROUPS } from '../../model/gpu/gpu-weights';
import type { LoraGrads } from '../train-batch';
import type { AdapterShape } from './train-allocation';

const ALIGN_ELEMENTS = 64;

/** Where one module's tensors sit in the arena (elements). */
export interface GpuLoraModuleLayout {
  path: string;
  inFeatures: number;
  outFeatures: number;
  offsetA: number;
  /** r * in */
  lengthA: number;
  offsetB: number;
  /** out * r */
  lengthB: number;
}

/** Gradients and AdamW moments: created on the first training use, zero-filled. */
export interface GpuLoraTrainingBuffers {
  grads: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
}

const alignUp = (n: number) => Math.ceil(n / ALIGN_ELEMENTS) * ALIGN_ELEMENTS;

/** Each module's A and B offsets in the arena (every A, then every B, each from a 64-element boundary) and its length. */
export function layoutArena(modules: readonly { lengthA: number; lengthB: number }[]): { offsets: { offsetA: number; offsetB: number }[]; elements: number } {
  let offset = 0;
  const place = (length: number) => {
    const at = offset;
    offset = alignUp(offset + length);
    return at;
  };
  const offsetsA = modules.map((m) => place(m.lengthA));
  const offsetsB = modules.map((m) => place(m.lengthB));
  return { offsets: modules.map((_, i) => ({ offsetA: offsetsA[i], offsetB: offsetsB[i] })), elements: offset };
}

/** Slots of a block that read one input: the fused groups, q, k, v (the attention norm's output) and gate, up (the MLP norm's). */
const SHARED_INPUTS: readonly (readonly LinearSlot[])[] = Object.values(FUSED_GROUPS);

/** One module of one layer as the grouping sees it: the slots it feeds there and its A in the arena. */
export interface LayerModule {
  slots: readonly LinearSlot[];
  inFeatures: number;
  offsetA: number;
  lengthA: number;
}

/**
 * The down groups of one layer (indices into `modules`, each group in arena order): two or more modules
 * whose slots all read one shared input and whose A's lie back to back. None with dropout, which masks each
 * module's input with its own key. The trainer and the memory estimate both group with this.
 */
export function downGroups(modules: readonly LayerModule[], dropout: boolean): number[][] {
  if (dropout) return [];
  const groups: number[][] = [];
  for (const family of SHARED_INPUTS) {
    const members = modules.flatMap((m, i) => (m.slots.length > 0 && m.slots.every((s) => family.includes(s)) ? [i] : [])).sort((a, b) => modules[a].offsetA - modules[b].offsetA);
    let run: number[] = [];
    for (const i of members) {
      const last = run.length ? modules[run[run.length - 1]] : undefined;
      if (last && (last.offsetA + last.lengthA !== modules[i].offsetA || last.inFeatures !== modules[i].inFeatures)) {
        if (run.length > 1) groups.push(run);
        run = [];
      }
      run.push(i);
    }
    if (run.length > 1) groups.push(run);
  }
  return groups;
}

/** The slot whose saved u a module's (or its down group's) slots share in one layer: the first such slot. */
export function uOwnerSlot(slots: LayerLoraSlots, lora: SlotLora): LinearSlot {
  const key = uKey(lora);
  const owner = LINEAR_SLOTS.find((s) => slots[s] && uKey(slots[s]) === key);
  if (!owner) throw new Error(`LoRA module ${lora.module} feeds no slot of this layer`);
  return owner;
}

/**
 * The saved u buffers of one layer whose modules form `groups` (downGroups): one per module or group, under
 * the first slot (LINEAR_SLOTS order) it feeds, as uOwnerSlot finds it, count r wide. The trainer's plan and
 * the memory estimate both size u with this.
 */
export function layerUBuffers(modules: readonly LayerModule[], groups: readonly (readonly number[])[], r: number): { slot: LinearSlot; width: number }[] {
  const groupOf = new Map<number, readonly number[]>();
  for (const group of groups) for (const i of group) groupOf.set(i, group);
  const owners = new Set<unknown>();
  const out: { slot: LinearSlot; width: number }[] = [];
  for (const slot of LINEAR_SLOTS) {
    const i = modules.findIndex((m) => m.slots.includes(slot));
    if (i < 0) continue;
    const owner = groupOf.get(i) ?? i;
    if (owners.has(owner)) continue;
    owners.add(owner);
    out.push({ slot, width: (groupOf.get(i)?.length ?? 1) * r });
  }
  return out;
}

export class GpuLoraAdapter implements GpuLoraSlots {
  readonly layers: LayerLoraSlots[];
  /** Each layer's saved u buffers (layerUBuffers), fixed at construction. */
  private readonly uBuffersByLayer: { slot: LinearSlot; width: number }[][];
  private training: GpuLoraTrainingBuffers | undefined;
  private disposed = false;

  private constructor(
    readonly ctx: GpuContext,
    readonly r: number,
    readonly scale: number,
    /** Drop probability of the LoRA input while training (0 for an adapter created inferenceOnly). */
    readonly dropout: number,
    readonly modules: readonly GpuLoraModuleLayout[],
    /** Arena length in f32 elements. */
    readonly elements: number,
    /** f32 (elements): every A and B. */
    readonly params: GPUBuffer,
    adapter: LoraAdapter,
  ) {
    const numLayers = Math.max(0, ...adapter.modules.flatMap((m) => m.slots.map((s) => s.layer + 1)));
    this.layers = Array.from({ length: numLayers }, () => ({}));
    adapter.modules.forEach((m, module) => {
      const layout = modules[module];
      for (const s of m.slots) {
        if (this.layers[s.layer][s.slot]) throw new RangeError(`LoRA ${m.path}: layer ${s.layer} ${s.slot} is adapted twice`);
        this.layers[s.layer][s.slot] = {
          params,
          module,
          r,
          inFeatures: m.inFeatures,
          outFeatures: s.rows[1] - s.rows[0],
          offsetA: layout.offsetA,
          offsetB: layout.offsetB + s.rows[0] * r,
          scale,
        };
      }
    });
    this.uBuffersByLayer = this.layers.map((slots) => markDownGroups(slots, r, dropout > 0));
  }

  /**
   * Lays out and uploads every A and B of `adapter`. `inferenceOnly`: the adapter is only generated or scored
   * with here (chat, evaluation, a DPO reference), never trained, so its lora_dropout never applies and its
   * down-projections group whatever the dropout its config names.
   */
  static create(ctx: GpuContext, adapter: LoraAdapter, options: { inferenceOnly?: boolean } = {}): GpuLoraAdapter {
    const r = adapter.config.r;
    for (const m of adapter.modules) {
      checkModule(m, r);
      for (const s of m.slots) {
        if (!(s.rows[0] >= 0 && s.rows[0] < s.rows[1] && s.rows[1] <= m.outFeatures)) {
          throw new RangeError(`LoRA ${m.path}: rows [${s.rows[0]}, ${s.rows[1]}) do not fit its ${m.outFeatures} outputs`);
        }
      }
    }
    if (adapter.modules.length === 0) throw new RangeError('the adapter has no modules');
    const { offsets, elements } = layoutArena(adapter.modules.map((m) => ({ lengthA: m.a.length, lengthB: m.b.length })));
    const modules = adapter.modules.map((m, i) => ({ path: m.path, inFeatures: m.inFeatures, outFeatures: m.outFeatures, lengthA: m.a.length, lengthB: m.b.length, ...offsets[i] }));
    const params = ctx.createBuffer(elements * 4, 'lora parameters');
    const dropout = options.inferenceOnly ? 0 : adapter.config.dropout;
    const gpu = new GpuLoraAdapter(ctx, r, adapter.scale, dropout, modules, elements, params, adapter);
    gpu.upload(adapter);
    return gpu;
  }

  /** What the allocation plan needs of this arena: rank, length, the slots holding u per layer. */
  get shape(): AdapterShape {
    // Asked by every step's allocation plan; the layers never change after construction.
    return (this.shapeMemo ??= this.computeShape());
  }

  private shapeMemo: AdapterShape | undefined;

  private computeShape(): AdapterShape {
    const widths = new Map<LinearSlot, number>();
    let modulesPerLayer = 0;
    this.layers.forEach((slots, l) => {
      const modules = new Set(LINEAR_SLOTS.flatMap((s) => (slots[s] ? [slots[s].module] : [])));
      modulesPerLayer = Math.max(modulesPerLayer, modules.size);
      for (const { slot, width } of this.uBuffersByLayer[l]) widths.set(slot, Math.max(width, widths.get(slot) ?? 0));
    });
    const uBuffers = LINEAR_SLOTS.flatMap((slot) => (widths.has(slot) ? [{ slot, width: widths.get(slot)! }] : []));
    return { r: this.r, elements: this.elements, uBuffers, modulesPerLayer };
  }

  /** Number of trainable values (without padding). */
  get parameterCount(): number {
    return this.modules.reduce((n, m) => n + m.lengthA + m.lengthB, 0);
  }

  /** Writes A and B of an adapter with this layout (e.g. after loading a checkpoint). */
  upload(adapter: LoraAdapter): void {
    this.assertLive();
    this.ctx.write(this.params, this.pack(adapter.modules.map((m) => ({ a: m.a, b: m.b })), 'upload'));
  }

  /** Reads A and B back into adapter.modules[i].a / .b (an adapter with this layout). */
  async download(adapter: LoraAdapter): Promise<void> {
    this.checkTensors(adapter.modules, 'download');
    const values = await this.readArena(this.params);
    this.unpack(values).forEach((t, i) => {
      adapter.modules[i].a.set(t.a);
      adapter.modules[i].b.set(t.b);
    });
  }

  /** The gradient and AdamW buffers, created zeroed on first use. */
  trainingBuffers(): GpuLoraTrainingBuffers {
    this.assertLive();
    if (!this.training) {
      const bytes = this.elements * 4;
      // createBuffer memory starts zeroed (WebGPU guarantees it).
      this.training = {
        grads: this.ctx.createBuffer(bytes, 'lora gradients'),
        m: this.ctx.createBuffer(bytes, 'lora adamw m'),
        v: this.ctx.createBuffer(bytes, 'lora adamw v'),
      };
    }
    return this.training;
  }

  /** The accumulated gradients, per module (f32). */
  async readGrads(): Promise<LoraGrads<Float32Array>[]> {
    return this.unpack(await this.readArena(this.trainingBuffers().grads));
  }

  /** AdamW's first and second moments, per module (for checkpoints). */
  async readOptimizerState(): Promise<{ m: LoraGrads<Float32Array>[]; v: LoraGrads<Float32Array>[] }> {
    const { m, v } = this.trainingBuffers();
    return { m: this.unpack(await this.readArena(m)), v: this.unpack(await this.readArena(v)) };
  }

  /** Restores AdamW's moments (from a checkpoint), per module. */
  writeOptimizerState(m: readonly LoraGrads<Float32Array>[], v: readonly LoraGrads<Float32Array>[]): void {
    const buffers = this.trainingBuffers();
    this.ctx.write(buffers.m, this.pack(m, 'optimizer m'));
    this.ctx.write(buffers.v, this.pack(v, 'optimizer v'));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.params.destroy();
    if (this.training) for (const b of Object.values(this.training)) b.destroy();
    this.training = undefined;
  }

  private pack(tensors: readonly { a: ArrayLike<number>; b: ArrayLike<number> }[], what: string): Float32Array {
    this.checkTensors(tensors, what);
    const arena = new Float32Array(this.elements);
    tensors.forEach((t, i) => {
      const l = this.modules[i];
      arena.set(t.a, l.offsetA);
      arena.set(t.b, l.offsetB);
    });
    return arena;
  }

  private unpack(arena: Float32Array): LoraGrads<Float32Array>[] {
    return this.modules.map((l) => ({ a: arena.slice(l.offsetA, l.offsetA + l.lengthA), b: arena.slice(l.offsetB, l.offsetB + l.lengthB) }));
  }

  private async readArena(buffer: GPUBuffer): Promise<Float32Array> {
    this.assertLive();
    return this.ctx.readF32(buffer, this.elements);
  }

  /** Per-module tensors must match this layout module for module. */
  private checkTensors(tensors: readonly { a: ArrayLike<number>; b: ArrayLike<number> }[], what: string): void {
    if (tensors.length !== this.modules.length) throw new RangeError(`${what}: ${tensors.length} modules given, the GPU adapter has ${this.modules.length}`);
    tensors.forEach((t, i) => {
      const l = this.modules[i];
      if (t.a.length !== l.lengthA || t.b.length !== l.lengthB) {
        throw new RangeError(`${what}: module ${i} (${l.path}) has A ${t.a.length} and B ${t.b.length} values, expected ${l.lengthA} and ${l.lengthB}`);
      }
    });
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('the GPU LoRA adapter was disposed');
  }
}

/** Marks the down groups among one layer's slots (downGroups over the modules that feed them); returns its u buffers. */
function markDownGroups(slots: LayerLoraSlots, r: number, dropout: boolean): { slot: LinearSlot; width: number }[] {
  const byModule = new Map<number, { lora: SlotLora; slots: LinearSlot[] }>();
  for (const s of LINEAR_SLOTS) {
    const lora = slots[s];
    if (!lora) continue;
    const entry = byModule.get(lora.module) ?? { lora, slots: [] };
    entry.slots.push(s);
    byModule.set(lora.module, entry);
  }
  const modules = [...byModule.values()];
  const layerModules = modules.map(({ lora, slots: fed }) => ({ slots: fed, inFeatures: lora.inFeatures, offsetA: lora.offsetA, lengthA: lora.r * lora.inFeatures }));
  const groups = downGroups(layerModules, dropout);
  for (const group of groups) {
    group.forEach((i, index) => {
      for (const s of modules[i].slots) slots[s]!.group = { offsetA: modules[group[0]].lora.offsetA, modules: group.length, index };
    });
  }
  return layerUBuffers(layerModules, groups, r);
}

function checkModule(m: LoraAdapter['modules'][number], r: number): void {
  if (m.a.length !== r * m.inFeatures) throw new RangeError(`LoRA ${m.path}: A has ${m.a.length} values, expected r * in = ${r} * ${m.inFeatures}`);
  if (m.b.length !== m.outFeatures * r) throw new RangeError(`LoRA ${m.path}: B has ${m.b.length} values, expected out * r = ${m.outFeatures} * ${r}`);
}
