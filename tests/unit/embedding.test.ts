import { describe, expect, it } from 'vitest';
import {
  buildEmbeddingGradIndex,
  checkIds,
  embeddingBackward,
  embeddingForward,
  packEmbeddingGradIndex,
  sequencePositionIds,
} from '../../src/engine/ops/cpu/embedding';
import { Rng } from '../../src/engine/util/rng';
import { expectGradient, weightedSum } from '../helpers/gradcheck';

// table (V=3, C=2): row v = [10 v + 1, 10 v + 2]
const TABLE = Float64Array.of(1, 2, 11, 12, 21, 22);

describe('embedding lookup (CPU reference)', () => {
  it('gathers rows, with repeats', () => {
    const out = new Float64Array(8);
    embeddingForward(out, [2, 0, 2, 1], TABLE, 2);
    expect([...out]).toEqual([21, 22, 1, 2, 21, 22, 11, 12]);
  });

  it('adds position rows', () => {
    const pos = Float64Array.of(0.5, 0.25, 100, 200); // (P=2, C=2)
    const out = new Float64Array(6);
    embeddingForward(out, [1, 1, 0], TABLE, 2, pos, [0, 1, 0]);
    expect([...out]).toEqual([11.5, 12.25, 111, 212, 1.5, 2.25]);
  });

  it('numbers positions within each sequence', () => {
    expect([...sequencePositionIds(7, 3)]).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect([...sequencePositionIds(3, 1, 4)]).toEqual([4, 4, 4]);
  });

  it('rejects ids outside the table (the GPU would clamp them)', () => {
    expect(() => checkIds(Int32Array.of(0, 2, 1), 3)).not.toThrow();
    expect(() => checkIds(Int32Array.of(0, 3), 3)).toThrow(/token id 3 at position 1 is outside \[0, 3\)/);
    expect(() => checkIds(Int32Array.of(-1), 3)).toThrow(RangeError);
    expect(() => checkIds([0.5], 3, 'position')).toThrow(/position 0.5/);
  });

  it('sums the gradients of repeated ids in order, accumulating', () => {
    const dtable = Float64Array.of(1000, 1000, 0, 0, 0, 0);
    const dout = Float64Array.of(1, 2, 10, 20, 100, 200, 0.5, 0.25);
    embeddingBackward(dtable, dout, [0, 2, 0, 0], 2);
    // row 0: 1000 + 1 + 100 + 0.5, 1000 + 2 + 200 + 0.25; row 1 untouched; row 2: 10, 20
    expect([...dtable]).toEqual([1101.5, 1202.25, 0, 0, 10, 20]);
  });

  it('follows the lookup order in float32 (the order the GPU uses)', () => {
    // 1 + 2^-24 + 2^-24 in f32: in order both small terms vanish; summed first they would survive.
    const dtable = new Float32Array(1);
    embeddingBackward(dtable, Float32Array.of(1, 2 ** -24, 2 ** -24), [0, 0, 0], 1);
    expect(dtable[0]).toBe(1);
  });

  it('has table gradients that match finite differences (token and position tables)', () => {
    const rng = new Rng(8);
    const [V, P, C] = [5, 3, 4];
    const ids = [4, 1, 4, 0, 4, 2];
    const positions = [0, 1, 2, 0, 1, 2];
    const table = Float64Array.from(rng.f32(V * C));
    const pos = Float64Array.from(rng.f32(P * C));
    const w = Float64Array.from(rng.f32(ids.length * C));
    const loss = () => {
      const out = new Float64Array(ids.length * C);
      embeddingForward(out, ids, table, C, pos, positions);
      return weightedSum(out, w);
    };
    const dtable = new Float64Array(V * C);
    const dpos = new Float64Array(P * C);
    embeddingBackward(dtable, w, ids, C);
    embeddingBackward(dpos, w, positions, C);
    expectGradient(dtable, loss, table, 'dtable');
    expectGradient(dpos, loss, pos, 'dpos');
  });
});

describe('buildEmbeddingGradIndex', () => {
  it('groups positions by id, ids ascending, positions in order', () => {
    const index = buildEmbeddingGradIndex(Uint32Array.of(5, 2, 5, 9, 2, 5));
    expect([...index.rows]).toEqual([2, 5, 9]);
    expect([...index.offsets]).toEqual([0, 2, 5, 6]);
    expect([...index.positions]).toEqual([1, 4, 0, 2, 5, 3]);
    expect([...packEmbeddingGradIndex(index)]).toEqual([2, 5, 9, 0, 2, 5, 6, 1, 4, 0, 2, 5, 3]);
  });

  it('handles one id, all-equal ids and an empty batch', () => {
    const one = buildEmbeddingGradIndex(Int32Array.of(7));
    expect([[...one.rows], [...one.offsets], [...one.positions]]).toEqual([[7], [0, 1], [0]]);
    const same = buildEmbeddingGradIndex(Int32Array.of(3, 3, 3));
    expect([[...same.rows], [...same.offsets], [...same.positions]]).toEqual([[3], [0, 3], [0, 1, 2]]);
    const none = buildEmbeddingGradIndex(new Uint32Array(0));
    expect([[...none.rows], [...none.offsets], [...none.positions]]).toEqual([[], [0], []]);
  });

  it('rejects negative i32 ids', () => {
    expect(() => buildEmbeddingGradIndex(Int32Array.of(1, -2))).toThrow(/id -2 at position 1/);
  });

  it('reproduces the reference backward when summed row by row', () => {
    const rng = new Rng(9);
    const [N, V, C] = [50, 12, 3];
    const ids = Uint32Array.from({ length: N }, () => rng.int(V));
    const dout = rng.f32(N * C);
    const { rows, offsets, positions } = buildEmbeddingGradIndex(ids);
    const viaIndex = new Float32Array(V * C);
    rows.forEach((row, u) => {
      for (let c = 0; c < C; c++) {
        let acc = viaIndex[row * C + c];
        for (let k = offsets[u]; k < offsets[u + 1]; k++) acc = Math.fround(acc + dout[positions[k] * C + c]);
        viaIndex[row * C + c] = acc;
      }
    });
    const reference = new Float32Array(V * C);
    embeddingBackward(reference, dout, ids, C);
    expect([...viaIndex]).toEqual([...reference]);
  });
});
