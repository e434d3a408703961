// Everything the Model page holds: where models come from (catalog, Hub id, offline folder, picked files, the
// built-in demo), the load in progress or the loaded model, its memory estimate and the generation box.

import type { StudioClient } from '../worker/client';
import type { ModelRequest } from '../worker/protocol';
import { DemoDatasetState } from './demo-dataset.svelte';
import { GenerationState } from './generation.svelte';
import { HubSettings } from './hub-settings.svelte';
import { MemoryState } from './memory.svelte';
import { ModelLoadState } from './model-load.svelte';
import { OfflineModelsState } from './offline-models.svelte';

export class ModelPageState {
  readonly hub = new HubSettings();
  readonly offline: OfflineModelsState;
  readonly load: ModelLoadState;
  readonly memory: MemoryState;
  readonly generation: GenerationState;
  readonly demoDataset: DemoDatasetState;

  constructor(client: StudioClient) {
    this.offline = new OfflineModelsState(client);
    this.load = new ModelLoadState(client);
    this.memory = new MemoryState(client);
    this.generation = new GenerationState(client);
    this.demoDataset = new DemoDatasetState(client);
  }

  /** The built-in demo: the tiny random model and the sample dataset, both made in the worker (no network). */
  async loadDemo(): Promise<void> {
    await Promise.all([this.loadModel({ kind: 'demo' }), this.demoDataset.ensure()]);
  }

  /** A repo of the Hub (or the configured mirror). */
  loadFromHub(id: string, revision: string): Promise<void> {
    return this.loadModel({ kind: 'hub', id: id.trim(), revision: revision.trim() || 'main', endpoint: this.hub.endpoint });
  }

  loadOffline(id: string): Promise<void> {
    return this.loadModel({ kind: 'offline', id });
  }

  loadFiles(files: File[]): Promise<void> {
    return this.loadModel({ kind: 'files', files });
  }

  /** Frees the model's GPU memory. */
  async unload(): Promise<void> {
    if (this.load.status === 'loading') return;
    this.generation.reset(false);
    this.memory.reset(null);
    await this.load.unload();
  }

  private async loadModel(request: ModelRequest): Promise<void> {
    if (this.load.status === 'loading') return;
    // The worker stops a running generation itself; this only clears the page's copy.
    this.generation.reset(false);
    this.memory.reset(null);
    await this.load.load(request);
    const model = this.load.model;
    if (!model) return;
    this.generation.reset(model.hasChatTemplate);
    this.generation.applyDefaults(model.generationDefaults);
    this.memory.reset(model);
  }
}

/** Why a text is not a Hub repo id (for the form's immediate feedback); the worker checks again. */
export { hubRepoIdProblem } from '../engine/model/hub-source';
