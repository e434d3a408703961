// Where an export's bytes go in the worker: a file in the origin-private file system written synchronously
// (FileSystemSyncAccessHandle, dedicated workers only), whose File is backed by disk, so a 1 GB export costs
// the page no memory; or, where OPFS is missing, a Blob built from chunks. Each export replaces the previous
// one's files (a File read after its file is removed fails, so the latest download stays valid).

/** Pending chunks are folded into the Blob every this many bytes (few, large Blob parts). */
const FOLD_BYTES = 32 * 1024 * 1024;
const EXPORT_DIR = 'tunelab-exports';

export interface ByteSink {
  write(chunk: Uint8Array): void;
  /** The bytes written, as a Blob (a disk-backed File where OPFS is used). */
  finish(): Promise<Blob>;
}

/** Chunks folded into a Blob every FOLD_BYTES so few stay on the JavaScript heap. */
export class BlobSink implements ByteSink {
  private blob = new Blob([]);
  private pending: Uint8Array<ArrayBuffer>[] = [];
  private pendingBytes = 0;

  write(chunk: Uint8Array): void {
    this.pending.push(chunk as Uint8Array<ArrayBuffer>);
    this.pendingBytes += chunk.byteLength;
    if (this.pendingBytes >= FOLD_BYTES) this.fold();
  }

  private fold(): void {
    this.blob = new Blob([this.blob, ...this.pending]);
    this.pending = [];
    this.pendingBytes = 0;
  }

  async finish(): Promise<Blob> {
    this.fold();
    return this.blob;
  }
}

class OpfsSink implements ByteSink {
  private at = 0;

  constructor(
    private readonly handle: FileSystemFileHandle,
    private readonly access: FileSystemSyncAccessHandle,
  ) {}

  write(chunk: Uint8Array): void {
    let done = 0;
    while (done < chunk.byteLength) done += this.access.write(chunk.subarray(done), { at: this.at + done });
    this.at += chunk.byteLength;
  }

  async finish(): Promise<Blob> {
    this.access.flush();
    this.access.close();
    return this.handle.getFile();
  }
}

type ExportsDir = FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };

/** The exports folder of OPFS, emptied of earlier exports; undefined where OPFS or sync access is missing. */
async function freshExportsDir(): Promise<ExportsDir | undefined> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (!storage?.getDirectory || typeof FileSystemFileHandle === 'undefined' || !('createSyncAccessHandle' in FileSystemFileHandle.prototype)) return undefined;
  try {
    const root = await storage.getDirectory();
    const dir = (await root.getDirectoryHandle(EXPORT_DIR, { create: true })) as ExportsDir;
    for await (const name of dir.keys()) await dir.removeEntry(name, { recursive: true }).catch(() => undefined);
    return dir;
  } catch (err) {
    console.warn(`Tunelab: exports go to memory, not to the origin-private file system (${(err as Error).message})`);
    return undefined;
  }
}

/** Opens one sink per name in a fresh exports folder (names are flat: "/" becomes "__"). */
export async function exportSinks(): Promise<(name: string) => Promise<ByteSink>> {
  const dir = await freshExportsDir();
  return async (name) => {
    if (!dir) return new BlobSink();
    const handle = await dir.getFileHandle(name.replaceAll('/', '__'), { create: true });
    return new OpfsSink(handle, await handle.createSyncAccessHandle());
  };
}
