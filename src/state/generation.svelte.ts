// The generation box: its settings, the text streamed so far, and the last run's result.

import { callback, type StudioClient } from '../worker/client';
import type { GenerationRequest, GenerationResult } from '../worker/protocol';
import { errorMessage } from './errors';

export class GenerationState {
  prompt = $state('');
  chat = $state(false);
  maxNewTokens = $state(64);
  temperature = $state(0.7);
  topK = $state(50);
  topP = $state(0.9);
  seed = $state(0);

  running = $state(false);
  /** The text generated so far (while running) or the final text. */
  output = $state('');
  newTokens = $state(0);
  result = $state.raw<GenerationResult | null>(null);
  error = $state<string | null>(null);

  private runId = 0;

  constructor(private readonly client: StudioClient) {}

  /** What is wrong with the settings (number inputs can be left empty or out of range), or null. */
  problem(): string | null {
    const isInt = (v: number) => typeof v === 'number' && Number.isInteger(v);
    if (!isInt(this.maxNewTokens) || this.maxNewTokens < 1) return 'Max new tokens must be a whole number of at least 1.';
    if (typeof this.temperature !== 'number' || !(this.temperature >= 0)) return 'Temperature must be 0 (greedy) or more.';
    if (!isInt(this.topK) || this.topK < 0) return 'Top-k must be a whole number, 0 to turn it off.';
    if (typeof this.topP !== 'number' || !(this.topP > 0 && this.topP <= 1)) return 'Top-p must be above 0 and at most 1 (1 turns it off).';
    if (!isInt(this.seed) || this.seed < 0 || this.seed > 0xffffffff) return 'The seed must be a whole number from 0 to 4294967295.';
    return null;
  }

  /** The settings as the worker takes them. */
  request(): GenerationRequest {
    return {
      prompt: this.prompt,
      chat: this.chat,
      maxNewTokens: this.maxNewTokens,
      temperature: this.temperature,
      topK: this.topK,
      topP: this.topP,
      seed: this.seed,
    };
  }

  async run(): Promise<void> {
    if (this.running) return;
    const problem = this.problem();
    if (problem) {
      this.error = problem;
      return;
    }
    const runId = ++this.runId;
    this.running = true;
    this.output = '';
    this.newTokens = 0;
    this.result = null;
    this.error = null;
    const onText = callback((text: string, newTokens: number) => {
      // Streamed text travels on its own channel and may arrive after the final answer.
      if (runId !== this.runId || !this.running) return;
      this.output = text;
      this.newTokens = newTokens;
    });
    try {
      const result = await this.client.call((api) => api.generate(this.request(), onText));
      if (runId !== this.runId) return;
      this.result = result;
      this.output = result.text;
      this.newTokens = result.newTokens;
    } catch (err) {
      if (runId === this.runId) this.error = errorMessage(err);
    } finally {
      if (runId === this.runId) this.running = false;
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    await this.client.call((api) => api.stopGeneration());
  }

  /** The sampling settings a model suggests. */
  applyDefaults(d: { temperature: number; topK: number; topP: number }): void {
    this.temperature = d.temperature;
    this.topK = d.topK;
    this.topP = d.topP;
  }

  /** A new model: its output no longer applies. */
  reset(chatAvailable: boolean): void {
    this.runId++;
    this.running = false;
    this.output = '';
    this.newTokens = 0;
    this.result = null;
    this.error = null;
    this.chat = chatAvailable;
  }
}
