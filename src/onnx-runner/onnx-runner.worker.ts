// The ONNX runner's thread: one onnxruntime-web session of an exported folder at a time, generating with the
// engine's own generate() over it, with the prompt ids, generation settings and text decoding the studio
// worker uses for the same request (model-session.ts runGeneration), so the two answers compare token by token.

import * as Comlink from 'comlink';
import { hasChatTemplate } from '../engine/model/chat-template';
import { generate, promptIds, type FinishReason } from '../engine/model/generate';
import { resolveGenerateOptions } from '../engine/model/generation-options';
import { missingTokenizerError, ModelTokenizer } from '../engine/model/tokenizer';
import { releaseCallback } from '../worker/release-callback';
import type { GenerationRequest, StopReason, TokenListener } from '../worker/protocol';
import { readExportedFolder, type ExportedFolder } from './exported-folder';
import { checkDecoderSession, OrtCausalLm } from './ort-causal-lm';
import { createSession, ort, runtimeSupport } from './ort-session';
import type { OnnxGenerationResult, OnnxLoadRequest, OnnxRunnerApi, OnnxRuntimeSupport, OnnxSessionInfo } from './protocol';

interface Loaded {
  session: ort.InferenceSession;
  model: OrtCausalLm;
  /** The folder's generation settings (the model bytes now live in the session). */
  folder: Pick<ExportedFolder, 'config' | 'generationConfig' | 'tokenizerConfig'>;
  tokenizer: ModelTokenizer | undefined;
}

interface Running {
  controller: AbortController;
  done: Promise<unknown>;
}

let support: Promise<OnnxRuntimeSupport> | undefined;
let loaded: Loaded | null = null;
let running: Running | null = null;
let loading = false;

const getSupport = () => (support ??= runtimeSupport());

/** As the studio worker reports it (model-session.ts): 'length' is the cache or the token limit. */
function stopReason(finish: FinishReason, newTokens: number, maxNewTokens: number): StopReason {
  if (finish === 'length') return newTokens < maxNewTokens ? 'context-full' : 'max-tokens';
  return finish;
}

/** Stops a running generation, waits for its session call to return, then frees the session. */
async function releaseLoaded(): Promise<void> {
  const old = loaded;
  loaded = null;
  if (running) {
    running.controller.abort();
    await running.done;
  }
  await old?.session.release();
}

async function loadFolder(request: OnnxLoadRequest): Promise<OnnxSessionInfo> {
  await releaseLoaded();
  const started = performance.now();
  const folder = await readExportedFolder(request.files, request.modelPath);
  const { config, generationConfig, tokenizerConfig } = folder;
  const tokenizer = ModelTokenizer.optional({ ...folder, source: 'the exported folder' });
  const presentNames = Array.from({ length: config.numLayers }, (_, l) => [`present.${l}.key`, `present.${l}.value`]).flat();
  const created = await createSession(folder.model, folder.externalData, await getSupport(), presentNames);
  try {
    const cacheType = checkDecoderSession(created.session, config, request.modelPath);
    loaded = {
      session: created.session,
      model: new OrtCausalLm(ort, created.session, config, cacheType),
      folder: { config, generationConfig, tokenizerConfig },
      tokenizer,
    };
    return {
      executionProvider: created.executionProvider,
      fallbackReason: created.fallbackReason,
      cacheType,
      modelBytes: folder.model.byteLength + folder.externalData.reduce((n, d) => n + d.data.byteLength, 0),
      externalDataFiles: folder.externalData.length,
      loadMs: performance.now() - started,
    };
  } catch (err) {
    await created.session.release();
    throw err;
  }
}

async function generateText(current: Loaded, request: GenerationRequest, onText: TokenListener): Promise<OnnxGenerationResult> {
  const { model, tokenizer, folder } = current;
  if (!tokenizer) throw missingTokenizerError('the exported folder');
  if (request.chat && !hasChatTemplate(folder.tokenizerConfig)) throw new Error('The exported model has no chat template: turn chat off.');
  const prompt = promptIds(tokenizer, folder.config, request.prompt, { chat: request.chat });
  const options = resolveGenerateOptions(
    folder,
    { maxNewTokens: request.maxNewTokens, temperature: request.temperature, topK: request.topK, topP: request.topP, seed: request.seed },
    (text) => tokenizer.tokenId(text),
  );
  const controller = new AbortController();
  const started = performance.now();
  const pieces: string[] = [];
  let text = '';
  const work = generate(model, [prompt], options, {
    tokenizer,
    signal: controller.signal,
    onToken: (_index, _id, delta) => {
      pieces.push(delta);
      text += delta;
      void onText(text, pieces.length);
    },
  });
  const run: Running = { controller, done: work.catch(() => undefined) };
  running = run;
  try {
    const [result] = await work;
    return {
      text: result.text ?? text,
      tokens: result.tokens,
      pieces,
      promptTokens: prompt.length,
      newTokens: result.tokens.length,
      stopReason: stopReason(result.finishReason, result.tokens.length, request.maxNewTokens),
      ms: performance.now() - started,
    };
  } finally {
    if (running === run) running = null;
  }
}

const api: OnnxRunnerApi = {
  support: getSupport,

  async load(request) {
    if (loading) throw new Error('An exported model is already loading: wait until it has finished.');
    loading = true;
    try {
      return await loadFolder(request);
    } finally {
      loading = false;
    }
  },

  async generate(request, onText) {
    try {
      if (!loaded) throw new Error('No exported model is loaded in onnxruntime: run the export first.');
      if (running) throw new Error('The export is already generating: stop it first.');
      return await generateText(loaded, request, onText);
    } finally {
      releaseCallback(onText);
    }
  },

  async stop() {
    running?.controller.abort();
  },

  release: releaseLoaded,
};

Comlink.expose(api);
