import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/engine/model/errors';
import { readSafetensors, TensorView, writeSafetensors } from '../../src/engine/model/safetensors';

/** A file with the given header JSON and `dataBytes` zero bytes of data. */
function rawFile(header: Record<string, unknown>, dataBytes: number): Uint8Array {
  return rawText(JSON.stringify(header), dataBytes);
}

/** A file whose header is exactly `text` (duplicate keys, odd spacing), then `dataBytes` zero bytes. */
function rawText(text: string, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.byteLength + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  return out;
}

function errorOf(fn: () => unknown): ModelFormatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelFormatError);
    return err as ModelFormatError;
  }
  throw new Error('expected an error');
}

describe('safetensors', () => {
  it('round-trips F32, F16, BF16 and I32 with metadata, 8-byte aligned', () => {
    const values = [0, 1, -2.5, 1 / 3, 65504, 2 ** -24, -1e-3];
    const bytes = writeSafetensors(
      {
        f32: { dtype: 'F32', shape: [7], data: values },
        f16: { dtype: 'F16', shape: [7], data: values },
        bf16: { dtype: 'BF16', shape: [7], data: values },
        i32: { dtype: 'I32', shape: [2, 2], data: [7, -1, 2147483647, -2147483648] },
      },
      { format: 'pt' },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const f = readSafetensors(bytes, 'x.safetensors');
    expect(f.metadata).toEqual({ format: 'pt' });
    expect([...f.tensors.keys()]).toEqual(['f32', 'f16', 'bf16', 'i32']);
    expect([...f.tensors.get('f32')!.toFloat32()]).toEqual(values.map(Math.fround));
    // F16: 1/3 -> 0x3555 = 0.333251953125; 2^-24 is the smallest subnormal; -1e-3 -> 0x9419 = -0.0010004043579101562.
    expect([...f.tensors.get('f16')!.toFloat32()]).toEqual([0, 1, -2.5, 0.333251953125, 65504, 2 ** -24, -0.0010004043579101562]);
    // BF16 keeps f32's exponent and 8 mantissa bits: 1/3 -> 0x3EAB = 0.333984375; 65504 -> 65536; -1e-3 -> 0xBA83.
    expect([...f.tensors.get('bf16')!.toFloat32()]).toEqual([0, 1, -2.5, 0.333984375, 65536, 2 ** -24, -0.00099945068359375]);
    const i32 = f.tensors.get('i32')!;
    expect(i32.shape).toEqual([2, 2]);
    expect([...i32.toInt32()]).toEqual([7, -1, 2147483647, -2147483648]);
    expect(() => i32.toFloat32()).toThrow('x.safetensors: tensor "i32" has dtype I32, expected a float type');
    expect(() => f.tensors.get('f16')!.toInt32()).toThrow('x.safetensors: tensor "f16" has dtype F16, expected I32 or I64');
  });

  it('reads tensors as views of the file, at their offsets', () => {
    const bytes = writeSafetensors({ a: { dtype: 'F32', shape: [2], data: [1, 2] }, b: { dtype: 'F32', shape: [3], data: [3, 4, 5] } });
    const b = readSafetensors(bytes).tensors.get('b')!;
    expect(b.bytes.buffer).toBe(bytes.buffer);
    expect(b.bytes.byteOffset).toBe(bytes.byteLength - 12);
    expect([...b.toFloat32()]).toEqual([3, 4, 5]);
  });

  it('names the file when it is too short or its header runs past the end', () => {
    expect(errorOf(() => readSafetensors(new Uint8Array(5), 'm.safetensors')).message).toBe(
      'm.safetensors: is 5 bytes, too short for a safetensors header',
    );
    const whole = writeSafetensors({ w: { dtype: 'F32', shape: [4], data: [1, 2, 3, 4] } });
    const headerLength = Number(new DataView(whole.buffer).getBigUint64(0, true));
    const truncated = whole.subarray(0, 8 + headerLength - 3);
    expect(errorOf(() => readSafetensors(truncated, 'm.safetensors')).message).toBe(
      `m.safetensors: header length ${headerLength} runs past the end of the file (${truncated.byteLength} bytes)`,
    );
    const badJson = rawFile({}, 0);
    badJson[8] = 0x5b; // '[' ... '}'
    expect(errorOf(() => readSafetensors(badJson, 'm.safetensors')).message).toMatch(/^m\.safetensors: header is not valid JSON/);
  });

  it('names the file and tensor when data is missing: a file cut inside the data', () => {
    const whole = writeSafetensors({
      a: { dtype: 'F32', shape: [2], data: [1, 2] },
      w: { dtype: 'F32', shape: [4], data: [1, 2, 3, 4] },
    });
    const err = errorOf(() => readSafetensors(whole.subarray(0, whole.byteLength - 4), 'model-00002-of-00002.safetensors'));
    expect(err.file).toBe('model-00002-of-00002.safetensors');
    expect(err.message).toBe('model-00002-of-00002.safetensors: tensor "w" data_offsets [8, 24] run past the data (20 bytes)');
  });

  it('names the file and tensor for offsets past the end and size mismatches', () => {
    const past = rawFile({ 'lm_head.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [16, 32] } }, 24);
    expect(errorOf(() => readSafetensors(past, 'm.safetensors')).message).toBe(
      'm.safetensors: tensor "lm_head.weight" data_offsets [16, 32] run past the data (24 bytes)',
    );
    const mismatch = rawFile({ 'model.norm.weight': { dtype: 'BF16', shape: [3, 4], data_offsets: [0, 12] } }, 24);
    expect(errorOf(() => readSafetensors(mismatch, 'm.safetensors')).message).toBe(
      'm.safetensors: tensor "model.norm.weight" BF16[3, 4] needs 24 bytes, data_offsets give 12',
    );
    const scalar = rawFile({ t: { dtype: 'F32', shape: [0], data_offsets: [8, 8] }, u: { dtype: 'U8', shape: [], data_offsets: [9, 10] } }, 8);
    expect(errorOf(() => readSafetensors(scalar, 'm.safetensors')).message).toBe('m.safetensors: tensor "u" data_offsets [9, 10] run past the data (8 bytes)');
    const dtype = rawFile({ t: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, 1);
    expect(errorOf(() => readSafetensors(dtype, 'm.safetensors')).message).toBe('m.safetensors: tensor "t" has unknown dtype "F8_E4M3"');
    const shape = rawFile({ t: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, 8);
    expect(errorOf(() => readSafetensors(shape, 'm.safetensors')).message).toBe('m.safetensors: tensor "t" has a bad shape [2,-1]');
    const offsets = rawFile({ t: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 8);
    expect(errorOf(() => readSafetensors(offsets, 'm.safetensors')).message).toBe('m.safetensors: tensor "t" has bad data_offsets [0]');
  });

  it('refuses a header length over the format\'s 100 MB limit before reading it', () => {
    const file = new Uint8Array(16);
    new DataView(file.buffer).setBigUint64(0, 100_000_001n, true);
    expect(errorOf(() => readSafetensors(file, 'm.safetensors')).message).toBe(
      "m.safetensors: header length 100000001 is over the format's limit of 100000000 bytes",
    );
    new DataView(file.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expect(errorOf(() => readSafetensors(file, 'm.safetensors')).message).toBe(
      "m.safetensors: header length 18446744073709551615 is over the format's limit of 100000000 bytes",
    );
  });

  it('refuses a header that does not open with "{" and metadata that is not strings', () => {
    expect(errorOf(() => readSafetensors(rawText(' {"t": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}', 1), 'm.safetensors')).message).toBe(
      "m.safetensors: header starts with byte 0x20; the format requires '{' first",
    );
    const meta = rawFile({ __metadata__: { format: 'pt', total: 12 }, t: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, 1);
    expect(errorOf(() => readSafetensors(meta, 'm.safetensors')).message).toBe('m.safetensors: "__metadata__.total" must be a string, got 12');
  });

  it('refuses a key given twice: a tensor, or a field of one tensor (JSON.parse would keep the last silently)', () => {
    const tensor = '{"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}';
    const twice = rawText(`{"a": ${tensor}, "b": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}, "\u0061": ${tensor}}`, 4);
    expect(errorOf(() => readSafetensors(twice, 'model-00001-of-00002.safetensors')).message).toBe(
      'model-00001-of-00002.safetensors: the header has the key "a" twice (the format allows each key once)',
    );
    const field = rawText('{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "shape": [2]}}', 4);
    expect(errorOf(() => readSafetensors(field, 'm.safetensors')).message).toBe(
      'm.safetensors: the header\'s "w" has the key "shape" twice (the format allows each key once)',
    );
  });

  it('refuses overlapping data_offsets, naming both tensors', () => {
    // "b" reads the last 4 bytes of "a" again: both would share storage.
    const overlap = rawFile(
      {
        'model.embed_tokens.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
        'model.norm.weight': { dtype: 'F32', shape: [2], data_offsets: [12, 20] },
      },
      20,
    );
    expect(errorOf(() => readSafetensors(overlap, 'm.safetensors')).message).toBe(
      'm.safetensors: tensor "model.norm.weight" data_offsets [12, 20] overlap tensor "model.embed_tokens.weight" [0, 16]',
    );
    const same = rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, 4);
    expect(errorOf(() => readSafetensors(same, 'm.safetensors')).message).toBe('m.safetensors: tensor "b" data_offsets [0, 4] overlap tensor "a" [0, 4]');
  });

  it('refuses data that the tensors do not cover back to back: a gap, a first tensor after 0, bytes after the last', () => {
    const gap = rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12);
    expect(errorOf(() => readSafetensors(gap, 'm.safetensors')).message).toBe(
      'm.safetensors: bytes [4, 8) after tensor "a" belong to no tensor (tensor "b" starts at 8); the format requires the tensors back to back',
    );
    const late = rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8);
    expect(errorOf(() => readSafetensors(late, 'm.safetensors')).message).toBe(
      'm.safetensors: bytes [0, 4) at the start of the data belong to no tensor (tensor "a" starts at 4); the format requires the tensors back to back',
    );
    const trailing = rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 7);
    expect(errorOf(() => readSafetensors(trailing, 'm.safetensors')).message).toBe(
      'm.safetensors: the data is 7 bytes but the last tensor "a" ends at 4: 3 bytes belong to no tensor',
    );
    // Empty tensors take no bytes and may sit anywhere on the boundary; tensors in any header order.
    const fine = rawFile({ b: { dtype: 'U8', shape: [3], data_offsets: [4, 7] }, e: { dtype: 'F32', shape: [0, 5], data_offsets: [4, 4] }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 7);
    expect([...readSafetensors(fine).tensors.keys()]).toEqual(['b', 'e', 'a']);
  });

  it('refuses dtypes that only exist on Object.prototype and shapes too large to address', () => {
    const proto = rawFile({ t: { dtype: 'toString', shape: [1], data_offsets: [0, 1] } }, 1);
    expect(errorOf(() => readSafetensors(proto, 'm.safetensors')).message).toBe('m.safetensors: tensor "t" has unknown dtype "toString"');
    const huge = rawFile({ t: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 0] } }, 0);
    expect(errorOf(() => readSafetensors(huge, 'm.safetensors')).message).toBe('m.safetensors: tensor "t" F32[1099511627776, 1099511627776] is too large to address');
  });

  it('finds the first NaN or Infinity of every float dtype from the stored bits, misaligned views included', () => {
    const values = [1, -2, 65504, 2 ** -24, NaN, Infinity];
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const file = readSafetensors(writeSafetensors({ ok: { dtype, shape: [2, 2], data: values.slice(0, 4) }, nan: { dtype, shape: [2], data: values.slice(3, 5) }, inf: { dtype, shape: [3], data: [0, -values[5], 1] } }));
      expect(file.tensors.get('ok')!.firstNonFinite()).toBe(-1);
      expect(file.tensors.get('nan')!.firstNonFinite()).toBe(1);
      expect(file.tensors.get('nan')!.valueAt(1)).toBeNaN();
      expect(file.tensors.get('inf')!.firstNonFinite()).toBe(1);
      expect(file.tensors.get('inf')!.valueAt(1)).toBe(-Infinity);
    }
    // F64 (its exponent in the high word) and a view at an odd byte offset (legal in the format).
    const f64 = new Uint8Array(1 + 3 * 8);
    const dv = new DataView(f64.buffer, 1);
    [0.5, 1e308, -Infinity].forEach((v, i) => dv.setFloat64(8 * i, v, true));
    const view = new TensorView('t', 'F64', [3], f64.subarray(1), 'x.safetensors');
    expect(view.firstNonFinite()).toBe(2);
    expect(view.valueAt(2)).toBe(-Infinity);
    expect(new TensorView('t', 'F64', [2], f64.subarray(1, 17), 'x.safetensors').firstNonFinite()).toBe(-1);
    const odd = new Uint8Array(7);
    new DataView(odd.buffer).setUint16(5, 0x7e00, true); // f16 NaN at element 2 of a view starting at byte 1
    expect(new TensorView('h', 'F16', [3], odd.subarray(1), 'x.safetensors').firstNonFinite()).toBe(2);
    expect(new TensorView('i', 'I32', [1], new Uint8Array([0, 0, 0x80, 0x7f]), 'x.safetensors').firstNonFinite()).toBe(-1);
  });

  it('refuses to write data that does not fill its shape', () => {
    expect(() => writeSafetensors({ w: { dtype: 'F32', shape: [2, 3], data: [1, 2, 3] } })).toThrow('"w" has 3 values for shape [2, 3]');
  });
});
