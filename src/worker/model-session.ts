// The worker's one loaded model: read through a ModelSource, checked and mapped, uploaded to the GPU,
// with its tokenizer; and the one generation running on it. Loading another model frees the previous
// model's GPU buffers before the new weights are uploaded.

import type { GpuContext } from '../engine/gpu/context';
import { hasChatTemplate } from '../engine/model/chat-template';
import type { ModelConfig } from '../engine/model/config';
import { generate, promptIds, type FinishReason } from '../engine/model/generate';
import { resolveGenerateOptions, samplingDefaults } from '../engine/model/generation-options';
import { GpuCausalLm } from '../engine/model/gpu/gpu-model';
import { estimateMemory } from '../engine/model/memory-estimate';
import { loadModelFiles, type ModelFiles } from '../engine/model/model-files';
import { missingTokenizerError, ModelTokenizer } from '../engine/model/tokenizer';
import { countParameters, mapWeights, type LinearWeights, type ModelWeights, type NormWeights, type WeightTensor } from '../engine/model/weights';
import { modelSource } from './model-source';
import type {
  GenerationRequest,
  GenerationResult,
  LoadedModelInfo,
  LoadListener,
  LoraTargets,
  MemoryReport,
  MemoryRequest,
  ModelRequest,
  StopReason,
  TokenListener,
  WeightFormat,
} from './protocol';

/** What other worker services use of the loaded model (training, chat, dataset previews). */
export interface ActiveModel {
  model: GpuCausalLm;
  tokenizer: ModelTokenizer | undefined;
  config: ModelConfig;
  /** The canonical weight layout with shapes and module paths only (read() throws): for planning LoRA. */
  layout: ModelWeights;
  /** How it was loaded (File lists cannot be reloaded after a page reload). */
  request: ModelRequest;
  info: LoadedModelInfo;
  /** The files' generation settings (EOS ids, generation_config.json), for generating as the Chat page does. */
  sources: Pick<ModelFiles, 'config' | 'generationConfig' | 'tokenizerConfig'>;
}

/** Shapes and module paths of the weights without their bytes (the file buffers can be freed). */
function weightLayout(weights: ModelWeights): ModelWeights {
  const shapeOnly = (t: WeightTensor): WeightTensor => ({
    source: t.source,
    shape: t.shape,
    read: () => {
      throw new Error(`${t.source}: the weights live on the GPU; the host copy was released`);
    },
  });
  const linear = (l: LinearWeights): LinearWeights => ({ ...l, weight: shapeOnly(l.weight), bias: l.bias && shapeOnly(l.bias) });
  const norm = (n: NormWeights): NormWeights => ({ weight: shapeOnly(n.weight), bias: n.bias && shapeOnly(n.bias) });
  const token = shapeOnly(weights.tokenEmbedding);
  return {
    tokenEmbedding: token,
    positionEmbedding: weights.positionEmbedding && shapeOnly(weights.positionEmbedding),
    layers: weights.layers.map((l) => ({
      attnNorm: norm(l.attnNorm),
      q: linear(l.q),
      k: linear(l.k),
      v: linear(l.v),
      o: linear(l.o),
      mlpNorm: norm(l.mlpNorm),
      gate: l.gate && linear(l.gate),
      up: linear(l.up),
      down: linear(l.down),
    })),
    finalNorm: norm(weights.finalNorm),
    lmHead: weights.tied ? token : shapeOnly(weights.lmHead),
    tied: weights.tied,
  };
}

interface Loaded {
  model: GpuCausalLm;
  layout: ModelWeights;
  request: ModelRequest;
  /** Absent when the model has no tokenizer.json. */
  tokenizer: ModelTokenizer | undefined;
  /** The files' generation settings (weights dropped: they live on the GPU now). */
  sources: Pick<ModelFiles, 'config' | 'generationConfig' | 'tokenizerConfig'>;
  info: LoadedModelInfo;
}

interface Running {
  controller: AbortController;
  done: Promise<unknown>;
}

/** The attention projections of an architecture, as PEFT names them. */
function attentionTargets(config: ModelConfig): string[] {
  return config.architecture === 'gpt2' ? ['c_attn'] : ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
}

function loraTargetNames(config: ModelConfig, targets: LoraTargets): string[] {
  return targets === 'attention' ? attentionTargets(config) : ['all-linear'];
}

function stopReason(finish: FinishReason, newTokens: number, maxNewTokens: number): StopReason {
  if (finish === 'length') return newTokens < maxNewTokens ? 'context-full' : 'max-tokens';
  return finish;
}

export class ModelSession {
  private loaded: Loaded | null = null;
  private loading = false;
  private running: Running | null = null;
  /** Why the model is reserved (a training run uses it), or null. */
  private claimedFor: string | null = null;

  constructor(private readonly gpu: () => Promise<GpuContext>) {}

  /**
   * Reserves the loaded model for a long job (a training run): until release(), loading, unloading and
   * generating are refused with `reason`, so nothing frees or borrows the model under it.
   */
  claim(reason: string): { release(): void } {
    if (this.claimedFor) throw new Error(this.claimedFor);
    this.requireModel();
    this.claimedFor = reason;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.claimedFor = null;
      },
    };
  }

  /** Why the model cannot be replaced or generated from now (a training run uses it), or null. */
  get busy(): string | null {
    return this.claimedFor;
  }

  private refuseWhileClaimed(): void {
    if (this.claimedFor) throw new Error(this.claimedFor);
  }

  async load(request: ModelRequest, weightFormat: WeightFormat, onEvent: LoadListener): Promise<LoadedModelInfo> {
    if (this.loading) throw new Error('A model is already loading: wait until it has finished.');
    this.refuseWhileClaimed();
    this.loading = true;
    try {
      const ctx = await this.gpu();
      const started = performance.now();
      const source = modelSource(request);
      const files = await loadModelFiles(source, (progress) => void onEvent({ kind: 'file', progress }));
      await onEvent({ kind: 'phase', phase: 'weights' });
      const weights = mapWeights(files.config, files.weights);
      // The tokenizer and generation settings are checked before the GPU work, so a broken
      // tokenizer.json fails fast and leaves the previous model in place.
      await onEvent({ kind: 'phase', phase: 'tokenizer' });
      const tokenizer = ModelTokenizer.optional({ ...files, source: source.id });
      const defaults = samplingDefaults(files.generationConfig);

      await this.unload();
      await onEvent({ kind: 'phase', phase: 'gpu' });
      const model = await GpuCausalLm.create(ctx, files.config, weights, { weightFormat });
      const info: LoadedModelInfo = {
        source: source.id,
        config: files.config,
        parameters: countParameters(weights),
        fileBytes: files.bytes,
        weightFormat: model.weightFormat,
        hasTokenizer: tokenizer !== undefined,
        hasChatTemplate: tokenizer !== undefined && hasChatTemplate(files.tokenizerConfig),
        generationDefaults: {
          temperature: defaults.doSample ? defaults.temperature : 0,
          topK: defaults.topK,
          topP: defaults.topP,
        },
        loadMs: performance.now() - started,
      };
      this.loaded = {
        model,
        layout: weightLayout(weights),
        request,
        tokenizer,
        sources: { config: files.config, generationConfig: files.generationConfig, tokenizerConfig: files.tokenizerConfig },
        info,
      };
      return info;
    } finally {
      this.loading = false;
    }
  }

  get current(): LoadedModelInfo | null {
    return this.loaded?.info ?? null;
  }

  /** The loaded model for other services, or null. */
  get active(): ActiveModel | null {
    const l = this.loaded;
    return l ? { model: l.model, tokenizer: l.tokenizer, config: l.info.config, layout: l.layout, request: l.request, info: l.info, sources: l.sources } : null;
  }

  /** Stops a running generation and frees the model's GPU buffers. */
  async unload(): Promise<void> {
    this.refuseWhileClaimed();
    await this.stopGeneration();
    const loaded = this.loaded;
    this.loaded = null;
    loaded?.model.dispose();
  }

  estimateMemory(request: MemoryRequest): MemoryReport {
    const loaded = this.requireModel();
    const { config, weightFormat } = loaded.info;
    const ctx = loaded.model.ctx;
    const training = request.training
      ? { loraRank: request.training.loraRank, targets: loraTargetNames(config, request.training.targets) }
      : undefined;
    const limits = {
      maxBufferSize: ctx.adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: ctx.adapter.limits.maxStorageBufferBindingSize,
    };
    const estimate = estimateMemory(config, { seqLen: request.seqLen, batch: request.batch, weightFormat, training }, limits);
    return { estimate, limits };
  }

  async generate(request: GenerationRequest, onText: TokenListener): Promise<GenerationResult> {
    const loaded = this.requireModel();
    this.refuseWhileClaimed();
    if (this.running) throw new Error('A generation is already running: stop it first.');
    const controller = new AbortController();
    const work = this.runGeneration(loaded, request, onText, controller.signal);
    this.running = { controller, done: work.catch(() => undefined) };
    try {
      return await work;
    } finally {
      this.running = null;
    }
  }

  async stopGeneration(): Promise<void> {
    const running = this.running;
    if (!running) return;
    running.controller.abort();
    await running.done;
  }

  private async runGeneration(loaded: Loaded, request: GenerationRequest, onText: TokenListener, signal: AbortSignal): Promise<GenerationResult> {
    const { model, tokenizer, sources } = loaded;
    if (!tokenizer) throw missingTokenizerError(loaded.info.source);
    if (request.chat && !loaded.info.hasChatTemplate) throw new Error('This model has no chat template: turn chat off and prompt it with plain text.');
    const prompt = promptIds(tokenizer, sources.config, request.prompt, { chat: request.chat });
    const options = resolveGenerateOptions(
      sources,
      {
        maxNewTokens: request.maxNewTokens,
        temperature: request.temperature,
        topK: request.topK,
        topP: request.topP,
        seed: request.seed,
      },
      (text) => tokenizer.tokenId(text),
    );
    const started = performance.now();
    let text = '';
    let newTokens = 0;
    const [result] = await generate(model, [prompt], options, {
      tokenizer,
      signal,
      onToken: (_index, _id, delta) => {
        newTokens++;
        text += delta;
        void onText(text, newTokens);
      },
    });
    return {
      text: result.text ?? text,
      promptTokens: prompt.length,
      newTokens: result.tokens.length,
      stopReason: stopReason(result.finishReason, result.tokens.length, request.maxNewTokens),
      ms: performance.now() - started,
    };
  }

  private requireModel(): Loaded {
    if (!this.loaded) throw new Error('No model is loaded: load one first.');
    return this.loaded;
  }
}
