// Writes an export's files into a folder on disk, chunk by chunk, checking each file's declared size.

import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import type { ExportFile } from '../engine/export/export-file';

export async function writeExportFiles(dir: string, files: readonly ExportFile[], onFile?: (file: ExportFile) => void): Promise<void> {
  for (const file of files) {
    const path = join(dir, ...file.path.split('/'));
    await mkdir(dirname(path), { recursive: true });
    const out = createWriteStream(path);
    let written = 0;
    try {
      for await (const chunk of file.chunks()) {
        written += chunk.byteLength;
        if (!out.write(chunk)) await once(out, 'drain');
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
    if (written !== file.size) throw new Error(`${path}: wrote ${written} bytes, ${file.size} expected`);
    onFile?.(file);
  }
}
