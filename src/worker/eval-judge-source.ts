// The judge of one judgement, started after every answer is generated: the loaded model itself (its adapter
// off), a second model read and uploaded beside it for this judgement only (freed afterwards: the model
// session keeps holding the evaluated model), or an OpenAI-compatible endpoint whose every request is
// reported as it is answered. The endpoint's key stays inside the EndpointJudge (a #private field) and is
// dropped with it when the judgement ends.

import { EndpointJudge, type EndpointRequestRecord } from '../engine/eval/judge/endpoint-judge';
import { EngineJudge } from '../engine/eval/judge/engine-judge';
import type { JudgeModel } from '../engine/eval/judge/judge-model';
import type { GpuContext } from '../engine/gpu/context';
import { GpuCausalLm } from '../engine/model/gpu/gpu-model';
import { loadModelFiles } from '../engine/model/model-files';
import { missingTokenizerError, ModelTokenizer } from '../engine/model/tokenizer';
import { mapWeights } from '../engine/model/weights';
import { checkConnect } from './connect-policy';
import type { ActiveModel } from './model-session';
import { modelSource } from './model-source';
import type { JudgeSource } from './protocol-judge';

/** Judgments decoded together by an engine judge. */
const JUDGE_BATCH = 8;

export interface StartedJudge {
  judge: JudgeModel;
  kind: 'self' | 'model' | 'endpoint';
  /** The endpoint's requests so far (none for an engine judge). */
  requests(): EndpointRequestRecord[];
  dispose(): void;
}

/** Checks an endpoint before any answer is generated (a bad URL fails at once); the key stays inside it. */
export function endpointJudge(source: Extract<JudgeSource, { type: 'endpoint' }>): EndpointJudge {
  checkConnect('The judge endpoint', source.url.trim());
  return new EndpointJudge({ baseUrl: source.url.trim(), model: source.model.trim(), ...(source.apiKey ? { apiKey: source.apiKey } : {}) });
}

/** Calls `onRequest` with each request the endpoint judge sent, once it is answered or failed. */
function reportingRequests(judge: EndpointJudge, onRequest: (r: EndpointRequestRecord) => void): JudgeModel {
  return {
    name: judge.name,
    async complete(messages, signal) {
      // complete() records the request before its first await, so this index is its record.
      const index = judge.requests.length;
      try {
        return await judge.complete(messages, signal);
      } finally {
        const record = judge.requests[index];
        if (record) onRequest(record);
      }
    },
  };
}

export async function startJudge(
  source: JudgeSource,
  endpoint: EndpointJudge | undefined,
  active: ActiveModel,
  ctx: GpuContext,
  judgeMaxNewTokens: number,
  onRequest: (r: EndpointRequestRecord) => void,
): Promise<StartedJudge> {
  const options = { maxNewTokens: judgeMaxNewTokens, batchSize: JUDGE_BATCH };
  switch (source.type) {
    case 'endpoint': {
      const judge = endpoint!;
      return { judge: reportingRequests(judge, onRequest), kind: 'endpoint', requests: () => judge.requests, dispose: () => {} };
    }
    case 'self': {
      active.model.setAdapter(null);
      const name = `${active.info.source} (the loaded model judges itself)`;
      return { judge: new EngineJudge(active.model, active.tokenizer!, active.sources, { ...options, name }), kind: 'self', requests: () => [], dispose: () => {} };
    }
    case 'model': {
      const modelFiles = await loadModelFiles(modelSource(source.model));
      const weights = mapWeights(modelFiles.config, modelFiles.weights);
      const tokenizer = ModelTokenizer.optional({ ...modelFiles, source: source.label });
      if (!tokenizer) throw missingTokenizerError(source.label);
      const lm = await GpuCausalLm.create(ctx, modelFiles.config, weights, { weightFormat: source.weightFormat });
      const judge = new EngineJudge(lm, tokenizer, modelFiles, { ...options, name: source.label });
      return { judge, kind: 'model', requests: () => [], dispose: () => lm.dispose() };
    }
  }
}
