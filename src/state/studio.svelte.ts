// The studio session: one worker, and the state of each thing the page shows.

import { connectStudio, type StudioClient } from '../worker/client';
import { GpuState } from './gpu.svelte';
import { MatmulTuningState } from './matmul-tuning.svelte';
import { ModelPageState } from './model-page.svelte';
import { PageState } from './page.svelte';
import { SelfTestState } from './selftest.svelte';
import { StorageState } from './storage.svelte';

export type StudioView = 'starting' | 'worker-failed' | 'no-gpu' | 'ready';

export class Studio {
  readonly gpu: GpuState;
  readonly storage: StorageState;
  readonly selfTest: SelfTestState;
  readonly matmulTuning: MatmulTuningState;
  readonly page = new PageState();
  readonly model: ModelPageState;
  /** The worker, for pages that build their own state (data, train, chat, adapters). */
  readonly client: StudioClient;

  readonly view: StudioView = $derived.by(() => {
    if (this.gpu.workerError) return 'worker-failed';
    const status = this.gpu.status;
    if (!status) return 'starting';
    return status.kind === 'ready' ? 'ready' : 'no-gpu';
  });

  constructor(client: StudioClient = connectStudio()) {
    this.client = client;
    this.gpu = new GpuState(client);
    this.storage = new StorageState(client);
    this.selfTest = new SelfTestState(client);
    this.matmulTuning = new MatmulTuningState(client);
    this.model = new ModelPageState(client);
  }

  /** Asks the worker for everything the page shows at load; each part reports its own failure. */
  start(): void {
    void this.gpu.load();
    void this.storage.probe();
    void this.storage.watchUpgrades();
    void this.selfTest.loadCheckNames();
    void this.model.offline.refresh();
  }
}
