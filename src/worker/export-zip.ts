// Export files into one .zip held as a Blob, made chunk by chunk: entries are stored (weights barely
// compress), each chunk goes into the Blob as soon as fflate hands it over, so the archive never exists as one
// JavaScript buffer (a browser keeps large Blobs outside the page's heap).

import { Zip, ZipPassThrough } from 'fflate';
import type { ExportFile } from '../engine/export/export-file';

/** Plain zip (no zip64): sizes and offsets must fit 32 bits. */
const ZIP32_LIMIT = 0xffffffff;
/** Pending chunks are folded into the Blob every this many bytes (few, large Blob parts). */
const FOLD_BYTES = 32 * 1024 * 1024;

/** Collects chunks into a Blob, folding them in every FOLD_BYTES so few stay on the JavaScript heap. */
class BlobSink {
  private blob = new Blob([]);
  private pending: Uint8Array<ArrayBuffer>[] = [];
  private pendingBytes = 0;

  push(chunk: Uint8Array): void {
    this.pending.push(chunk as Uint8Array<ArrayBuffer>);
    this.pendingBytes += chunk.byteLength;
    if (this.pendingBytes >= FOLD_BYTES) this.fold();
  }

  private fold(): void {
    this.blob = new Blob([this.blob, ...this.pending]);
    this.pending = [];
    this.pendingBytes = 0;
  }

  done(): Blob {
    this.fold();
    return this.blob;
  }
}

export async function zipExportFiles(files: readonly ExportFile[], onFile?: (file: ExportFile, written: number) => void): Promise<Blob> {
  const total = files.reduce((n, f) => n + f.size, 0);
  const tooBig = files.find((f) => f.size >= ZIP32_LIMIT);
  if (tooBig || total >= ZIP32_LIMIT) {
    throw new Error(`${tooBig?.path ?? 'the export'} is ${((tooBig?.size ?? total) / 1e9).toFixed(2)} GB: a .zip holds at most 4 GB here; export with a smaller dtype (f16) or use the command line (tunelab export), which writes a folder`);
  }
  const sink = new BlobSink();
  let failure: Error | undefined;
  const zip = new Zip((err, chunk) => {
    if (err) failure = err;
    else sink.push(chunk);
  });
  let written = 0;
  for (const file of files) {
    const entry = new ZipPassThrough(file.path);
    zip.add(entry);
    for await (const chunk of file.chunks()) {
      entry.push(chunk, false);
      if (failure) throw failure;
    }
    entry.push(new Uint8Array(0), true);
    written += file.size;
    onFile?.(file, written);
  }
  zip.end();
  if (failure) throw failure;
  return sink.done();
}

/** Each file as its own Blob (for onnxruntime-web, which takes the model and its external data apart). */
export async function exportFilesAsBlobs(files: readonly ExportFile[], onFile?: (file: ExportFile, written: number) => void): Promise<Record<string, Blob>> {
  const out: Record<string, Blob> = {};
  let written = 0;
  for (const file of files) {
    const sink = new BlobSink();
    for await (const chunk of file.chunks()) sink.push(chunk);
    out[file.path] = sink.done();
    written += file.size;
    onFile?.(file, written);
  }
  return out;
}
