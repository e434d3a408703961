// The contract between the studio page and its worker: the only module both threads import.
// Everything here crosses a postMessage boundary, so it is plain data (structured-clone safe);
// callbacks cross as comlink proxies.

import type { GpuAdapterSummary } from '../engine/gpu/adapter-info';
import type { GpuUnavailableReason } from '../engine/gpu/errors';
import type { ModelConfig } from '../engine/model/config';
import type { BufferLimits, MemoryEstimate } from '../engine/model/memory-estimate';
import type { DownloadProgress } from '../engine/model/source';
import type { SelfTestProgress } from '../engine/selftest/run';
import type { CheckOutcome, KernelCheckResult } from '../engine/selftest/types';
import type { StorageEstimateSummary, StorageProbeResult } from '../storage/probe';
import type { StorageProbeRecord } from '../storage/meta-values';
import type { AdaptersApi, ChatApi, DemoApi } from './protocol-adapters';
import type { ExportApi } from './protocol-export';
import type { JudgeApi } from './protocol-judge';
import type { MatmulTuningApi } from './protocol-matmul-tuning';
import type { DatasetsApi } from './protocol-datasets';
import type { EvalApi } from './protocol-eval';
import type { RunsApi } from './protocol-runs';

export type {
  CheckOutcome,
  DownloadProgress,
  BufferLimits,
  GpuAdapterSummary,
  MemoryEstimate,
  ModelConfig,
  KernelCheckResult,
  SelfTestProgress,
  StorageEstimateSummary,
  StorageProbeRecord,
  StorageProbeResult,
};

/**
 * Why there is no GPU device:
 * - 'no-api': the browser exposes no WebGPU (navigator.gpu is missing);
 * - 'no-adapter': WebGPU exists but requestAdapter() found no adapter (blocklisted driver, flag off, ...);
 * - 'no-device': an adapter exists but refused to create a device.
 */
export type { GpuUnavailableReason };

export type GpuStatus =
  | { kind: 'ready'; adapter: GpuAdapterSummary }
  | {
      kind: 'unavailable';
      reason: GpuUnavailableReason;
      /** What the engine said, for the technical details. */
      message: string;
      /** WebGPU only exists in secure contexts (https, localhost). */
      secureContext: boolean;
    };

export type ProgressListener = (progress: SelfTestProgress) => void;
export type DeviceLostListener = (message: string) => void;

/** Hears, once, that a newer Tunelab in another tab upgraded the database (the message says to reload). */
export type StorageUpgradedListener = (message: string) => void;

/** Where a model comes from. */
export type ModelRequest =
  | {
      kind: 'hub';
      /** "org/name" */
      id: string;
      /** Branch, tag or commit; "main" by default. */
      revision: string;
      /** The Hub or a server answering its `/<id>/resolve/<revision>/<file>` URLs, e.g. https://huggingface.co */
      endpoint: string;
    }
  /** A repo of the folder the studio's server was started with (`npm start -- --models DIR`). */
  | { kind: 'offline'; id: string }
  /** Files the user picked (a folder or several files); File objects cross to the worker as they are. */
  | { kind: 'files'; files: File[] }
  /** The built-in demo: a tiny randomly initialised model generated in the worker (no network, no folder). */
  | { kind: 'demo' };

/** One repo of the server's offline model folder, as `GET /__tunelab/models` lists it. */
export interface OfflineModel {
  id: string;
  architecture: string;
  files: string[];
  bytes: number;
}

export type OfflineListing =
  | { available: true; models: OfflineModel[] }
  /** The server has no offline folder (started without --models) or could not list it. */
  | { available: false; reason: string };

/** The steps of a load after the files are read. */
export type LoadPhase = 'download' | 'weights' | 'gpu' | 'tokenizer';

export type LoadEvent =
  | { kind: 'file'; progress: DownloadProgress }
  | { kind: 'phase'; phase: LoadPhase };

export type LoadListener = (event: LoadEvent) => void | Promise<void>;

/** GPU storage of the large weight matrices. */
export type WeightFormat = 'f16' | 'f32';

/** What the page shows about a loaded model. */
export interface LoadedModelInfo {
  /** The request's id, folder name or file names. */
  source: string;
  config: ModelConfig;
  parameters: number;
  /** Bytes of the files read (weights and JSON). */
  fileBytes: number;
  weightFormat: WeightFormat;
  /** The model has a tokenizer.json (without one it can be inspected but not prompted with text). */
  hasTokenizer: boolean;
  /** The tokenizer has a chat template, so prompts can be wrapped as a chat turn. */
  hasChatTemplate: boolean;
  /** Sampling settings the model's generation_config.json suggests (temperature 0 when it says greedy). */
  generationDefaults: { temperature: number; topK: number; topP: number };
  loadMs: number;
}

/** Which linear layers LoRA would train: every one, or the attention projections only. */
export type LoraTargets = 'all-linear' | 'attention';

export interface MemoryRequest {
  seqLen: number;
  batch: number;
  /** null: inference (weights, KV cache, activations); else LoRA training. */
  training: { loraRank: number; targets: LoraTargets } | null;
}

export interface MemoryReport {
  estimate: MemoryEstimate;
  /** The device's limits the estimate was checked against. */
  limits: BufferLimits;
}

export interface GenerationRequest {
  /** Empty: start from BOS alone. */
  prompt: string;
  /** Wrap the prompt as a user turn with the tokenizer's chat template. */
  chat: boolean;
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  seed: number;
}

export type StopReason = 'eos' | 'stop-string' | 'max-tokens' | 'aborted' | 'context-full';

export interface GenerationResult {
  /** The whole generated text (decoded once, so it is exact even where pieces split a character). */
  text: string;
  promptTokens: number;
  newTokens: number;
  stopReason: StopReason;
  ms: number;
}

/** The text generated so far: sent after every token. */
export type TokenListener = (textSoFar: string, newTokens: number) => void;

export interface StudioApi extends DatasetsApi, RunsApi, AdaptersApi, ChatApi, DemoApi, EvalApi, JudgeApi, ExportApi, MatmulTuningApi {
  /** Acquires the GPU device on first call (later calls return the same answer). Never rejects. */
  gpuStatus(): Promise<GpuStatus>;
  /** Calls `listener` once if the device is lost later (driver reset, out of memory, ...). */
  onDeviceLost(listener: DeviceLostListener): Promise<void>;
  /** Names of every kernel self-check in the registry, in run order. */
  kernelCheckNames(): Promise<string[]>;
  /** Runs every registered kernel check on the device; one at a time, rejects if already running. */
  runSelfTest(onProgress: ProgressListener): Promise<KernelCheckResult[]>;
  /** Writes and reads back a probe record in IndexedDB. Never rejects: failures come back as data. */
  probeStorage(): Promise<StorageProbeResult>;
  /**
   * Calls `listener` once if another tab upgrades the database under this worker: its connection is then
   * closed, a run training here is paused at its last checkpoint, and every storage call is refused.
   */
  onStorageUpgraded(listener: StorageUpgradedListener): Promise<void>;

  /** The server's offline model folder. Never rejects. */
  listOfflineModels(): Promise<OfflineListing>;
  /**
   * Reads a model, uploads it to the GPU (replacing and freeing the previous one) and loads its tokenizer.
   * `onEvent` hears every file's progress and each phase; all events are delivered before this resolves.
   * Rejects with the reason (file and field) if anything is wrong. The previous model stays loaded until
   * the new weights are read and checked; a failure after that (uploading) leaves no model.
   */
  loadModel(request: ModelRequest, weightFormat: WeightFormat, onEvent: LoadListener): Promise<LoadedModelInfo>;
  /** The model loaded now (after a failed load: the previous one if it is still there), or null. */
  currentModel(): Promise<LoadedModelInfo | null>;
  /** Frees the loaded model (nothing if none). */
  unloadModel(): Promise<void>;
  /** GPU memory the loaded model needs at this shape, against the device's buffer limits. */
  estimateMemory(request: MemoryRequest): Promise<MemoryReport>;
  /** Generates from the loaded model, streaming the text; one generation at a time. */
  generate(request: GenerationRequest, onText: TokenListener): Promise<GenerationResult>;
  /** Stops the running generation (it resolves with stopReason 'aborted'); nothing if none runs. */
  stopGeneration(): Promise<void>;
}
