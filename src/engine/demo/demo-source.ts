// The demo model as a ModelSource: its files are generated in memory on first use (no network, no
// folder), then read like any repository's.

import type { ModelSource, ProgressListener } from '../model/source';
import { DEMO_MODEL_LABEL } from './demo-labels';
import { demoModelFiles } from './demo-model';

let files: Map<string, Uint8Array> | undefined;

export class DemoModelSource implements ModelSource {
  readonly id = DEMO_MODEL_LABEL;

  async read(name: string, onProgress?: ProgressListener): Promise<Uint8Array | undefined> {
    // Built once per thread: the same seed always gives the same bytes.
    files ??= demoModelFiles();
    const bytes = files.get(name);
    if (!bytes) return undefined;
    onProgress?.({ file: name, loaded: bytes.byteLength, total: bytes.byteLength, cached: true });
    return bytes;
  }
}
