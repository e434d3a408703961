// Float values -> the little-endian bytes (typed arrays: every platform WebGPU runs on is little-endian) of a storage dtype, for export writers (safetensors, ONNX).
// f16 refuses values beyond its range instead of writing Inf: a merged weight that large would silently
// change the model.

import { bf16Bits, f32ToF16Bits } from '../gpu/f16';

export type FloatDtype = 'F32' | 'F16' | 'BF16';

export const FLOAT_DTYPE_BYTES: Record<FloatDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** The largest finite f16 value; values from F16_OVERFLOW up round to Inf. */
export const F16_MAX = 65504;
const F16_OVERFLOW = 65520;

/** Raised when a value cannot be stored in the requested dtype (names the tensor and the value). */
export class DtypeRangeError extends RangeError {
  constructor(tensor: string, index: number, value: number, dtype: FloatDtype) {
    super(`tensor "${tensor}" holds ${value} at index ${index}, which ${dtype} cannot store (largest ${F16_MAX}); export as f32 or bf16`);
    this.name = 'DtypeRangeError';
  }
}

/** f16 bits of one value of `tensor` (at `index`), refusing a value that would round to Inf. */
export function checkedF16Bits(value: number, tensor: string, index: number): number {
  if (Math.abs(value) >= F16_OVERFLOW && Number.isFinite(value)) throw new DtypeRangeError(tensor, index, value, 'F16');
  return f32ToF16Bits(value);
}

/** Encodes values as `dtype` (little-endian); `tensor` names the tensor in errors. */
export function encodeFloats(values: ArrayLike<number>, dtype: FloatDtype, tensor: string): Uint8Array {
  const n = values.length;
  if (dtype === 'F32') {
    // A Float32Array is already the bytes: no copy (an embedding can be hundreds of MB).
    const out = values instanceof Float32Array ? values : Float32Array.from(values);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  const out = new Uint16Array(n);
  if (dtype === 'BF16') {
    for (let i = 0; i < n; i++) out[i] = bf16Bits(values[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = checkedF16Bits(values[i], tensor, i);
  }
  return new Uint8Array(out.buffer);
}

/** Values per slice when a big tensor is converted row block by row block (a 0.5B model's embedding is 136M). */
export const SLICE_VALUES = 1 << 22;

/** A (rows, ...) tensor encoded as `dtype` in row blocks of about SLICE_VALUES values, read by `readRows`. */
export function* encodeRowSlices(shape: readonly number[], readRows: (begin: number, end: number) => Float32Array, dtype: FloatDtype, tensor: string): Iterable<Uint8Array> {
  const rows = shape.length === 0 ? 1 : shape[0];
  const perRow = Math.max(1, shape.slice(1).reduce((a, b) => a * b, 1));
  const step = Math.max(1, Math.floor(SLICE_VALUES / perRow));
  for (let begin = 0; begin < rows; begin += step) yield encodeFloats(readRows(begin, Math.min(rows, begin + step)), dtype, tensor);
}
