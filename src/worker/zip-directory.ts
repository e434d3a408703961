// A .zip read by hand (PKWARE's APPNOTE: end-of-central-directory record, central directory, local headers),
// so that its entries can be judged from the sizes they declare before anything is inflated: fflate's
// unzipSync allocates whatever an entry declares and inflates every entry its filter lets through. An entry
// is then inflated in chunks into exactly the bytes it declared, stopping as soon as it would grow past them,
// and checked against its CRC-32. Zip64 (entries or archives over 4 GiB) is refused, as are encrypted entries,
// archives split over several disks and compression methods other than stored and deflate.

import { Inflate } from 'fflate';
import { ModelFormatError } from '../engine/model/errors';

export interface ZipEntry {
  /** The path inside the archive, e.g. "my-adapter/adapter_config.json". */
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  /** The uncompressed size the central directory declares. */
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const ZIP64_EXTRA = 0x0001;
const STORED = 0;
const DEFLATE = 8;
/** Deflate's best case: a 258-byte match in 2 bits. A declared ratio above it cannot be true. */
export const MAX_DEFLATE_RATIO = 1032;
/**
 * Compressed bytes fed to the inflater at a time, for `remaining` bytes still expected. One push can produce
 * 1032 times its input, so an entry that inflates past its declared size is stopped after producing at most
 * max(1 MiB, 16 x remaining) too much (66 MiB at worst); at 64 KiB a push costs little beside the inflater's
 * 32 KiB window, which it copies on every push.
 */
const inflateChunk = (remaining: number) => Math.min(64 * 1024, Math.max(1024, Math.ceil(remaining / 64)));

const u16 = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const u32 = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

function unreadable(label: string, why: string): never {
  throw new ModelFormatError(label, `is not a readable .zip archive (${why})`);
}

function zip64(label: string, what: string): never {
  throw new ModelFormatError(label, `${what} uses zip64 (for entries or archives over 4 GiB), which Tunelab does not read: an adapter is far smaller, so zip it again without zip64`);
}

/** The end-of-central-directory record: the last signature whose comment fits in the file. */
function findEnd(bytes: Uint8Array, label: string): number {
  const lowest = Math.max(0, bytes.length - 22 - 0xffff);
  for (let at = bytes.length - 22; at >= lowest; at--) {
    if (u32(bytes, at) === EOCD && at + 22 + u16(bytes, at + 20) <= bytes.length) return at;
  }
  return unreadable(label, 'no end-of-central-directory record');
}

function entryName(raw: Uint8Array, utf8: boolean): string {
  // Without the UTF-8 flag names are CP437; their ASCII part, all that PEFT's file names use, is the same.
  return new TextDecoder(utf8 ? 'utf-8' : 'latin1').decode(raw);
}

function hasZip64Extra(extra: Uint8Array): boolean {
  for (let at = 0; at + 4 <= extra.length; at += 4 + u16(extra, at + 2)) {
    if (u16(extra, at) === ZIP64_EXTRA) return true;
  }
  return false;
}

/** Every entry the central directory lists, checked to lie inside the archive; nothing is inflated. */
export function readZipDirectory(bytes: Uint8Array, label: string): ZipEntry[] {
  if (bytes.length < 22) unreadable(label, `${bytes.length} bytes, too short for a .zip`);
  const end = findEnd(bytes, label);
  if (end >= 20 && u32(bytes, end - 20) === ZIP64_LOCATOR) zip64(label, 'the archive');
  const count = u16(bytes, end + 10);
  const directorySize = u32(bytes, end + 12);
  const directoryStart = u32(bytes, end + 16);
  if (count === 0xffff || directorySize === 0xffffffff || directoryStart === 0xffffffff) zip64(label, 'the archive');
  if (u16(bytes, end + 4) !== 0 || u16(bytes, end + 6) !== 0 || u16(bytes, end + 8) !== count) unreadable(label, 'it is split over several disks');
  const directoryEnd = directoryStart + directorySize;
  if (directoryEnd > end) unreadable(label, `its central directory (${directorySize} bytes at ${directoryStart}) runs past the end record at ${end}`);
  const entries: ZipEntry[] = [];
  let at = directoryStart;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directoryEnd || u32(bytes, at) !== CENTRAL) unreadable(label, `central directory entry ${i + 1} of ${count} is missing or damaged`);
    const nameLength = u16(bytes, at + 28);
    const extraLength = u16(bytes, at + 30);
    const next = at + 46 + nameLength + extraLength + u16(bytes, at + 32);
    if (next > directoryEnd) unreadable(label, `central directory entry ${i + 1} of ${count} runs past the directory`);
    const flags = u16(bytes, at + 8);
    const name = entryName(bytes.subarray(at + 46, at + 46 + nameLength), (flags & 0x800) !== 0);
    const entry: ZipEntry = {
      name,
      method: u16(bytes, at + 10),
      flags,
      crc32: u32(bytes, at + 16),
      compressedSize: u32(bytes, at + 20),
      size: u32(bytes, at + 24),
      localHeaderOffset: u32(bytes, at + 42),
    };
    const extra = bytes.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    if (entry.compressedSize === 0xffffffff || entry.size === 0xffffffff || entry.localHeaderOffset === 0xffffffff || hasZip64Extra(extra)) {
      zip64(label, `entry "${name}"`);
    }
    entries.push(entry);
    at = next;
  }
  return entries;
}

/** Where an entry's data starts, from its local header, checked to end before the central directory. */
function dataStart(bytes: Uint8Array, entry: ZipEntry, label: string): number {
  const at = entry.localHeaderOffset;
  if (at + 30 > bytes.length || u32(bytes, at) !== LOCAL) unreadable(label, `the local header of "${entry.name}" is missing`);
  const start = at + 30 + u16(bytes, at + 26) + u16(bytes, at + 28);
  if (start + entry.compressedSize > bytes.length) unreadable(label, `the data of "${entry.name}" runs past the end of the archive`);
  return start;
}

/** Why an entry's declared sizes cannot be true or cannot be read, if they cannot. */
export function declaredSizeProblem(entry: ZipEntry): string | undefined {
  if (entry.flags & 1) return 'is encrypted';
  if (entry.method === STORED && entry.compressedSize !== entry.size) {
    return `is stored uncompressed yet declares ${entry.compressedSize} bytes stored for ${entry.size} bytes of content`;
  }
  if (entry.method === DEFLATE && entry.size > MAX_DEFLATE_RATIO * entry.compressedSize) {
    return `declares ${entry.size} bytes inflated from ${entry.compressedSize}, more than deflate's largest ratio (${MAX_DEFLATE_RATIO}:1) allows`;
  }
  if (entry.method !== STORED && entry.method !== DEFLATE) return `uses compression method ${entry.method} (only stored and deflate are read)`;
  return undefined;
}

/** CRC-32 tables for four bytes at a time ("slicing by 4"): T[k][n] is the CRC of byte n followed by k zero bytes. */
const CRC_TABLES = (() => {
  const t = Array.from({ length: 4 }, () => new Int32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[0][n] = c;
  }
  for (let k = 1; k < 4; k++) for (let n = 0; n < 256; n++) t[k][n] = (t[k - 1][n] >>> 8) ^ t[0][t[k - 1][n] & 0xff];
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  const [t0, t1, t2, t3] = CRC_TABLES;
  let c = -1;
  let i = 0;
  for (const end = bytes.length - 3; i < end; i += 4) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    c = t3[c & 0xff] ^ t2[(c >>> 8) & 0xff] ^ t1[(c >>> 16) & 0xff] ^ t0[c >>> 24];
  }
  for (; i < bytes.length; i++) c = t0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Inflates raw deflate data into exactly `size` bytes, stopping as soon as it would produce more. */
function inflateExactly(data: Uint8Array, size: number, fail: (detail: string) => never): Uint8Array {
  const out = new Uint8Array(size);
  let written = 0;
  let tooLong = false;
  const inflater = new Inflate((chunk) => {
    if (written + chunk.length > size) {
      tooLong = true;
      throw new RangeError('past the declared size');
    }
    out.set(chunk, written);
    written += chunk.length;
  });
  try {
    for (let at = 0; at < data.length; ) {
      const next = at + inflateChunk(size - written);
      inflater.push(data.subarray(at, next), next >= data.length);
      at = next;
    }
  } catch (err) {
    if (tooLong) fail(`inflates to more than the ${size} bytes it declares`);
    fail(`is not valid deflate data (${(err as Error).message})`);
  }
  if (written !== size) fail(`inflates to ${written} bytes but declares ${size}`);
  return out;
}

/** One entry's content (a copy, never a view into the archive), after its declared sizes were checked. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, label: string): Uint8Array {
  const fail = (detail: string): never => {
    throw new ModelFormatError(label, `entry "${entry.name}" ${detail}`);
  };
  const problem = declaredSizeProblem(entry);
  if (problem) fail(problem);
  const start = dataStart(bytes, entry, label);
  const data = bytes.subarray(start, start + entry.compressedSize);
  const content = entry.method === STORED ? data.slice() : inflateExactly(data, entry.size, fail);
  const crc = crc32(content);
  if (crc !== entry.crc32) fail(`is damaged: its CRC-32 is ${crc.toString(16).padStart(8, '0')}, the archive says ${entry.crc32.toString(16).padStart(8, '0')}`);
  return content;
}
