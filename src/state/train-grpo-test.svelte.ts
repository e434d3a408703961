// "Test on samples" of the GRPO reward list: the worker scores a few completions with the rewards as a run
// would (custom ones in the sandbox) and the page shows each function's value or error per completion. The
// completions are the loaded model's own, written from the chosen dataset's first held-out prompts with
// the form's sampling settings, or ones the user types (one per line, paired with those prompts).

import type { StudioClient } from '../worker/client';
import type { RewardTestReport } from '../worker/protocol-runs';
import { errorMessage } from './errors';
import type { GrpoForm } from './train-grpo.svelte';
import { rewardSpecs, rewardsProblem } from './train-grpo-rewards';

/** Completions the model writes for a test. */
export const MODEL_TEST_SAMPLES = 4;

export class RewardTestState {
  source = $state<'model' | 'typed'>('model');
  /** One completion per line ("\n" for a line break inside one). */
  typed = $state('');
  busy = $state(false);
  error = $state<string | null>(null);
  report = $state.raw<RewardTestReport | null>(null);

  constructor(private readonly client: StudioClient) {}

  typedCompletions(): string[] {
    return this.typed
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.replace(/\\n/g, '\n'));
  }

  async run(form: GrpoForm, datasetId: string | null, seed: number): Promise<void> {
    if (this.busy) return;
    const problem = rewardsProblem(form.rewards);
    const typed = this.source === 'typed' ? this.typedCompletions() : undefined;
    if (problem || typed?.length === 0) {
      this.error = problem ?? 'Type at least one completion (one per line) to score.';
      this.report = null;
      return;
    }
    this.busy = true;
    this.error = null;
    try {
      const sampling = {
        maxCompletionLength: form.maxCompletionLength,
        temperature: form.temperature,
        topP: form.topP,
        topK: form.topK,
        stopStrings: form.stopStrings(),
      };
      const request = { rewards: rewardSpecs(form.rewards), rewardTimeLimitMs: form.rewardTimeLimitMs, datasetId, sampling, count: MODEL_TEST_SAMPLES, seed, ...(typed && { completions: typed }) };
      this.report = await this.client.call((api) => api.testRewards(request));
    } catch (err) {
      this.error = errorMessage(err);
      this.report = null;
    } finally {
      this.busy = false;
    }
  }
}
