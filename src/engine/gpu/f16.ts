// IEEE half-precision conversions on the CPU (round to nearest even), for f16 weight storage. Packing
// refuses a finite value beyond f16's range instead of storing Infinity: one weight of 70000 would turn
// every activation it touches into Inf and then NaN, with nothing to say where it came from.

/** The largest finite f16 value; finite values that round above it (from 65520 up) become Infinity. */
export const F16_MAX = 65504;

/** What packF16 is packing, for its error: the values' name, where they start in it, what to do instead. */
export interface F16PackLabel {
  /** e.g. 'tensor "model.layers.0.mlp.down_proj.weight"' */
  what: string;
  /** Index in the named whole of the first value packed (a part of a split tensor starts past 0). */
  offset?: number;
  /** The way around it, appended to the message. */
  advice?: string;
}

/** A finite value too large for f16: packed as f16 it would become ±Infinity. */
export class F16RangeError extends RangeError {
  override readonly name = 'F16RangeError';
  constructor(
    readonly index: number,
    readonly value: number,
    label: F16PackLabel,
  ) {
    const inf = value > 0 ? 'Infinity' : '-Infinity';
    super(`${label.what} holds ${value} at index ${index}, beyond the f16 range (largest ${F16_MAX}): stored as f16 it would become ${inf}${label.advice ? `; ${label.advice}` : ''}`);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    mant |= 0x800000; // subnormal: shift the implicit bit in
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  const rest = mant & 0x1fff;
  let m = mant >>> 13;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** f16 bits of values[i], refusing a finite value that rounds to Infinity. */
function checkedBits(values: ArrayLike<number>, i: number, label: F16PackLabel): number {
  const v = values[i];
  const bits = f32ToF16Bits(v);
  if ((bits & 0x7fff) === 0x7c00 && Number.isFinite(v)) throw new F16RangeError((label.offset ?? 0) + i, Math.fround(v), label);
  return bits;
}

/**
 * Packs values as f16, two per u32 (element 2i in the low half), the layout unpack2x16float reads. Throws
 * F16RangeError, named by `label`, for a finite value beyond the f16 range (Inf and NaN stay as they are).
 */
export function packF16(values: ArrayLike<number>, label: F16PackLabel = { what: 'packF16 input' }): Uint32Array {
  const out = new Uint32Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i += 2) {
    const lo = checkedBits(values, i, label);
    const hi = i + 1 < values.length ? checkedBits(values, i + 1, label) : 0;
    out[i >> 1] = (lo | (hi << 16)) >>> 0;
  }
  return out;
}

export function unpackF16(packed: Uint32Array, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const word = packed[i >> 1];
    out[i] = f16BitsToF32(i & 1 ? word >>> 16 : word & 0xffff);
  }
  return out;
}

/** Rounds each value through f16 and back: what the GPU sees when weights are stored as f16. */
export function roundToF16(values: ArrayLike<number>): Float32Array {
  return unpackF16(packF16(values), values.length);
}

/** bfloat16 bits of a float, rounded to nearest even (NaN stays a quiet NaN). */
export function bf16Bits(value: number): number {
  if (Number.isNaN(value)) return 0x7fc0;
  f32[0] = value;
  const u = u32[0];
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
