// The Evaluate page's Judge section: the questions (a saved judge suite), the judge prompts read from a file
// with the chosen one's system prompt and template editable, the mode, the judge, adapters and limits; the
// judgement running now (progress, cancel, the endpoint's requests as they are answered) and the stored
// judgements (listed newest first; the selected one read whole). The endpoint's key lives only in this
// object's memory while the page is open; it is never written anywhere.

import { callback, type StudioClient } from '../worker/client';
import type { AdapterSummary } from '../worker/protocol-adapters';
import type { WeightFormat } from '../worker/protocol';
import type { EvaluationRecord } from '../worker/protocol-eval';
import type { JudgePromptsFile, JudgementEvent, JudgementSummary } from '../worker/protocol-judge';
import type { StoredEndpointRequest } from '../storage/records';
import { errorMessage } from './errors';
import { judgementRequest, type JudgeChoice } from './judge-request';

/** FastChat's multi-turn templates name the second turn's question or answers (template.ts templateShape). */
const SECOND_TURN_FIELD = /\{(question_2|answer_2|answer_a_2|answer_b_2)\}/;

export interface JudgeProgressView {
  label: string;
  done: number;
  total: number;
}

export class EvaluateJudgeState {
  adapters = $state.raw<AdapterSummary[]>([]);
  suiteId = $state<string | null>(null);
  mode = $state<'single' | 'pairwise'>('pairwise');
  promptsFile = $state.raw<JudgePromptsFile | null>(null);
  promptName = $state('');
  /** The chosen prompt's text as the user edits it. */
  systemPrompt = $state('');
  promptTemplate = $state('');
  judge = $state<JudgeChoice>('self');
  offlineId = $state('');
  hubId = $state('');
  endpointUrl = $state('');
  endpointModel = $state('');
  apiKey = $state('');
  adapterIds = $state<string[]>([]);
  limit = $state<number | null>(10);
  maxNewTokens = $state(128);
  judgeMaxNewTokens = $state(128);
  name = $state('');

  running = $state(false);
  cancelling = $state(false);
  progress = $state.raw<JudgeProgressView | null>(null);
  /** The endpoint's requests of the judgement running now, as they are answered. */
  liveRequests = $state.raw<StoredEndpointRequest[]>([]);
  error = $state<string | null>(null);

  history = $state.raw<JudgementSummary[]>([]);
  selected = $state.raw<EvaluationRecord | null>(null);

  constructor(private readonly client: StudioClient) {}

  /** The prompts of the chosen mode that judge a first answer (those with second-turn fields are left out). */
  get prompts() {
    return (this.promptsFile?.prompts ?? []).filter((p) => p.type === this.mode && !SECOND_TURN_FIELD.test(p.promptTemplate));
  }

  async refresh(): Promise<void> {
    try {
      const [adapters, history] = await Promise.all([this.client.call((api) => api.listAdapters()), this.client.call((api) => api.listJudgements())]);
      this.adapters = adapters;
      this.adapterIds = this.adapterIds.filter((id) => adapters.some((a) => a.id === id));
      this.history = history;
    } catch (err) {
      this.error = `The saved adapters and judgements could not be read: ${errorMessage(err)}`;
    }
  }

  async readPrompts(file: File): Promise<void> {
    try {
      this.promptsFile = await this.client.call((api) => api.readJudgePrompts(file));
      this.choosePrompt(this.prompts[0]?.name ?? '');
    } catch (err) {
      this.error = `The judge prompts could not be read: ${errorMessage(err)}`;
    }
  }

  /** Shows a prompt's text for editing (earlier edits of another prompt are dropped). */
  choosePrompt(name: string): void {
    const p = this.promptsFile?.prompts.find((x) => x.name === name);
    this.promptName = p?.name ?? '';
    this.systemPrompt = p?.systemPrompt ?? '';
    this.promptTemplate = p?.promptTemplate ?? '';
  }

  setMode(mode: 'single' | 'pairwise'): void {
    this.mode = mode;
    this.choosePrompt(this.prompts[0]?.name ?? '');
  }

  async run(hubEndpoint: string, weightFormat: WeightFormat): Promise<void> {
    if (this.running) return;
    const chosen = this.promptsFile?.prompts.find((p) => p.name === this.promptName);
    const request = judgementRequest({
      name: this.name,
      suiteId: this.suiteId,
      mode: this.mode,
      prompt: chosen ? { ...chosen, systemPrompt: this.systemPrompt, promptTemplate: this.promptTemplate } : null,
      judge: this.judge,
      offlineId: this.offlineId,
      hubId: this.hubId,
      hubEndpoint,
      weightFormat,
      endpointUrl: this.endpointUrl,
      endpointModel: this.endpointModel,
      apiKey: this.apiKey,
      adapterIds: this.adapterIds,
      limit: this.limit,
      maxNewTokens: this.maxNewTokens,
      judgeMaxNewTokens: this.judgeMaxNewTokens,
    });
    if ('problem' in request) {
      this.error = request.problem;
      return;
    }
    this.running = true;
    this.cancelling = false;
    this.error = null;
    this.progress = null;
    this.liveRequests = [];
    const listener = callback((event: JudgementEvent) => {
      if (!this.running) return;
      if (event.kind === 'progress') this.progress = { label: event.label, done: event.done, total: event.total };
      else this.liveRequests = [...this.liveRequests, event.request];
    });
    try {
      const summary = await this.client.call((api) => api.runJudgement(request, listener));
      await this.refresh();
      await this.select(summary.id);
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.running = false;
      this.cancelling = false;
    }
  }

  async cancel(): Promise<void> {
    if (!this.running) return;
    this.cancelling = true;
    await this.client.call((api) => api.cancelJudgement());
  }

  async select(id: string): Promise<void> {
    try {
      this.selected = await this.client.call((api) => api.getJudgement(id));
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.client.call((api) => api.deleteEvaluation(id));
      if (this.selected?.id === id) this.selected = null;
      await this.refresh();
    } catch (err) {
      this.error = errorMessage(err);
    }
  }
}
