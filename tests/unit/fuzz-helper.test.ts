import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/util/rng';
import { fuzz, mutate } from '../helpers/fuzz';

const seed = new TextEncoder().encode('{"a": 1, "b": [1, 2, 3], "c": "text"}');

describe('fuzz helper', () => {
  it('mutates deterministically per seed and never returns the input array', () => {
    const a = Array.from({ length: 50 }, (_, i) => mutate(seed, new Rng(i)));
    const b = Array.from({ length: 50 }, (_, i) => mutate(seed, new Rng(i)));
    expect(a).toEqual(b);
    expect(a.filter((m) => m.length === seed.length && m.every((v, i) => v === seed[i])).length).toBeLessThan(5);
    expect(a.every((m) => m !== seed)).toBe(true);
  });

  it('counts typed refusals and fails on any other exception, naming the case', async () => {
    class Refusal extends Error {}
    const parseTyped = (bytes: Uint8Array) => {
      try {
        return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
      } catch {
        throw new Refusal('bad json');
      }
    };
    const ok = await fuzz([seed], parseTyped, { seed: 3, cases: 200, caseLimitMs: 1000, isRefusal: (e) => e instanceof Refusal });
    expect(ok.accepted + ok.refused).toBe(200);
    expect(ok.refused).toBeGreaterThan(50);
    const crashy = (bytes: Uint8Array) => (JSON.parse(new TextDecoder().decode(bytes)) as { b: number[] }).b.length;
    await expect(fuzz([seed], crashy, { seed: 3, cases: 200, caseLimitMs: 1000, isRefusal: (e) => e instanceof Refusal })).rejects.toThrow(/fuzz seed 3, case \d+ .*crashed/);
  });

  it('fails a case slower than the limit', async () => {
    const slow = () => {
      const end = performance.now() + 30;
      while (performance.now() < end);
    };
    await expect(fuzz([seed], slow, { seed: 1, cases: 3, caseLimitMs: 10, isRefusal: () => false })).rejects.toThrow(/took \d+ ms \(limit 10\)/);
  });
});
