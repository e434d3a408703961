// The Judge form's choices turned into the worker's JudgementRequest, or the first thing wrong with them (the
// worker checks again). Pure, so a unit test pins it: which judge source each choice makes, and that the
// endpoint's key goes only into the request (the page keeps it in memory; nothing here stores it).

import { builtConnectProblem } from '../worker/connect-policy';
import type { ModelRequest, WeightFormat } from '../worker/protocol';
import type { JudgePromptView, JudgementRequest, JudgeSource } from '../worker/protocol-judge';

export type JudgeChoice = 'self' | 'offline' | 'hub' | 'demo' | 'endpoint';

export interface JudgeForm {
  name: string;
  suiteId: string | null;
  mode: 'single' | 'pairwise';
  /** The chosen prompt with the user's edits. */
  prompt: JudgePromptView | null;
  judge: JudgeChoice;
  offlineId: string;
  hubId: string;
  /** The Model page's Hub endpoint (or mirror). */
  hubEndpoint: string;
  weightFormat: WeightFormat;
  endpointUrl: string;
  endpointModel: string;
  apiKey: string;
  adapterIds: string[];
  /** null: every question. */
  limit: number | null;
  maxNewTokens: number;
  judgeMaxNewTokens: number;
}

const whole = (v: number, min: number) => Number.isInteger(v) && v >= min;

function judgeSource(form: JudgeForm): JudgeSource | string {
  const model = (request: Exclude<ModelRequest, { kind: 'files' }>, label: string): JudgeSource => ({ type: 'model', model: request, weightFormat: form.weightFormat, label });
  switch (form.judge) {
    case 'self':
      return { type: 'self' };
    case 'demo':
      // The demo is tiny and its exact (f32) weights keep it identical to the CPU reference, as the Model page loads it.
      return { type: 'model', model: { kind: 'demo' }, weightFormat: 'f32', label: 'the built-in demo model' };
    case 'offline':
      return form.offlineId === '' ? 'Choose the judge model from the offline folder.' : model({ kind: 'offline', id: form.offlineId }, form.offlineId);
    case 'hub': {
      const id = form.hubId.trim();
      return id === '' ? 'Type the judge model’s Hub id (org/name).' : model({ kind: 'hub', id, revision: 'main', endpoint: form.hubEndpoint }, id);
    }
    case 'endpoint': {
      if (form.endpointUrl.trim() === '') return 'Type the judge endpoint’s URL (…/v1).';
      if (form.endpointModel.trim() === '') return 'Type the model name the endpoint serves.';
      const blocked = builtConnectProblem('The judge endpoint', form.endpointUrl.trim());
      if (blocked) return blocked;
      return { type: 'endpoint', url: form.endpointUrl.trim(), model: form.endpointModel.trim(), apiKey: form.apiKey };
    }
  }
}

export function judgementRequest(form: JudgeForm): JudgementRequest | { problem: string } {
  if (form.suiteId === null) return { problem: 'Choose a saved suite of judge questions (import mt_bench_question.jsonl above).' };
  if (form.prompt === null) return { problem: 'Import the judge prompts (judge_prompts.jsonl) and choose one.' };
  if (form.prompt.type !== form.mode) return { problem: `The prompt "${form.prompt.name}" is ${form.prompt.type}: choose a ${form.mode} prompt.` };
  if (form.mode === 'pairwise' && form.adapterIds.length === 0) return { problem: 'Pairwise judging compares an adapter with the base: choose at least one adapter.' };
  if (form.limit !== null && !whole(form.limit, 1)) return { problem: 'The question limit must be a whole number from 1 (or empty for all).' };
  if (!whole(form.maxNewTokens, 1)) return { problem: 'Answer tokens must be a whole number from 1.' };
  if (!whole(form.judgeMaxNewTokens, 1)) return { problem: 'Judgment tokens must be a whole number from 1.' };
  const judge = judgeSource(form);
  if (typeof judge === 'string') return { problem: judge };
  return {
    name: form.name,
    suiteId: form.suiteId,
    mode: form.mode,
    prompt: { ...form.prompt },
    judge,
    adapterIds: [...form.adapterIds],
    ...(form.limit !== null ? { limit: form.limit } : {}),
    maxNewTokens: form.maxNewTokens,
    judgeMaxNewTokens: form.judgeMaxNewTokens,
  };
}
