import { describe, expect, it } from 'vitest';
import { F16RangeError, f16BitsToF32, f32ToF16Bits, packF16, roundToF16, unpackF16 } from '../../src/engine/gpu/f16';

describe('f16 conversion', () => {
  it('encodes hand-checked values', () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(-2)).toBe(0xc000);
    expect(f32ToF16Bits(65504)).toBe(0x7bff); // largest finite half
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds up to +inf
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(f32ToF16Bits(2 ** -26)).toBe(0x0000); // below half of it: zero
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
  });

  it('rounds to nearest even at the halfway point', () => {
    // 1 + 2^-11 is exactly between 1 and 1 + 2^-10: ties to the even mantissa (1).
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3 * 2^-11 is between 1 + 2^-10 (odd) and 1 + 2^-9 (even): rounds up.
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('round-trips every finite half exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue; // inf / nan
      expect(f32ToF16Bits(f16BitsToF32(h))).toBe(h);
    }
  });

  it('packs element 2i in the low half, as unpack2x16float reads it', () => {
    const packed = packF16([1, -2, 0.5]);
    expect([...packed]).toEqual([(0xc000 << 16) | 0x3c00, 0x3800].map((x) => x >>> 0));
    expect([...unpackF16(packed, 3)]).toEqual([1, -2, 0.5]);
    expect(roundToF16([0.1])[0]).toBeCloseTo(0.0999755859375, 12);
  });

  it('refuses a finite value that f16 would turn into Infinity, naming what was packed and where', () => {
    // 65519 rounds down to 65504, the largest half; 65520 is the first value that rounds up to Infinity.
    expect([...unpackF16(packF16([65519, -65519]), 2)]).toEqual([65504, -65504]);
    expect(() => packF16([1, 65520])).toThrow(new F16RangeError(1, 65520, { what: 'packF16 input' }));
    expect(() => packF16([1, 2, -70000])).toThrow('packF16 input holds -70000 at index 2, beyond the f16 range (largest 65504): stored as f16 it would become -Infinity');
    const label = { what: 'tensor "lm_head.weight"', offset: 1000, advice: 'load it as f32' };
    expect(() => packF16([0, 1e6], label)).toThrow('tensor "lm_head.weight" holds 1000000 at index 1001, beyond the f16 range (largest 65504): stored as f16 it would become Infinity; load it as f32');
    // Infinity and NaN are not overflow: they pass as they are (the load scan refuses them in weights).
    expect([...unpackF16(packF16([Infinity, NaN]), 2)]).toEqual([Infinity, NaN]);
  });
});
