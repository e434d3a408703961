// A model repository made of files the user picked: a whole folder (`<input webkitdirectory>`, where each
// file knows its path under the picked folder) or several files from a multi-file picker.

import { allocateFileBuffer, checkFileSize, DEFAULT_MAX_FILE_BYTES } from './file-size-limit';
import type { ModelSource, ProgressListener } from './source';

/** What this source needs of a DOM File (Node's File has the same shape, without webkitRelativePath). */
export interface PickedFile {
  readonly name: string;
  readonly size: number;
  /** `folder/sub/file` for folder picks; '' or absent otherwise. */
  readonly webkitRelativePath?: string;
  stream(): ReadableStream<Uint8Array>;
  /** The whole file at once (File has it; read without progress uses it). */
  arrayBuffer?(): Promise<ArrayBuffer>;
}

/** Path below the picked folder ("folder/a/b.json" → "a/b.json"), or the bare name for a plain pick. */
function pathInPick(file: PickedFile): string {
  const rel = file.webkitRelativePath;
  if (!rel) return file.name;
  const slash = rel.indexOf('/');
  return slash < 0 ? rel : rel.slice(slash + 1);
}

/** Least time between two progress reports of one file (the first and the last are always reported). */
const PROGRESS_INTERVAL_MS = 100;

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export class FileListSource implements ModelSource {
  readonly id: string;
  private readonly files: PickedFile[];

  constructor(files: Iterable<PickedFile> | ArrayLike<PickedFile>, id?: string) {
    this.files = Array.from(files as ArrayLike<PickedFile>);
    const folder = this.files.find((f) => f.webkitRelativePath)?.webkitRelativePath?.split('/')[0];
    this.id = id ?? (folder ? `${folder} (picked folder)` : `${this.files.length} picked files`);
  }

  /** The picked file for `name`: the one at that path in the picked folder, else the only one with that base name. */
  find(name: string): PickedFile | undefined {
    const exact = this.files.find((f) => pathInPick(f) === name);
    if (exact) return exact;
    const base = baseName(name);
    const matches = this.files.filter((f) => f.name === base);
    if (matches.length > 1) {
      const where = matches.map((f) => f.webkitRelativePath || f.name).join(', ');
      throw new Error(`${this.id}: several picked files are named ${base} (${where}); pick the model's own folder`);
    }
    return matches[0];
  }

  async read(name: string, onProgress?: ProgressListener): Promise<Uint8Array | undefined> {
    const file = this.find(name);
    if (!file) return undefined;
    const total = file.size;
    const refuse = (why: string) => new Error(`${name}: ${why}; not read`);
    checkFileSize(total, DEFAULT_MAX_FILE_BYTES, 'the picked file', refuse);
    // Without a progress listener (an export reading the files again) one arrayBuffer() read: no stream chunks
    // left as garbage, which in a browser worker can hold as much again as the file until they are collected.
    if (!onProgress && file.arrayBuffer) {
      try {
        return new Uint8Array(await file.arrayBuffer());
      } catch (err) {
        throw new Error(`${name}: could not read the picked file (${(err as Error).message})`);
      }
    }
    const out = allocateFileBuffer(total, DEFAULT_MAX_FILE_BYTES, 'the picked file', refuse);
    let loaded = 0;
    let lastReport = Date.now();
    // cached: true — the bytes are already on this machine (no network), like a local folder.
    onProgress?.({ file: name, loaded, total, cached: true });
    // Streamed rather than arrayBuffer() so a large weights file shows progress while it is read.
    const reader = file.stream().getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw new Error(`${name}: could not read the picked file (${(err as Error).message})`);
      }
      if (chunk.done) break;
      if (loaded + chunk.value.byteLength > total) {
        await reader.cancel().catch(() => {});
        throw new Error(`${name}: the picked file changed while it was read (more than ${total} bytes)`);
      }
      out.set(chunk.value, loaded);
      loaded += chunk.value.byteLength;
      if (onProgress && loaded < total && Date.now() - lastReport >= PROGRESS_INTERVAL_MS) {
        lastReport = Date.now();
        onProgress({ file: name, loaded, total, cached: true });
      }
    }
    if (loaded !== total) throw new Error(`${name}: read ${loaded} of ${total} bytes; the picked file changed after it was picked`);
    onProgress?.({ file: name, loaded, total, cached: true });
    return out;
  }
}
