// Export files into one .zip, made chunk by chunk: entries are stored (weights barely compress) and each chunk
// goes to the sink (a disk-backed file where the browser has OPFS) as soon as fflate hands it over, so the
// archive never exists as one JavaScript buffer. Progress is reported as each file starts and every
// PROGRESS_BYTES within it.

import { Zip, ZipPassThrough } from 'fflate';
import type { ExportFile } from '../engine/export/export-file';
import { exportSinks, type ByteSink } from './export-sink';

const PROGRESS_BYTES = 32 * 1024 * 1024;

/** Bytes of the whole export written so far, and the file being written. */
export type FileProgress = (file: ExportFile, written: number) => void;

/** Plain zip (no zip64): sizes and offsets must fit 32 bits. */
const ZIP32_LIMIT = 0xffffffff;

export async function zipExportFiles(files: readonly ExportFile[], zipName: string, onProgress?: FileProgress): Promise<Blob> {
  const total = files.reduce((n, f) => n + f.size, 0);
  const tooBig = files.find((f) => f.size >= ZIP32_LIMIT);
  if (tooBig || total >= ZIP32_LIMIT) {
    throw new Error(`${tooBig?.path ?? 'the export'} is ${((tooBig?.size ?? total) / 1e9).toFixed(2)} GB: a .zip holds at most 4 GB here; export with a smaller dtype (f16) or use the command line (tunelab export), which writes a folder`);
  }
  const sink = await (await exportSinks())(zipName);
  let failure: Error | undefined;
  const zip = new Zip((err, chunk) => {
    if (err) failure = err;
    else sink.write(chunk);
  });
  const progress = reporter(onProgress);
  for (const file of files) {
    const entry = new ZipPassThrough(file.path);
    zip.add(entry);
    progress.start(file);
    for await (const chunk of file.chunks()) {
      entry.push(chunk, false);
      if (failure) throw failure;
      progress.advance(file, chunk.byteLength);
    }
    entry.push(new Uint8Array(0), true);
  }
  zip.end();
  if (failure) throw failure;
  return sink.finish();
}

/** Each file as its own Blob (for onnxruntime-web, which takes the model and its external data apart). */
export async function exportFilesAsBlobs(files: readonly ExportFile[], onProgress?: FileProgress): Promise<Record<string, Blob>> {
  const open = await exportSinks();
  const progress = reporter(onProgress);
  const out: Record<string, Blob> = {};
  for (const file of files) {
    const sink: ByteSink = await open(file.path);
    progress.start(file);
    for await (const chunk of file.chunks()) {
      sink.write(chunk);
      progress.advance(file, chunk.byteLength);
    }
    out[file.path] = await sink.finish();
  }
  return out;
}

/** Calls onProgress when a file starts and every PROGRESS_BYTES of it. */
function reporter(onProgress: FileProgress | undefined) {
  let written = 0;
  let reported = 0;
  return {
    start(file: ExportFile) {
      reported = written;
      onProgress?.(file, written);
    },
    advance(file: ExportFile, bytes: number) {
      written += bytes;
      if (written - reported >= PROGRESS_BYTES) {
        reported = written;
        onProgress?.(file, written);
      }
    },
  };
}
