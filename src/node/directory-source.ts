// A model repository in a local folder (Node only: the command line and the tests).

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ModelSource, ProgressListener } from '../engine/model/source';

export class DirectorySource implements ModelSource {
  readonly id: string;
  constructor(readonly dir: string) {
    this.id = resolve(dir);
  }

  async read(name: string, onProgress?: ProgressListener): Promise<Uint8Array | undefined> {
    try {
      const data = await readFile(join(this.dir, name));
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      onProgress?.({ file: name, loaded: bytes.byteLength, total: bytes.byteLength, cached: true });
      return bytes;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`${join(this.dir, name)}: ${(err as Error).message}`);
    }
  }
}
