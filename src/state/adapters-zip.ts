// The PEFT files of an adapter as one .zip (made on the page with fflate), and a file name for it.

import { zipSync } from 'fflate';
import { fileSafeName as safeName } from '../worker/export-names';
import type { PeftFiles } from '../worker/protocol-adapters';

/** A name usable as a file name on every system ("my run: v2" -> "my-run-v2"). */
export function fileSafeName(name: string): string {
  return safeName(name, 'adapter');
}

/** The two PEFT files in one archive, at its top level (what PEFT's from_pretrained reads once unpacked). */
export function zipPeftFiles(files: PeftFiles): Uint8Array {
  return zipSync({
    'adapter_config.json': new TextEncoder().encode(files['adapter_config.json']),
    // f32 weights barely compress: store them, which keeps zipping large adapters quick.
    'adapter_model.safetensors': [files['adapter_model.safetensors'], { level: 0 }],
  });
}
