// .zip archives written byte by byte (PKWARE's APPNOTE layout: local headers with their data, the central
// directory, the end record), so a test can make an archive lie: declare a size its data does not have, use
// zip64, set flags. Independent of fflate and of Tunelab's reader; CRC-32 from node:zlib.

import { crc32 } from 'node:zlib';
import { deflateSync } from 'fflate';

export interface HandEntry {
  name: string;
  /** The bytes as stored in the archive (already deflated for method 8). */
  data: Uint8Array;
  /** 0 stored, 8 deflate, or anything else to test refusals. */
  method: number;
  /** What the central directory declares; default: the real content's size. */
  size: number;
  /** Default: data's length. */
  compressedSize?: number;
  crc32: number;
  flags?: number;
  /** Sizes as 0xFFFFFFFF with the real ones in a zip64 extra field (8-byte sizes). */
  zip64?: boolean;
}

/** A stored entry of `content`, true to it. */
export function storedEntry(name: string, content: Uint8Array): HandEntry {
  return { name, data: content, method: 0, size: content.length, crc32: crc32(content) };
}

/** A deflated entry of `content`, true to it unless `overrides` says otherwise. */
export function deflatedEntry(name: string, content: Uint8Array, overrides: Partial<HandEntry> = {}): HandEntry {
  return { name, data: deflateSync(content), method: 8, size: content.length, crc32: crc32(content), ...overrides };
}

class Writer {
  private bytes: number[] = [];
  get length() {
    return this.bytes.length;
  }
  u16(v: number) {
    this.bytes.push(v & 0xff, (v >>> 8) & 0xff);
  }
  u32(v: number) {
    for (let i = 0; i < 4; i++) this.bytes.push((v >>> (8 * i)) & 0xff);
  }
  u64(v: number) {
    this.u32(v % 2 ** 32);
    this.u32(Math.floor(v / 2 ** 32));
  }
  raw(b: Uint8Array) {
    for (const x of b) this.bytes.push(x);
  }
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export interface HandZipOptions {
  /** A zip64 end record and locator before the ordinary end record. */
  zip64Archive?: boolean;
}

export function handZip(entries: readonly HandEntry[], options: HandZipOptions = {}): Uint8Array {
  const w = new Writer();
  const enc = new TextEncoder();
  const offsets: number[] = [];
  const header = (e: HandEntry, central: boolean, offset: number) => {
    const name = enc.encode(e.name);
    const compressed = e.compressedSize ?? e.data.length;
    const extra = new Writer();
    if (e.zip64) {
      extra.u16(0x0001);
      extra.u16(central ? 24 : 16);
      extra.u64(e.size);
      extra.u64(compressed);
      if (central) extra.u64(offset);
    }
    const extraBytes = extra.done();
    w.u32(central ? 0x02014b50 : 0x04034b50);
    if (central) w.u16(20); // version made by
    w.u16(e.zip64 ? 45 : 20); // version needed
    w.u16(e.flags ?? 0x800);
    w.u16(e.method);
    w.u16(0); // time
    w.u16(0x21); // date: 1980-01-01
    w.u32(e.crc32);
    w.u32(e.zip64 ? 0xffffffff : compressed);
    w.u32(e.zip64 ? 0xffffffff : e.size);
    w.u16(name.length);
    w.u16(extraBytes.length);
    if (central) {
      w.u16(0); // comment
      w.u16(0); // disk
      w.u16(0); // internal attributes
      w.u32(0); // external attributes
      w.u32(e.zip64 ? 0xffffffff : offset);
    }
    w.raw(name);
    w.raw(extraBytes);
  };
  for (const e of entries) {
    offsets.push(w.length);
    header(e, false, 0);
    w.raw(e.data);
  }
  const directoryStart = w.length;
  entries.forEach((e, i) => header(e, true, offsets[i]));
  const directorySize = w.length - directoryStart;
  if (options.zip64Archive) {
    const recordAt = w.length;
    w.u32(0x06064b50);
    w.u64(44);
    w.u16(45);
    w.u16(45);
    w.u32(0);
    w.u32(0);
    w.u64(entries.length);
    w.u64(entries.length);
    w.u64(directorySize);
    w.u64(directoryStart);
    w.u32(0x07064b50);
    w.u32(0);
    w.u64(recordAt);
    w.u32(1);
  }
  w.u32(0x06054b50);
  w.u16(0);
  w.u16(0);
  w.u16(entries.length);
  w.u16(entries.length);
  w.u32(directorySize);
  w.u32(directoryStart);
  w.u16(0);
  return w.done();
}
