// The dispatch tape hands a step's i-th dispatch the pipeline and bind group of the last step of that length
// only when the kernel, constants and every bound range are the same; anything else falls back to the caches.

import { describe, expect, it } from 'vitest';
import { DispatchTape, DispatchTapes } from '../../src/engine/gpu/dispatch-tape';
import type { KernelDef } from '../../src/engine/gpu/kernel';
import type { CachedPipeline } from '../../src/engine/gpu/pipeline-cache';

const def = (name: string): KernelDef => ({ name, source: '', entryPoint: 'main', bindings: ['read', 'write', 'uniform'] });
const pipeline = (): CachedPipeline => ({ pipeline: {} as GPUComputePipeline, layout: {} as GPUBindGroupLayout });
const buffer = () => ({}) as GPUBuffer;
const group = () => ({}) as GPUBindGroup;

describe('dispatch tape', () => {
  it('finds a pipeline by kernel and equal constants, not by object identity alone', () => {
    const tape = new DispatchTape();
    const k = def('k');
    const p = pipeline();
    tape.setPipeline(0, k, { WG: 64, FLAG: 1 }, p);
    expect(tape.pipeline(0, k, { FLAG: 1, WG: 64 })).toBe(p);
    expect(tape.pipeline(0, k, { WG: 64 })).toBeUndefined();
    expect(tape.pipeline(0, k, { WG: 64, FLAG: 0 })).toBeUndefined();
    expect(tape.pipeline(0, k, { WG: 64, FLAG: 1, EXTRA: 0 })).toBeUndefined();
    expect(tape.pipeline(0, def('k'), { WG: 64, FLAG: 1 })).toBeUndefined();
    expect(tape.pipeline(1, k, { WG: 64, FLAG: 1 })).toBeUndefined();
  });

  it('hands back a bind group only for the same ranges, uniform arena and parameter size', () => {
    const tape = new DispatchTape();
    const k = def('k');
    const [a, b, uniforms] = [buffer(), buffer(), buffer()];
    const g = group();
    tape.setPipeline(0, k, {}, pipeline());
    tape.setGroup(0, g, [a, { buffer: b, offset: 256, size: 64 }], uniforms, 16);
    expect(tape.group(0, [a, { buffer: b, offset: 256, size: 64 }], uniforms, 16)).toBe(g);
    expect(tape.group(0, [a, { buffer: b, offset: 0, size: 64 }], uniforms, 16)).toBeUndefined();
    expect(tape.group(0, [a, { buffer: b, offset: 256 }], uniforms, 16)).toBeUndefined();
    expect(tape.group(0, [a, b], uniforms, 16)).toBeUndefined();
    expect(tape.group(0, [b, { buffer: b, offset: 256, size: 64 }], uniforms, 16)).toBeUndefined();
    expect(tape.group(0, [a, { buffer: b, offset: 256, size: 64 }], buffer(), 16)).toBeUndefined();
    expect(tape.group(0, [a, { buffer: b, offset: 256, size: 64 }], uniforms, 32)).toBeUndefined();
    // A new pipeline at that position forgets the group.
    tape.setPipeline(0, def('other'), {}, pipeline());
    expect(tape.group(0, [a, { buffer: b, offset: 256, size: 64 }], uniforms, 16)).toBeUndefined();
  });

  it('keeps the tapes of the eight most recently used step lengths', () => {
    const tapes = new DispatchTapes();
    const first = tapes.forLength(100);
    const one = tapes.forLength(1);
    for (let n = 2; n <= 7; n++) tapes.forLength(n);
    expect(tapes.forLength(100)).toBe(first); // used again: now the most recent
    tapes.forLength(8); // evicts length 1, the least recently used
    expect(tapes.forLength(100)).toBe(first);
    const two = tapes.forLength(2);
    expect(tapes.forLength(1)).not.toBe(one); // made anew, evicting length 3
    expect(tapes.forLength(2)).toBe(two);
    tapes.clear();
    expect(tapes.forLength(100)).not.toBe(first);
  });
});
