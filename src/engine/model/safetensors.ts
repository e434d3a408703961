// The safetensors format: 8-byte little-endian header length N, N bytes of JSON
// ({name: {dtype, shape, data_offsets: [begin, end]}} plus "__metadata__"), then the raw little-endian data.
// Reading keeps each tensor as a view of the file's bytes and converts on demand (a 0.5B-parameter
// checkpoint never exists twice in f32).

import { bf16Bits, f16BitsToF32, f32ToF16Bits } from '../gpu/f16';
import { ModelFormatError } from './errors';
import { DTYPE_BYTES, readSafetensorsHeader, type SafetensorsDtype } from './safetensors-header';

export type { SafetensorsDtype } from './safetensors-header';

/** One tensor of a safetensors file: shape, dtype and its bytes (a view, not a copy). */
export class TensorView {
  constructor(
    readonly name: string,
    readonly dtype: SafetensorsDtype,
    readonly shape: readonly number[],
    readonly bytes: Uint8Array,
    /** The file it came from, for error messages. */
    readonly file: string,
  ) {}

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Rows [begin, end) of dimension 0 as a view of the same bytes (for slice-by-slice conversion). */
  rows(begin: number, end: number): TensorView {
    const rowBytes = this.shape[0] ? this.bytes.byteLength / this.shape[0] : 0;
    return new TensorView(this.name, this.dtype, [end - begin, ...this.shape.slice(1)], this.bytes.subarray(begin * rowBytes, end * rowBytes), this.file);
  }

  /** The values as f32 (F32 copied, F16/BF16 widened, F64 narrowed). */
  toFloat32(): Float32Array {
    const n = this.size;
    const out = new Float32Array(n);
    const dv = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    switch (this.dtype) {
      case 'F32':
        for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
        return out;
      case 'F64':
        for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
        return out;
      case 'F16':
        for (let i = 0; i < n; i++) out[i] = f16BitsToF32(dv.getUint16(2 * i, true));
        return out;
      case 'BF16': {
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
        return out;
      }
      default:
        throw new ModelFormatError(this.file, `tensor "${this.name}" has dtype ${this.dtype}, expected a float type`);
    }
  }

  /**
   * Index of the first NaN or ±Infinity of a float tensor, -1 when every value is finite (and for integer
   * dtypes): one pass over the stored bits, no conversion (an exponent field of all ones is Inf or NaN).
   */
  firstNonFinite(): number {
    switch (this.dtype) {
      case 'F16':
        return firstAllOnes16(this.aligned(2), 0x7c00);
      case 'BF16':
        return firstAllOnes16(this.aligned(2), 0x7f80);
      case 'F32':
        return firstAllOnes32(this.aligned(4), 0x7f800000);
      case 'F64':
        return firstNonFinite64(this.aligned(4));
      default:
        return -1;
    }
  }

  /** Value i as a number (for messages: the NaN or Infinity that firstNonFinite found). */
  valueAt(i: number): number {
    const dv = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    switch (this.dtype) {
      case 'F32':
        return dv.getFloat32(4 * i, true);
      case 'F64':
        return dv.getFloat64(8 * i, true);
      case 'F16':
        return f16BitsToF32(dv.getUint16(2 * i, true));
      case 'BF16':
        return new Float32Array(Uint32Array.of(dv.getUint16(2 * i, true) << 16).buffer)[0];
      default:
        return this.toInt32()[i];
    }
  }

  /** The bytes as aligned words (a typed view needs an aligned offset; a misaligned tensor, legal and rare, is copied). */
  private aligned(wordBytes: 2): Uint16Array;
  private aligned(wordBytes: 4): Uint32Array;
  private aligned(wordBytes: 2 | 4): Uint16Array | Uint32Array {
    const b = this.bytes.byteOffset % wordBytes === 0 ? this.bytes : this.bytes.slice();
    return wordBytes === 2 ? new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2) : new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  }

  /** Integer tensors (I32, I64 within 2^53) as numbers. */
  toInt32(): Int32Array {
    const n = this.size;
    const out = new Int32Array(n);
    const dv = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    if (this.dtype === 'I32') for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
    else if (this.dtype === 'I64') for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(8 * i, true));
    else throw new ModelFormatError(this.file, `tensor "${this.name}" has dtype ${this.dtype}, expected I32 or I64`);
    return out;
  }
}

// One loop per word type and stride, so that each stays monomorphic (a shared loop runs ~1.5x slower).

/** First index whose bits hold every bit of `mask` (an all-ones exponent), or -1. */
function firstAllOnes16(words: Uint16Array, mask: number): number {
  for (let i = 0, n = words.length; i < n; i++) if ((words[i] & mask) === mask) return i;
  return -1;
}

function firstAllOnes32(words: Uint32Array, mask: number): number {
  for (let i = 0, n = words.length; i < n; i++) if ((words[i] & mask) === mask) return i;
  return -1;
}

/** F64: the exponent sits in the high word of each little-endian pair. */
function firstNonFinite64(words: Uint32Array): number {
  for (let i = 1, n = words.length; i < n; i += 2) if ((words[i] & 0x7ff00000) === 0x7ff00000) return (i - 1) / 2;
  return -1;
}

export interface SafetensorsFile {
  /** Where it came from (file name), for errors. */
  file: string;
  metadata: Record<string, string>;
  tensors: Map<string, TensorView>;
}

/** Parses a whole safetensors file held in memory; the header is checked as the format requires (safetensors-header.ts). */
export function readSafetensors(bytes: Uint8Array, file = 'model.safetensors'): SafetensorsFile {
  const header = readSafetensorsHeader(bytes, file);
  const tensors = new Map<string, TensorView>();
  for (const t of header.tensors) {
    tensors.set(t.name, new TensorView(t.name, t.dtype, t.shape, bytes.subarray(header.dataStart + t.begin, header.dataStart + t.end), file));
  }
  return { file, metadata: header.metadata, tensors };
}

export interface TensorToWrite {
  dtype: 'F32' | 'F16' | 'BF16' | 'I32';
  shape: readonly number[];
  /** Values; converted to dtype on write (F16 rounds to nearest even, BF16 rounds to nearest even). */
  data: ArrayLike<number>;
}

/** The 8-byte length plus the JSON header (8-byte aligned) for tensors written back to back in this order. */
export function safetensorsHeaderBytes(
  tensors: readonly { name: string; dtype: SafetensorsDtype; shape: readonly number[]; byteLength: number }[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (expected !== t.byteLength) throw new RangeError(`safetensors: "${t.name}" ${t.dtype}[${t.shape.join(', ')}] needs ${expected} bytes, got ${t.byteLength}`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = json.byteLength + ((8 - ((8 + json.byteLength) % 8)) % 8);
  const out = new Uint8Array(8 + padded).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** Serialises tensors (in the given order, 8-byte aligned header) with optional string metadata. */
export function writeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new RangeError(`safetensors: "${name}" has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
  }
  const headerBytes = safetensorsHeaderBytes(
    entries.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, byteLength: t.data.length * DTYPE_BYTES[t.dtype] })),
    metadata,
  );
  const dataBytes = entries.reduce((n, [, t]) => n + t.data.length * DTYPE_BYTES[t.dtype], 0);
  const out = new Uint8Array(headerBytes.byteLength + dataBytes);
  const dv = new DataView(out.buffer);
  out.set(headerBytes, 0);
  let pos = headerBytes.byteLength;
  for (const [, t] of entries) {
    const n = t.data.length;
    for (let i = 0; i < n; i++) {
      const v = t.data[i];
      switch (t.dtype) {
        case 'F32':
          dv.setFloat32(pos, v, true);
          pos += 4;
          break;
        case 'I32':
          dv.setInt32(pos, v, true);
          pos += 4;
          break;
        case 'F16':
          dv.setUint16(pos, f32ToF16Bits(v), true);
          pos += 2;
          break;
        case 'BF16':
          dv.setUint16(pos, bf16Bits(v), true);
          pos += 2;
          break;
      }
    }
  }
  return out;
}
