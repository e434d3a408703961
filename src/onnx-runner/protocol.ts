// The ONNX runner's calls: a dedicated worker that loads an exported ONNX folder into onnxruntime-web and
// generates from it with the engine's tokenizer, prompt and sampling code, so its text can be set beside the
// engine's own answer for the same request.

import type { GenerationRequest, StopReason, TokenListener } from '../worker/protocol';

/** onnxruntime-web's execution providers this runner uses: WebGPU where the browser gives an adapter. */
export type OnnxExecutionProvider = 'webgpu' | 'wasm';

/** What the runner's thread sees of WebGPU before a model is loaded (decides which precisions to offer). */
export interface OnnxRuntimeSupport {
  /** navigator.gpu gave an adapter: sessions try the WebGPU execution provider first. */
  webgpu: boolean;
  /** The adapter has shader-f16 (what onnxruntime's WebGPU EP needs to run float16 models). */
  shaderF16: boolean;
  /** Why WebGPU is not used, when it is not. */
  reason?: string;
}

export interface OnnxLoadRequest {
  /** Every file of the exported folder by path ("config.json", "onnx/model.onnx", "onnx/model.onnx_data", ...). */
  files: Record<string, Blob>;
  /** "onnx/model.onnx" or "onnx/model_fp16.onnx". */
  modelPath: string;
}

export interface OnnxSessionInfo {
  executionProvider: OnnxExecutionProvider;
  /** Why WebGPU was tried and not used (session creation failed), when it was. */
  fallbackReason?: string;
  /** The model's KV cache element type, as its past_key_values inputs declare it. */
  cacheType: 'float32' | 'float16';
  /** Bytes of the model file and its external data. */
  modelBytes: number;
  externalDataFiles: number;
  loadMs: number;
}

export interface OnnxGenerationResult {
  /** The whole text, as the engine's generation makes it (special tokens left out, cut before a stop string). */
  text: string;
  /** The new token ids, the EOS that ended them included. */
  tokens: number[];
  /** The text each new token added, in order (the same deltas the stream gave): pieces.join('') === text. */
  pieces: string[];
  promptTokens: number;
  newTokens: number;
  stopReason: StopReason;
  ms: number;
}

export interface OnnxRunnerApi {
  /** Whether this thread has a WebGPU adapter and shader-f16. Never rejects. */
  support(): Promise<OnnxRuntimeSupport>;
  /** Replaces any loaded session with one for these files. */
  load(request: OnnxLoadRequest): Promise<OnnxSessionInfo>;
  /** One request through the loaded session, batch 1, streaming the text so far after every token. */
  generate(request: GenerationRequest, onText: TokenListener): Promise<OnnxGenerationResult>;
  /** Stops the running generation (it resolves with stopReason 'aborted'); nothing if none runs. */
  stop(): Promise<void>;
  /** Releases the session (and its GPU or wasm memory). */
  release(): Promise<void>;
}
