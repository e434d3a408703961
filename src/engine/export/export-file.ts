// One file of an export folder (merged Hugging Face model, ONNX, TRL project): its path inside the folder,
// its exact size up front, and its bytes as a stream of chunks made on demand, so a 0.5B model's weights are
// produced tensor by tensor and written (to disk, or into a zip) without the whole file in memory.

export interface ExportFile {
  /** Path inside the export folder, with "/" separators, e.g. "onnx/model.onnx". */
  path: string;
  /** Exact byte length of the chunks together (a zip's local header and the progress bar need it first). */
  size: number;
  /** The bytes, in order; each call starts again from the beginning. */
  chunks(): AsyncIterable<Uint8Array>;
}

const encoder = new TextEncoder();

export function bytesFile(path: string, bytes: Uint8Array): ExportFile {
  return {
    path,
    size: bytes.byteLength,
    async *chunks() {
      yield bytes;
    },
  };
}

export function textFile(path: string, text: string): ExportFile {
  return bytesFile(path, encoder.encode(text));
}

/** Pretty JSON with a final newline, as Hugging Face writes its config files. */
export function jsonFile(path: string, value: unknown): ExportFile {
  return textFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Every chunk of a file concatenated (tests and small files only: it holds the whole file). */
export async function readExportFile(file: ExportFile): Promise<Uint8Array> {
  const out = new Uint8Array(file.size);
  let at = 0;
  for await (const chunk of file.chunks()) {
    if (at + chunk.byteLength > file.size) throw new RangeError(`${file.path}: chunks exceed the declared ${file.size} bytes`);
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  if (at !== file.size) throw new RangeError(`${file.path}: chunks give ${at} bytes, ${file.size} declared`);
  return out;
}
