// The Chat page: one prompt through the base model and through base + a saved adapter, side by side, each
// column streaming its text. The settings form, its checks and the request come from GenerationState (the
// Model page's generation box); its own run() is not used here.

import { callback, type StudioClient } from '../worker/client';
import type { GenerationResult, LoadedModelInfo } from '../worker/protocol';
import type { AdapterSummary } from '../worker/protocol-adapters';
import { errorMessage } from './errors';
import { GenerationState } from './generation.svelte';

/** One column: the text streamed so far, then the final result. */
export class StreamedAnswer {
  text = $state('');
  newTokens = $state(0);
  result = $state.raw<GenerationResult | null>(null);

  reset(): void {
    this.text = '';
    this.newTokens = 0;
    this.result = null;
  }

  update(text: string, newTokens: number): void {
    this.text = text;
    this.newTokens = newTokens;
  }

  finish(result: GenerationResult): void {
    this.result = result;
    this.text = result.text;
    this.newTokens = result.newTokens;
  }
}

export class ChatCompareState {
  readonly settings: GenerationState;
  readonly base = new StreamedAnswer();
  readonly adapted = new StreamedAnswer();

  adapters = $state.raw<AdapterSummary[]>([]);
  adaptersLoaded = $state(false);
  adapterId = $state('');
  running = $state(false);
  /** Which pass is streaming now. */
  phase = $state<'base' | 'adapted' | null>(null);
  error = $state<string | null>(null);
  /** The adapter name of the last comparison (the column title keeps it if the picker changes). */
  comparedName = $state<string | null>(null);

  readonly selected = $derived(this.adapters.find((a) => a.id === this.adapterId) ?? null);

  private runId = 0;

  constructor(
    private readonly client: StudioClient,
    readonly model: LoadedModelInfo,
  ) {
    this.settings = new GenerationState(client);
    // Instruct models get their chat template by default; sampling as the model's files suggest.
    this.settings.reset(model.hasChatTemplate);
    this.settings.applyDefaults(model.generationDefaults);
  }

  async loadAdapters(): Promise<void> {
    try {
      const list = await this.client.call((api) => api.listAdapters());
      this.adapters = list;
      // Prefer an adapter made for this model.
      if (!list.some((a) => a.id === this.adapterId)) this.adapterId = (list.find((a) => a.baseModel === this.model.source) ?? list[0])?.id ?? '';
    } catch (err) {
      this.error = `The saved adapters could not be read: ${errorMessage(err)}`;
    } finally {
      this.adaptersLoaded = true;
    }
  }

  async compare(): Promise<void> {
    if (this.running) return;
    const adapter = this.selected;
    const problem = adapter ? this.settings.problem() : 'Pick an adapter to compare with the base model.';
    if (problem) {
      this.error = problem;
      return;
    }
    const runId = ++this.runId;
    this.running = true;
    this.phase = 'base';
    this.error = null;
    this.comparedName = adapter!.name;
    this.base.reset();
    this.adapted.reset();
    // Streamed text travels on its own channel and may arrive after the final answer: drop it then.
    const live = () => runId === this.runId && this.running;
    const onBase = callback((text: string, n: number) => {
      if (live()) this.base.update(text, n);
    });
    const onAdapted = callback((text: string, n: number) => {
      if (!live()) return;
      this.phase = 'adapted';
      this.adapted.update(text, n);
    });
    try {
      const { base, adapted } = await this.client.call((api) => api.compare(this.settings.request(), adapter!.id, onBase, onAdapted));
      if (runId !== this.runId) return;
      this.base.finish(base);
      this.adapted.finish(adapted);
    } catch (err) {
      if (runId === this.runId) this.error = errorMessage(err);
    } finally {
      if (runId === this.runId) {
        this.running = false;
        this.phase = null;
      }
    }
  }

  /** Stops the pass that is running; a stop during the base pass skips the adapted one. */
  async stop(): Promise<void> {
    if (!this.running) return;
    await this.client.call((api) => api.stopGeneration());
  }
}
