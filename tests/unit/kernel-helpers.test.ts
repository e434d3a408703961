import { describe, expect, it } from 'vitest';
import { defineKernel, grid1d, joinWgsl, packParams, sourceLocation } from '../../src/engine/gpu/kernel';
import { pipelineKey } from '../../src/engine/gpu/pipeline-cache';
import { compare } from '../../src/engine/selftest/compare';

describe('kernel helpers', () => {
  it('packs parameters as a WGSL struct of 4-byte scalars, padded to 16 bytes', () => {
    const buf = packParams([
      ['u32', 7],
      ['f32', 0.5],
      ['i32', -3],
      ['u32', 1],
      ['f32', 2],
    ]);
    expect(buf.byteLength).toBe(32);
    const v = new DataView(buf);
    expect([v.getUint32(0, true), v.getFloat32(4, true), v.getInt32(8, true), v.getUint32(12, true), v.getFloat32(16, true)]).toEqual([7, 0.5, -3, 1, 2]);
    expect(() => packParams([['u32', -1]])).toThrow(/u32/);
  });

  it('folds large 1-D grids into two dimensions that cover every workgroup', () => {
    expect(grid1d(10)).toEqual([10, 1, 1]);
    expect(grid1d(0)).toEqual([1, 1, 1]);
    const [x, y] = grid1d(200000);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(200000);
  });

  it('keys pipelines by kernel, entry point and sorted constants', () => {
    const def = { name: 'k', source: '', entryPoint: 'main', bindings: [] };
    expect(pipelineKey(def, { B: 2, A: 1 })).toBe(pipelineKey(def, { A: 1, B: 2 }));
    expect(pipelineKey(def, { A: 1 })).not.toBe(pipelineKey(def, { A: 2 }));
  });

  it('compares with atol + rtol and names the worst element', () => {
    const c = compare([1, 2.5, 3], [1, 2, 3], { atol: 0.1, rtol: 0 });
    expect(c.pass).toBe(false);
    expect(c.worstIndex).toBe(1);
    expect(c.maxAbsError).toBe(0.5);
    expect(compare([1, 2.05], [1, 2], { atol: 0, rtol: 0.03 }).pass).toBe(true);
    expect(compare([NaN], [1], { atol: 1, rtol: 1 }).pass).toBe(false);
  });

  it('fails an all-zero output when the reference is not zero (a backend that computes nothing)', () => {
    const c = compare([0, 0], [1e-9, 0], { atol: 1, rtol: 0 });
    expect(c.allZero).toBe(true);
    expect(c.pass).toBe(false);
  });

  it('maps a line of a joined kernel source back to the file it came from', () => {
    const joined = joinWgsl({ file: 'shared.wgsl', source: 'a\nb\nc' }, { file: 'kernel.wgsl', source: 'd\ne' });
    expect(joined.source).toBe('a\nb\nc\nd\ne');
    const def = defineKernel('k', joined, 'main', []);
    expect(sourceLocation(def, 3)).toBe('shared.wgsl:3');
    expect(sourceLocation(def, 4)).toBe('kernel.wgsl:1');
    expect(sourceLocation(def, 5)).toBe('kernel.wgsl:2');
    expect(sourceLocation(defineKernel('plain', 'x', 'main', []), 7)).toBe('plain.wgsl:7');
  });
});
