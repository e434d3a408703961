// Loading a model in the worker: what is being loaded, each file's download progress, the phase after
// the downloads, and the loaded model (or why it failed).

import { DEMO_MODEL_LABEL } from '../engine/demo/demo-labels';
import { callback, type StudioClient } from '../worker/client';
import type {
  DownloadProgress,
  LoadedModelInfo,
  LoadEvent,
  LoadPhase,
  ModelRequest,
  WeightFormat,
} from '../worker/protocol';
import { errorMessage } from './errors';

export type LoadStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface FileProgress extends DownloadProgress {
  /** Fraction in [0, 1], or null while the size is unknown. */
  fraction: number | null;
  done: boolean;
}

/** How a request reads to a person: "HuggingFaceTB/SmolLM2-135M-Instruct @ main", "3 files", ... */
export function describeRequest(request: ModelRequest): string {
  switch (request.kind) {
    case 'hub':
      return request.revision === 'main' ? request.id : `${request.id} @ ${request.revision}`;
    case 'offline':
      return `${request.id} (offline folder)`;
    case 'files': {
      const folder = request.files[0]?.webkitRelativePath.split('/')[0];
      const n = `${request.files.length} file${request.files.length === 1 ? '' : 's'}`;
      return folder ? `${folder}/ (${n})` : n;
    }
    case 'demo':
      return DEMO_MODEL_LABEL;
  }
}

function fileProgress(p: DownloadProgress): FileProgress {
  const fraction = p.total ? Math.min(1, p.loaded / p.total) : null;
  return { ...p, fraction, done: p.total !== undefined && p.loaded >= p.total };
}

export class ModelLoadState {
  status = $state<LoadStatus>('idle');
  /** What is being (or was last) loaded. */
  label = $state<string | null>(null);
  /** GPU storage for the next load. */
  weightFormat = $state<WeightFormat>('f16');
  /** Every file read so far, in the order the loader asked for them. */
  files = $state.raw<FileProgress[]>([]);
  phase = $state<LoadPhase | null>(null);
  /** The loaded model; null while a load runs (the worker may still hold the previous one until the upload). */
  model = $state.raw<LoadedModelInfo | null>(null);
  /** How `model` was loaded (a run stores it to load the model again on resume). */
  modelRequest = $state.raw<ModelRequest | null>(null);
  error = $state<string | null>(null);

  /** Bytes over every file seen so far (sizes the server did not state count only when done). */
  readonly overall = $derived.by(() => {
    let loaded = 0;
    let total = 0;
    for (const f of this.files) {
      loaded += f.loaded;
      total += f.total ?? f.loaded;
    }
    return { loaded, total, fraction: total > 0 ? loaded / total : 0 };
  });

  private loadId = 0;

  constructor(private readonly client: StudioClient) {}

  async load(request: ModelRequest): Promise<void> {
    const loadId = ++this.loadId;
    this.status = 'loading';
    this.label = describeRequest(request);
    this.files = [];
    this.phase = 'download';
    this.model = null;
    this.error = null;
    const onEvent = callback((e: LoadEvent) => this.onEvent(loadId, e));
    try {
      const model = await this.client.call((api) => api.loadModel(request, this.weightFormat, onEvent));
      if (loadId !== this.loadId) return;
      this.model = model;
      this.modelRequest = request;
      this.status = 'ready';
    } catch (err) {
      if (loadId !== this.loadId) return;
      this.error = errorMessage(err);
      this.status = 'error';
      // A load that failed before the upload leaves the previous model in the worker: show it again.
      const current = await this.client.call((api) => api.currentModel()).catch(() => null);
      if (loadId === this.loadId) {
        this.model = current;
        if (!current) this.modelRequest = null;
      }
    } finally {
      if (loadId === this.loadId) this.phase = null;
    }
  }

  /** Shows what the worker holds now (another page may have loaded a model there, e.g. to resume a run). */
  async sync(): Promise<void> {
    const loadId = this.loadId;
    const current = await this.client.call((api) => api.currentModel()).catch(() => null);
    if (loadId !== this.loadId || this.status === 'loading') return;
    if (current?.source !== this.model?.source) this.modelRequest = null;
    this.model = current;
    this.status = current ? 'ready' : 'idle';
  }

  async unload(): Promise<void> {
    this.loadId++;
    this.model = null;
    this.modelRequest = null;
    this.status = 'idle';
    this.files = [];
    this.error = null;
    await this.client.call((api) => api.unloadModel());
  }

  /** Events of an older load (replaced by a newer one) are dropped. */
  private onEvent(loadId: number, e: LoadEvent): void {
    if (loadId !== this.loadId) return;
    if (e.kind === 'phase') {
      this.phase = e.phase;
      return;
    }
    const next = fileProgress(e.progress);
    const i = this.files.findIndex((f) => f.file === next.file);
    this.files = i < 0 ? [...this.files, next] : this.files.with(i, next);
  }
}
