// Where model files come from: a local folder (Node), files the user picked (browser), the Hugging Face Hub
// or a server that answers like it (both). The loader only asks for files by name.

export interface DownloadProgress {
  file: string;
  /** Bytes received so far. */
  loaded: number;
  /** Bytes expected, when the server says. */
  total: number | undefined;
  /** True when the file came from the cache (no network). */
  cached: boolean;
}

export type ProgressListener = (p: DownloadProgress) => void;

export interface ModelSource {
  /** What the user asked for: a folder path, a Hub id, ... (for messages). */
  readonly id: string;
  /** The whole file, or undefined when the source has no such file. Other failures throw, naming the file. */
  read(name: string, onProgress?: ProgressListener): Promise<Uint8Array | undefined>;
}
