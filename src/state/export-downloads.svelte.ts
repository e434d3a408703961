// Downloads made by the worker's exports: a saved adapter merged into the loaded model (Hugging Face folder or
// ONNX, zipped as it is written) on the Adapters page, a stored run as a TRL project on the Train page. Each
// target (an adapter, a run) keeps its latest export: the progress while the worker writes it, then the file
// handed to the browser's downloads, or the worker's reason it could not be made (shown until the next try).
// One export runs at a time: a merged 0.5B model re-reads the base's files and holds its tensors while it is
// written, and two at once would need that twice.

import { callback, type StudioClient } from '../worker/client';
import type { ExportedArchive, ExportProgress, ModelExportDtype, ModelExportFormat } from '../worker/protocol-export';
import { errorMessage } from './errors';

/** Hands a finished archive to the browser (the UI's saveFile: an object URL behind a download link). */
export type SaveFile = (fileName: string, blob: Blob) => void;

export type ExportJobState = 'running' | 'saved' | 'failed';

/** What one export made: the archive's name, its size and how many files it holds (the Blob itself is not kept). */
export interface SavedExport {
  fileName: string;
  bytes: number;
  files: number;
}

/** One export of one target: its progress as the worker reports it, then what was saved or why it failed. */
export class ExportJob {
  state = $state<ExportJobState>('running');
  progress = $state.raw<ExportProgress | null>(null);
  saved = $state.raw<SavedExport | null>(null);
  error = $state<string | null>(null);

  /** `label` names what is exported ("Merged model (f16)", "ONNX (fp32)", "TRL project"). */
  constructor(readonly label: string) {}
}

/** Optimum's and transformers.js' names for the ONNX precisions. */
export const ONNX_PRECISION_LABELS: Record<'f32' | 'f16', string> = { f32: 'fp32', f16: 'fp16' };

export class ExportDownloads {
  /** Target key ("adapter:<id>", "run:<id>") -> its latest export. Replaced whole, so the page sees each change. */
  private jobs = $state.raw<Record<string, ExportJob>>({});
  /** The export being written now, if any. */
  running = $state.raw<ExportJob | null>(null);

  constructor(
    private readonly client: StudioClient,
    private readonly save: SaveFile,
  ) {}

  /** The latest export of a saved adapter (merged model or ONNX). */
  adapterJob(adapterId: string): ExportJob | undefined {
    return this.jobs[`adapter:${adapterId}`];
  }

  runJob(runId: string): ExportJob | undefined {
    return this.jobs[`run:${runId}`];
  }

  /** The loaded model with the adapter merged, as a Hugging Face folder (f32/f16/bf16) or ONNX (f32/f16), zipped. */
  downloadModel(adapterId: string, format: ModelExportFormat, dtype: ModelExportDtype): Promise<void> {
    const label = format === 'hf' ? `Merged model (${dtype})` : `ONNX (${ONNX_PRECISION_LABELS[dtype === 'f16' ? 'f16' : 'f32']})`;
    return this.start(`adapter:${adapterId}`, label, (job) => {
      const onProgress = callback((progress: ExportProgress) => {
        if (job.state === 'running') job.progress = progress;
      });
      return this.client.call((api) => api.exportModel({ adapterId, format, dtype }, onProgress));
    });
  }

  /** A stored run as a TRL project (train.py, its data, accelerate config, README), zipped. */
  downloadTrlProject(runId: string): Promise<void> {
    return this.start(`run:${runId}`, 'TRL project', () => this.client.call((api) => api.exportTrlProject(runId)));
  }

  private async start(key: string, label: string, make: (job: ExportJob) => Promise<ExportedArchive>): Promise<void> {
    if (this.running) return;
    const job = new ExportJob(label);
    this.jobs = { ...this.jobs, [key]: job };
    this.running = job;
    try {
      const archive = await make(job);
      this.save(archive.fileName, archive.blob);
      job.saved = { fileName: archive.fileName, bytes: archive.blob.size, files: archive.files.length };
      job.state = 'saved';
    } catch (err) {
      job.error = errorMessage(err);
      job.state = 'failed';
    } finally {
      this.running = null;
    }
  }
}

const perClient = new WeakMap<StudioClient, ExportDownloads>();

/**
 * The exports of this worker connection, shared by the Adapters and Train pages and kept while the user
 * visits other pages: an export in flight still shows its progress on coming back, and still blocks a second.
 */
export function exportDownloads(client: StudioClient, save: SaveFile): ExportDownloads {
  let downloads = perClient.get(client);
  if (!downloads) {
    downloads = new ExportDownloads(client, save);
    perClient.set(client, downloads);
  }
  return downloads;
}
