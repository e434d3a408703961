// The safetensors header, checked as the format requires (huggingface/safetensors README, "Format"): an
// 8-byte little-endian length N of at most 100 MB, N bytes of UTF-8 JSON that open with '{' and hold no key
// twice, each tensor's dtype, shape and data_offsets [begin, end) consistent, and the tensors' byte ranges
// covering the data after the header exactly: back to back from 0 to its end, no gap, no overlap. So no
// byte is read as two tensors and none goes unexplained; every failure names the file and the tensor.

import { findDuplicateKey } from '../util/json-duplicate-keys';
import { ModelFormatError } from './errors';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'U8' | 'BOOL' | 'F64';

export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = { F64: 8, F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, U8: 1, BOOL: 1 };

/** The format's limit on N, against parsing a huge JSON text. */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';

export interface HeaderTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range [begin, end) in the data that follows the header. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Byte where the data starts in the file: 8 + N. */
  dataStart: number;
  metadata: Record<string, string>;
  /** In the header's order. */
  tensors: HeaderTensor[];
}

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPE_BYTES, value);
}

/** The header's JSON object and where the data starts (8 + N). */
function headerJson(bytes: Uint8Array, file: string): { json: Record<string, unknown>; dataStart: number } {
  if (bytes.byteLength < 8) throw new ModelFormatError(file, `is ${bytes.byteLength} bytes, too short for a safetensors header`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new ModelFormatError(file, `header length ${headerLength} is over the format's limit of ${MAX_HEADER_BYTES} bytes`);
  }
  const n = Number(headerLength);
  if (n > bytes.byteLength - 8) throw new ModelFormatError(file, `header length ${n} runs past the end of the file (${bytes.byteLength} bytes)`);
  let text: string;
  let header: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
    header = JSON.parse(text);
  } catch (err) {
    throw new ModelFormatError(file, `header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new ModelFormatError(file, 'header is not a JSON object');
  if (bytes[8] !== 0x7b) throw new ModelFormatError(file, `header starts with byte 0x${bytes[8].toString(16)}; the format requires '{' first`);
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    const where = duplicate.path.length === 0 ? 'the header' : `the header's "${duplicate.path.join('.')}"`;
    throw new ModelFormatError(file, `${where} has the key "${duplicate.key}" twice (the format allows each key once)`);
  }
  return { json: header as Record<string, unknown>, dataStart: 8 + n };
}

function metadataOf(value: unknown, file: string): Record<string, string> {
  if (value === null) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ModelFormatError(file, `"${METADATA_KEY}" must be an object of strings`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new ModelFormatError(file, `"${METADATA_KEY}.${key}" must be a string, got ${JSON.stringify(v)}`);
  }
  return value as Record<string, string>;
}

function tensorOf(name: string, entry: unknown, dataLength: number, file: string): HeaderTensor {
  const e = (typeof entry === 'object' && entry !== null ? entry : {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const dtype = e.dtype;
  if (!isDtype(dtype)) throw new ModelFormatError(file, `tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}`);
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ModelFormatError(file, `tensor "${name}" has a bad shape ${JSON.stringify(shape)}`);
  }
  const offsets = e.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new ModelFormatError(file, `tensor "${name}" has bad data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(expected)) throw new ModelFormatError(file, `tensor "${name}" ${dtype}[${shape.join(', ')}] is too large to address`);
  if (end - begin !== expected) {
    throw new ModelFormatError(file, `tensor "${name}" ${dtype}[${shape.join(', ')}] needs ${expected} bytes, data_offsets give ${end - begin}`);
  }
  if (end > dataLength || begin > end) throw new ModelFormatError(file, `tensor "${name}" data_offsets [${begin}, ${end}] run past the data (${dataLength} bytes)`);
  return { name, dtype, shape: shape as number[], begin, end };
}

/** The tensors' ranges in offset order must tile [0, dataLength): refuses a gap, an overlap or bytes after the last. */
function checkLayout(tensors: readonly HeaderTensor[], dataLength: number, file: string): void {
  const ordered = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous: HeaderTensor | undefined;
  for (const t of ordered) {
    if (t.begin < at) {
      throw new ModelFormatError(file, `tensor "${t.name}" data_offsets [${t.begin}, ${t.end}] overlap tensor "${previous!.name}" [${previous!.begin}, ${previous!.end}]`);
    }
    if (t.begin > at) {
      const after = previous ? `after tensor "${previous.name}"` : 'at the start of the data';
      throw new ModelFormatError(file, `bytes [${at}, ${t.begin}) ${after} belong to no tensor (tensor "${t.name}" starts at ${t.begin}); the format requires the tensors back to back`);
    }
    at = t.end;
    previous = t;
  }
  if (at !== dataLength) {
    const last = previous ? `the last tensor "${previous.name}" ends at ${at}` : 'there are no tensors';
    throw new ModelFormatError(file, `the data is ${dataLength} bytes but ${last}: ${dataLength - at} bytes belong to no tensor`);
  }
}

/** Reads and checks the header of a whole safetensors file held in memory. */
export function readSafetensorsHeader(bytes: Uint8Array, file: string): SafetensorsHeader {
  const { json, dataStart } = headerJson(bytes, file);
  const dataLength = bytes.byteLength - dataStart;
  let metadata: Record<string, string> = {};
  const tensors: HeaderTensor[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === METADATA_KEY) metadata = metadataOf(entry, file);
    else tensors.push(tensorOf(name, entry, dataLength, file));
  }
  checkLayout(tensors, dataLength, file);
  return { dataStart, metadata, tensors };
}
