// The export calls of the studio (Adapters and Train pages): the loaded base model with a saved adapter merged,
// as a Hugging Face folder or ONNX, zipped as it is produced; the ONNX files unzipped for running them in
// onnxruntime-web; a run as a TRL project.

export type ModelExportFormat = 'hf' | 'onnx';
export type ModelExportDtype = 'f32' | 'f16' | 'bf16';

export interface ModelExportRequest {
  /** The saved adapter to merge; null exports the base as it is. */
  adapterId: string | null;
  format: ModelExportFormat;
  /** hf: f32, f16 or bf16 safetensors; onnx: f32 (model.onnx) or f16 (model_fp16.onnx). */
  dtype: ModelExportDtype;
}

export interface ExportProgress {
  /** The file being written, e.g. "onnx/model.onnx". */
  file: string;
  /** Bytes of the whole export written so far, and in all. */
  written: number;
  total: number;
}

export interface ExportedFile {
  path: string;
  size: number;
}

export interface ExportedArchive {
  /** The .zip (stored, not compressed: weights do not compress), built chunk by chunk. */
  blob: Blob;
  /** A suggested download name, e.g. "SmolLM2-135M+my-adapter-onnx.zip". */
  fileName: string;
  files: ExportedFile[];
}

export interface ExportedOnnx {
  /** Every file of the ONNX folder by path ("config.json", "onnx/model.onnx", ...). */
  files: Record<string, Blob>;
  /** "onnx/model.onnx" or "onnx/model_fp16.onnx". */
  modelPath: string;
}

export type ExportProgressListener = (progress: ExportProgress) => void;

export interface ExportApi {
  exportModel(request: ModelExportRequest, onProgress: ExportProgressListener): Promise<ExportedArchive>;
  /** The ONNX export of the loaded model + adapter as separate files, to load into onnxruntime-web. */
  exportOnnxFiles(adapterId: string | null, dtype: 'f32' | 'f16', onProgress: ExportProgressListener): Promise<ExportedOnnx>;
  /** A stored run as a TRL project (train.py, data, accelerate config, README) in a .zip. */
  exportTrlProject(runId: string): Promise<ExportedArchive>;
}
