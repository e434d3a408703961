// The LoRA arena's layout and the down groups built on it (gpu-lora.ts): every A first, then every B, so the
// A's of one layer's modules that read the same input lie back to back and project that input in one product.

import { describe, expect, it } from 'vitest';
import type { LinearSlot } from '../../src/engine/lora/lora-config';
import { downGroups, layerUBuffers, layoutArena, type LayerModule } from '../../src/engine/train/gpu/gpu-lora';

/** One layer's modules at rank r laid out as gpu-lora.ts does, each with the slots it feeds and its (in, out). */
function layer(r: number, modules: readonly { slots: LinearSlot[]; in: number; out: number }[]): LayerModule[] {
  const { offsets } = layoutArena(modules.map((m) => ({ lengthA: r * m.in, lengthB: m.out * r })));
  return modules.map((m, i) => ({ slots: m.slots, inFeatures: m.in, offsetA: offsets[i].offsetA, lengthA: r * m.in }));
}

describe('LoRA arena layout', () => {
  it('puts every A before every B, each on 64 elements, with the padded total', () => {
    // r 4: A (4, 48) = 192 elements; B (64, 4) = 256, (32, 4) = 128; A (4, 50) = 200 -> 256 padded.
    const { offsets, elements } = layoutArena([
      { lengthA: 192, lengthB: 256 },
      { lengthA: 200, lengthB: 128 },
      { lengthA: 192, lengthB: 128 },
    ]);
    expect(offsets).toEqual([
      { offsetA: 0, offsetB: 192 + 256 + 192 },
      { offsetA: 192, offsetB: 192 + 256 + 192 + 256 },
      { offsetA: 192 + 256, offsetB: 192 + 256 + 192 + 256 + 128 },
    ]);
    expect(elements).toBe(192 + 256 + 192 + 256 + 128 + 128);
  });
});

const C = 576;

/** One SmolLM2-135M layer with all-linear LoRA at r 8. */
const smolLayer = () =>
  layer(8, [
    { slots: ['q'], in: C, out: 576 },
    { slots: ['k'], in: C, out: 192 },
    { slots: ['v'], in: C, out: 192 },
    { slots: ['o'], in: 576, out: C },
    { slots: ['gate'], in: C, out: 1536 },
    { slots: ['up'], in: C, out: 1536 },
    { slots: ['down'], in: 1536, out: C },
  ]);

describe('LoRA down groups', () => {
  it('groups q_proj and v_proj (one input, A back to back), and gate_proj with up_proj, but not o_proj or down_proj', () => {
    const modules = smolLayer();
    expect(downGroups(modules, false)).toEqual([
      [0, 1, 2],
      [4, 5],
    ]);
    expect(downGroups(layer(8, [{ slots: ['q'], in: C, out: 576 }, { slots: ['v'], in: C, out: 192 }]), false)).toEqual([[0, 1]]);
  });

  it('makes no group with dropout (each module masks its input with its own key)', () => {
    expect(downGroups(layer(8, [{ slots: ['q'], in: C, out: 576 }, { slots: ['v'], in: C, out: 192 }]), true)).toEqual([]);
  });

  it("makes no group where the A's are not back to back (r in not a multiple of 64) or one module feeds every slot (GPT-2's c_attn)", () => {
    // r 4, in 50: A = 200 elements, padded to 256: a gap between q's A and v's.
    expect(downGroups(layer(4, [{ slots: ['q'], in: 50, out: 50 }, { slots: ['v'], in: 50, out: 50 }]), false)).toEqual([]);
    expect(downGroups(layer(8, [{ slots: ['q', 'k', 'v'], in: 768, out: 2304 }, { slots: ['o'], in: 768, out: 768 }]), false)).toEqual([]);
  });

  it('orders a group by its place in the arena, whatever order the modules come in', () => {
    const [q, v] = layer(8, [{ slots: ['q'], in: C, out: 576 }, { slots: ['v'], in: C, out: 192 }]);
    expect(downGroups([v, q], false)).toEqual([[1, 0]]);
  });
});

describe('saved u buffers of a layer', () => {
  it('one per module or down group, under the first slot it feeds, count r wide', () => {
    const all = smolLayer();
    expect(layerUBuffers(all, downGroups(all, false), 8)).toEqual([
      { slot: 'q', width: 24 },
      { slot: 'o', width: 8 },
      { slot: 'gate', width: 16 },
      { slot: 'down', width: 8 },
    ]);
    // With dropout nothing groups: one (N, r) u per module.
    expect(layerUBuffers(all, downGroups(all, true), 8).map((b) => b.width)).toEqual([8, 8, 8, 8, 8, 8, 8]);
  });

  it("names a group's u by its first slot even when the modules come in another order, as the trainer looks it up", () => {
    const [q, v] = layer(8, [{ slots: ['q'], in: C, out: 576 }, { slots: ['v'], in: C, out: 192 }]);
    expect(layerUBuffers([v, q], downGroups([v, q], false), 8)).toEqual([{ slot: 'q', width: 16 }]);
    // GPT-2's c_attn feeds q, k and v alone: one u under q, r wide.
    const gpt2 = layer(4, [{ slots: ['q', 'k', 'v'], in: 768, out: 2304 }, { slots: ['o'], in: 768, out: 768 }]);
    expect(layerUBuffers(gpt2, downGroups(gpt2, false), 4)).toEqual([
      { slot: 'q', width: 4 },
      { slot: 'o', width: 4 },
    ]);
  });
});
