// Shapes, options and result records shared by the bench page, the Node path and the driver (bench/cli).
// Everything here is plain data, so it crosses page.evaluate() and JSON.stringify unchanged.

export interface MatmulShape {
  m: number;
  k: number;
  n: number;
  /** What the shape stands for, printed next to it. */
  label: string;
  /** Also time B stored as packed f16 (two per u32). */
  f16: boolean;
}

/** M x K x N with A (m, k) f32 and B as a PyTorch weight (n, k), i.e. transB. */
export const MATMUL_SHAPES: readonly MatmulShape[] = [
  { m: 512, k: 512, n: 512, label: 'square 512', f16: false },
  { m: 1024, k: 1024, n: 1024, label: 'square 1024', f16: false },
  { m: 512, k: 576, n: 1536, label: 'MLP up 576->1536', f16: true },
  { m: 512, k: 1536, n: 576, label: 'MLP down 1536->576', f16: true },
  { m: 512, k: 576, n: 49152, label: 'LM head, vocab 49152', f16: true },
];

export interface BenchOptions {
  /** A product whose single run is projected (from the rate already measured) to take longer is skipped. */
  maxRunS: number;
  /** Wall-clock budget for the timed repetitions of one measurement (warm-up not included). */
  budgetS: number;
  /** Each timed repetition runs the product r times back to back; r is chosen so a repetition lasts this long. */
  targetRepS: number;
  /** At most this many timed repetitions per measurement. */
  maxSamples: number;
  /** Measure the f16-packed-B rows too. */
  f16: boolean;
  /** Only these shapes (indices into MATMUL_SHAPES); empty = all. */
  shapes: number[];
  /** Also time every kernel variant the dispatcher offers (slow). */
  variants: boolean;
  skipPeak: boolean;
  skipCopy: boolean;
  /** The training section (after the matmuls): LoRA SFT and DPO steps on the models of TRAIN_MODELS. */
  train: TrainOptions;
  /** The eval section (after training): multiple-choice scoring, shared context against from scratch. */
  eval: EvalOptions;
  /** The GRPO section (after eval): rollout and training tokens/s of GRPO steps (grpo-bench.ts). */
  grpo: GrpoOptions;
  /** The decode section (after GRPO): greedy decode tokens/s against the bandwidth bound (decode-bench.ts). */
  decode: DecodeOptions;
}

export interface DecodeOptions {
  enabled: boolean;
  models: TrainModelId[];
  /** Batch sizes to decode, each model in turn (B sequences, one row each, in one extend per step). */
  batches: number[];
  /** N: new tokens per sequence, per model (EOS ignored); N - 1 of them come from decode steps. */
  newTokens: Record<TrainModelId, number>;
  /** P: random prompt ids per sequence, BOS first. */
  promptTokens: number;
  /** Timed generate() runs per model and batch, after an untimed warm-up run. */
  runs: number;
}

/** One model decoding one batch size: a row of the decode table (decode-bench.ts, decode-workloads.ts). */
export interface DecodeRun {
  model: TrainModelId;
  description: string;
  batch: number;
  promptTokens: number;
  newTokens: number;
  weightFormat: 'f16';
  /** Everything uploaded (embedding, norms and biases included). */
  uploadedWeightBytes?: number;
  loadS?: number;
  warmupS?: number;
  /** Per timed run (decode-workloads.ts DecodeTiming). */
  timings: { prefillS: number; decodeS: number; decodeSteps: number; tokens: number; stepS: number[] }[];
  /** What one step reads (decode-workloads.ts decodeTraffic). */
  traffic?: { weightBytes: number; kvBytesPerPosition: number; meanContext: number; kvBytesPerStep: number; bytesPerStep: number };
  tokensPerS?: number;
  bestTokensPerS?: number;
  meanStepS?: number;
  medianStepS?: number;
  meanPrefillS?: number;
  /** The copy bandwidth the bound uses (GB/s, read + write counted), null without the copy section. */
  bandwidthGbps?: number | null;
  boundTokensPerS?: number | null;
  /** tokensPerS / boundTokensPerS, and the fastest run's. */
  fractionOfBound?: number | null;
  bestFractionOfBound?: number | null;
  /** Pipelines compiled during the timed runs (0 unless the warm-up missed one). */
  pipelinesCompiledWhileTimed?: number;
  error?: string;
}

export interface GrpoOptions {
  enabled: boolean;
  models: TrainModelId[];
  /** Prompts per step, per model; each gets `generations` completions. */
  prompts: Record<TrainModelId, number>;
  /** G: completions per prompt (TRL's num_generations). */
  generations: number;
  /** Tokens per prompt (random ids, BOS first). */
  promptTokens: number;
  /** max_completion_length, per model. */
  completionTokens: Record<TrainModelId, number>;
  /** Untimed GRPO steps first, per model (pipeline compilation: decode, sampling, training). */
  warmup: Record<TrainModelId, number>;
  /** Timed GRPO steps, per model; a timed greedy decode of the same prompts follows each. */
  steps: Record<TrainModelId, number>;
  /** The reward functions, in the CLI's --reward syntax (built-ins only: no sandbox here). */
  reward: string;
}

/** One GRPO step's time, split by the loop's and the feed's own metrics. */
export interface GrpoStepSample {
  step: number;
  /** The whole step: rollouts, rewards, training (tokens / tokens_per_s). */
  stepS: number;
  /** Sampling the completions. */
  rolloutS: number;
  /** Scoring them. */
  rewardS: number;
  /** The rest: stepS - rolloutS - rewardS. */
  trainS: number;
  /** Tokens sampled (every completion token, an EOS that ended one included). */
  generatedTokens: number;
  /** Input positions the training pass computed (prompt + completion of every sequence). */
  tokens: number;
  /** Positions with a label (the completions' tokens). */
  trainedTokens: number;
  loss: number;
  reward: number;
}

/** One run of plain greedy generate() of the same prompts: the decode the rollouts are compared with. */
export interface DecodeSample {
  seconds: number;
  tokens: number;
}

export interface GrpoSummary {
  meanStepS: number;
  /** Generated tokens / generation seconds over the timed steps. */
  rolloutTokensPerS: number;
  /** Input positions / training seconds (the step less rollouts and rewards). */
  trainTokensPerS: number;
  /** Completion tokens trained / training seconds. */
  trainedTokensPerS: number;
  /** Shares of the step time: generating, scoring, training (they add up to 1). */
  generationShare: number;
  rewardShare: number;
  trainShare: number;
  /** Greedy decode tokens/s of the same model and prompts. */
  decodeTokensPerS: number;
  /** rolloutTokensPerS / decodeTokensPerS: below 1, sampling costs more per token than greedy decoding. */
  rolloutVsDecode: number;
  /** The fastest step's rollout tokens/s over the fastest greedy run's. */
  bestRolloutVsDecode: number;
}

/** One model's GRPO steps: a row of the GRPO table (grpo-bench.ts, grpo-workloads.ts). */
export interface GrpoRun {
  model: TrainModelId;
  description: string;
  prompts: number;
  generations: number;
  promptTokens: number;
  completionTokens: number;
  reward: string;
  /** LoRA, optimizer and GRPO settings, in words. */
  method?: string;
  loadS?: number;
  warmupSteps: number;
  warmupS?: number;
  /** Per timed step (grpo-workloads.ts GrpoStepSample). */
  steps: GrpoStepSample[];
  /** Per timed greedy generate() of the same prompts x G, max_completion_length tokens each, EOS ignored. */
  decode: DecodeSample[];
  summary?: GrpoSummary;
  /** Mean completion length of the timed steps' rollouts. */
  meanCompletionTokens?: number;
  /** Pipelines compiled after the warm-up (0 unless the warm-up was too short: then the timings include compilation). */
  pipelinesCompiledWhileTimed?: number;
  error?: string;
}

export interface EvalOptions {
  enabled: boolean;
  models: EvalModelId[];
  /** Items per run, per model (4 choices each). */
  items: Record<EvalModelId, number>;
  /** KV positions per batch (scoreContinuations' batchTokens): one submit per batch. */
  batchTokens: number;
  /** At most this many timed rounds (one run of each mode). */
  maxRounds: number;
  /** Seconds of timed runs per mode: rounds stop when the next would end after 2 x budgetS (at least one). */
  budgetS: number;
}

/** One model's multiple-choice scoring: a row of the eval table. */
export interface EvalRun {
  model: EvalModelId;
  description: string;
  items: number;
  choices: number;
  batchTokens: number;
  /** Model input rows per run with the shared context and from scratch. */
  rowsShared: number;
  rowsScratch: number;
  loadS?: number;
  warmupS?: number;
  /** Seconds per timed run (all items). */
  sharedS: number[];
  scratchS: number[];
  /** Batches per run, and queue submits per batch (1). */
  batches: number;
  submitsPerBatch: number;
  sharedItemsPerS?: number;
  scratchItemsPerS?: number;
  /** Mean from-scratch run over mean shared run, and fastest over fastest. */
  speedup?: number;
  bestSpeedup?: number;
  error?: string;
}

/** The models of the training section. */
export const TRAIN_MODELS = ['stories260K', 'smollm2-135m'] as const;
export type TrainModelId = (typeof TRAIN_MODELS)[number];

/**
 * Larger random shapes --train-models also takes (never by default: a step takes minutes on a software
 * adapter): issue 13's memory figures, SmolLM2-360M and Qwen2.5-0.5B (bench/core/random-model.ts).
 */
export const LARGE_TRAIN_MODELS = ['smollm2-360m', 'qwen2.5-0.5b'] as const;
export type LargeTrainModelId = (typeof LARGE_TRAIN_MODELS)[number];
/** Any model the training section can train. */
export type TrainBenchModelId = TrainModelId | LargeTrainModelId;

/** The models of the eval section (the training section's two). */
export const EVAL_MODELS = TRAIN_MODELS;
export type EvalModelId = TrainModelId;

/**
 * What one training step trains, all on the same prompts and answers (train-workloads.ts): SFT on the chosen
 * answers alone; DPO on the pairs with the reference's log-probabilities precomputed (no reference pass in
 * the step); DPO with the reference's forward in the step.
 */
export const TRAIN_OBJECTIVES = ['sft', 'dpo-cached', 'dpo-ref'] as const;
export type TrainObjectiveId = (typeof TRAIN_OBJECTIVES)[number];

export interface TrainOptions {
  enabled: boolean;
  /** Which of TRAIN_MODELS (or LARGE_TRAIN_MODELS) to train, in that order. */
  models: TrainBenchModelId[];
  /** Which of TRAIN_OBJECTIVES to time on each model (their steps interleave, so load drift hits all alike). */
  objectives: TrainObjectiveId[];
  /** T: tokens per sequence. */
  seqLen: number;
  /** Sequences per step, per model (DPO: pairs, so twice as many sequences); the large shapes take 1. */
  batch: Record<TrainModelId, number>;
  /** Untimed steps first, per model and objective (pipeline compilation, buffer pool); the large shapes 1. */
  warmup: Record<TrainModelId, number>;
  /** At most this many timed steps per objective. */
  maxSteps: number;
  /**
   * Seconds of timed steps per objective: a model's timed rounds (one step of each objective) stop when the
   * next round would end after budgetS x objectives (at least one round is timed).
   */
  budgetS: number;
  loraR: number;
  loraAlpha: number;
  /** PEFT target_modules, or ['all-linear']. */
  loraTargets: string[];
  /** One more step per objective with timestamps around every dispatch: GPU time per kernel. */
  profile: boolean;
  /**
   * CPU probe: after the timed steps, this many steps more per objective (after 2 untimed) at cpuSeqLen tokens
   * per sequence, whose median record and submit times are the steady CPU cost per step (the same layers and
   * kernels, so the same dispatches but the LM head's vocabulary chunks; one step at T is too few on a
   * software adapter to see past a loaded machine's noise). 0: none.
   */
  cpuSteps: number;
  cpuSeqLen: number;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  maxRunS: 120,
  budgetS: 3,
  targetRepS: 0.25,
  maxSamples: 5,
  f16: true,
  shapes: [],
  variants: false,
  skipPeak: false,
  skipCopy: false,
  train: {
    enabled: false,
    models: [...TRAIN_MODELS],
    objectives: [...TRAIN_OBJECTIVES],
    seqLen: 256,
    batch: { stories260K: 8, 'smollm2-135m': 1 },
    warmup: { stories260K: 2, 'smollm2-135m': 1 },
    maxSteps: 10,
    budgetS: 30,
    loraR: 8,
    loraAlpha: 16,
    loraTargets: ['q_proj', 'v_proj'],
    profile: false,
    cpuSteps: 6,
    cpuSeqLen: 16,
  },
  eval: {
    enabled: false,
    models: [...EVAL_MODELS],
    items: { stories260K: 32, 'smollm2-135m': 8 },
    batchTokens: 2048,
    maxRounds: 5,
    budgetS: 60,
  },
  grpo: {
    enabled: false,
    models: [...TRAIN_MODELS],
    prompts: { stories260K: 2, 'smollm2-135m': 1 },
    generations: 4,
    promptTokens: 8,
    completionTokens: { stories260K: 32, 'smollm2-135m': 8 },
    warmup: { stories260K: 1, 'smollm2-135m': 1 },
    steps: { stories260K: 3, 'smollm2-135m': 1 },
    reward: 'length=20',
  },
  decode: {
    enabled: false,
    models: [...TRAIN_MODELS],
    batches: [1, 8],
    newTokens: { stories260K: 32, 'smollm2-135m': 8 },
    promptTokens: 4,
    runs: 1,
  },
};

export interface AdapterReport {
  runtime: string;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
}

/** Wall-clock timing of one measurement; every figure is seconds per single product / dispatch / copy. */
export interface Timing {
  warmupS: number;
  /** Products per timed repetition (one submit, then await onSubmittedWorkDone). */
  r: number;
  samples: number[];
  bestS: number;
  medianS: number;
}

export interface PeakTrial {
  chains: number;
  wg: number;
  workgroups: number;
  iters: number;
  gflops: number;
  bestS: number;
}

export interface PeakReport {
  gflops: number;
  best: PeakTrial;
  trials: PeakTrial[];
  /** The output of invocation 0 matched a CPU replay of its chains (the work really ran). */
  verified: boolean;
}

export interface CopyMethod {
  method: string;
  gbps: number;
  bestS: number;
  r: number;
}

export interface CopyReport {
  gbps: number;
  bytes: number;
  counted: string;
  best: string;
  methods: CopyMethod[];
  verified: boolean;
}

export interface MatmulRun {
  m: number;
  k: number;
  n: number;
  b_format: 'f32' | 'f16';
  variant: string;
  /** The kernel that ran, "kernel name:entry point". */
  kernel?: string;
  gflops: number | null;
  timing?: Timing;
  /** Largest |got - want| / sum_i |a_i b_i| over the sampled rows. */
  max_rel_err?: number;
  ok?: boolean;
  skipped?: string;
  error?: string;
  /** The measurement never finished (DeadlineError); later products were not run. */
  hung?: boolean;
}

/** Mean seconds per timed step in each phase of it. */
export interface StepBreakdown {
  /** JavaScript building the step: batch packing, recording every dispatch, input writes. */
  recordS: number;
  /** StepEncoder.submit() until queue.submit returns: pipelines, bind groups, command encoding, the submit. */
  submitS: number;
  /** From there to the loss and gradient norm read back: the error scopes' answer and the device working. */
  waitS: number;
}

/** One model trained with one objective: a row of the training table. */
export interface TrainRun {
  /** GPU time per kernel label over one profiled step (--train-profile). */
  kernelTimes?: { label: string; dispatches: number; ms: number }[];
  model: TrainBenchModelId;
  objective: TrainObjectiveId;
  /** The objective in words, e.g. "DPO (sigmoid, beta 0.1), reference log-probabilities precomputed". */
  objectiveLabel: string;
  /** What was trained, e.g. "stories260K (../shared/assets/models/stories260K)". */
  description: string;
  /** The LoRA and optimizer set-up, in words. */
  method?: string;
  /** C, L, Hq, Hkv, D, F, V as "C=576 L=30 ...". */
  shape?: string;
  weightFormat: 'f16';
  weightBytes?: number;
  /** Seconds to read / generate and upload the weights. */
  loadS?: number;
  loraParams?: number;
  seqLen: number;
  /** B: sequences (SFT) or pairs (DPO) per step. */
  batch: number;
  /** Sequences per step: B, or 2B for DPO's pairs. */
  sequences: number;
  /** Prompt tokens at the start of every sequence (unlabelled); the answer fills the rest of T. */
  promptTokens: number;
  /** The frozen reference's forward runs in the step (dpo-ref). */
  referencePass: boolean;
  /** sequences x seqLen: every input position is computed (a reference pass reads the same positions again). */
  tokensPerStep: number;
  /** Positions with a label: sequences x (seqLen - promptTokens). */
  trainedTokensPerStep: number;
  /** N of the FLOP formula (train-flops.ts). */
  matmulParams?: number;
  /** 4N + 6·L·C·T, plus the reference's forward 2N + 2·L·C·T when it runs in the step. */
  flopsPerToken?: number;
  /** LoRA's own, not in flopsPerToken. */
  loraFlopsPerToken?: number;
  warmupSteps: number;
  warmupS?: number;
  /** Seconds per timed step. */
  stepS: number[];
  meanStepS?: number;
  medianStepS?: number;
  bestStepS?: number;
  breakdown?: StepBreakdown;
  /** Dispatches recorded in one step. */
  dispatchesPerStep?: number;
  /** The CPU probe (TrainOptions.cpuSteps): medians over its steps. */
  cpuProbe?: { seqLen: number; steps: number; recordS: number; submitS: number; dispatches: number };
  /** Pipelines compiled during the timed steps (0 unless the warm-up was too short: then they include compilation). */
  pipelinesCompiledWhileTimed?: number;
  tokensPerS?: number;
  /** flopsPerToken x tokens/s. */
  modelGflops?: number;
  /**
   * GPU bytes this objective holds at its peak, measured: the model's and its adapter's buffers (ctx.memory
   * across their creation), the uniform arena, and its steps' temporaries at their submit (the pool's live
   * bytes: what the step holds whether or not the pool had the buffers already).
   */
  peakGpuBytes?: number;
  /** estimateMemory's total for the same shape on this adapter's kernels (the trainer's allocation plan). */
  estimateGpuBytes?: number;
  /** The objective's losses of the first (warm-up) and the last step: finite, or the run is an error. */
  lossFirst?: number;
  lossLast?: number;
  error?: string;
}

/** A DPO step's cost against the SFT step on the chosen answers alone, same model, B and T (dpo-cost.ts). */
export interface DpoCostCheck {
  model: TrainBenchModelId;
  objective: Exclude<TrainObjectiveId, 'sft'>;
  seqLen: number;
  batch: number;
  sftTokensPerS: number;
  dpoTokensPerS: number;
  /** Mean DPO step / mean SFT step. */
  ratio: number;
  /** Median DPO step / median SFT step. */
  medianRatio: number;
  /** Fastest DPO step / fastest SFT step: the least disturbed pair on a loaded machine. */
  bestRatio: number;
  /** The most the ratio may be (issue 9). */
  limit: number;
  ok: boolean;
}

export interface OursReport {
  adapter: AdapterReport | null;
  peak: PeakReport | null;
  copy: CopyReport | null;
  matmul: MatmulRun[];
  train: TrainRun[];
  /** Each DPO row of `train` against its model's SFT row. */
  trainDpoCost: DpoCostCheck[];
  eval: EvalRun[];
  grpo: GrpoRun[];
  decode: DecodeRun[];
  errors: string[];
}

export interface PeerReport {
  name: string;
  available: boolean;
  error?: string;
  adapter?: Partial<AdapterReport>;
  matmul: MatmulRun[];
}

export type Log = (line: string) => void;
