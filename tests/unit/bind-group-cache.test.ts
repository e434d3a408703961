// BindGroupCache: one bind group per distinct (layout, buffers, offsets, sizes), made once.
import { describe, expect, it } from 'vitest';
import { BindGroupCache } from '../../src/engine/gpu/bind-group-cache';

function fakeDevice(): { device: GPUDevice; made: GPUBindGroupDescriptor[] } {
  const made: GPUBindGroupDescriptor[] = [];
  const device = {
    createBindGroup(descriptor: GPUBindGroupDescriptor): GPUBindGroup {
      made.push(descriptor);
      return { label: `group ${made.length}` } as GPUBindGroup;
    },
  } as unknown as GPUDevice;
  return { device, made };
}

const buffer = (name: string) => ({ label: name, size: 1024 }) as unknown as GPUBuffer;
const layout = (name: string) => ({ label: name }) as unknown as GPUBindGroupLayout;

describe('BindGroupCache', () => {
  it('makes a bind group once per distinct binding set and hands the same one back', () => {
    const { device, made } = fakeDevice();
    const cache = new BindGroupCache(device);
    const [a, b, u] = [buffer('a'), buffer('b'), buffer('uniforms')];
    const l1 = layout('l1');
    const ranges = [
      { buffer: a, offset: 0, size: undefined },
      { buffer: u, offset: 0, size: 48 },
    ];
    const first = cache.get(l1, ranges);
    expect(cache.get(l1, [{ ...ranges[0] }, { ...ranges[1] }])).toBe(first);
    expect(made).toHaveLength(1);
    expect(made[0].entries).toEqual([
      { binding: 0, resource: { buffer: a, offset: 0 } },
      { binding: 1, resource: { buffer: u, offset: 0, size: 48 } },
    ]);
    // Any difference makes a new one: another buffer, offset, size or layout.
    cache.get(l1, [{ buffer: b, offset: 0, size: undefined }, ranges[1]]);
    cache.get(l1, [{ buffer: a, offset: 256, size: undefined }, ranges[1]]);
    cache.get(l1, [ranges[0], { buffer: u, offset: 0, size: 64 }]);
    cache.get(layout('l2'), ranges);
    expect(made).toHaveLength(5);
    expect(cache.hits).toBe(1);
    expect(cache.misses).toBe(5);
    expect(cache.size).toBe(5);
  });

  it('tells apart buffers that share a label and size', () => {
    const { device, made } = fakeDevice();
    const cache = new BindGroupCache(device);
    const l = layout('l');
    cache.get(l, [{ buffer: buffer('x'), offset: 0, size: undefined }]);
    cache.get(l, [{ buffer: buffer('x'), offset: 0, size: undefined }]);
    expect(made).toHaveLength(2);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});

describe('BindGroupCache.forDispatch', () => {
  it('keys a dispatch exactly as get() does: storage bindings in turn, the uniform at offset 0', () => {
    const { device, made } = fakeDevice();
    const cache = new BindGroupCache(device);
    const [a, b, u] = [buffer('a'), buffer('b'), buffer('uniforms')];
    const l = layout('l');
    const kinds = ['read', 'uniform', 'write'];
    const first = cache.forDispatch(l, kinds, [a, { buffer: b, offset: 256, size: 64 }], u, 48);
    expect(made[0].entries).toEqual([
      { binding: 0, resource: { buffer: a, offset: 0 } },
      { binding: 1, resource: { buffer: u, offset: 0, size: 48 } },
      { binding: 2, resource: { buffer: b, offset: 256, size: 64 } },
    ]);
    // The same ranges through get() and again through forDispatch: no new bind group.
    const ranges = [
      { buffer: a, offset: 0, size: undefined },
      { buffer: u, offset: 0, size: 48 },
      { buffer: b, offset: 256, size: 64 },
    ];
    expect(cache.get(l, ranges)).toBe(first);
    expect(cache.forDispatch(l, kinds, [a, { buffer: b, offset: 256, size: 64 }], u, 48)).toBe(first);
    expect(made).toHaveLength(1);
    // Another offset of b is another bind group.
    cache.forDispatch(l, kinds, [a, { buffer: b, offset: 512, size: 64 }], u, 48);
    expect(made).toHaveLength(2);
    expect([cache.hits, cache.misses]).toEqual([2, 2]);
  });
});
