// Generation settings as the model's files suggest them (generation_config.json, then config.json, then
// tokenizer_config.json), with the caller's choices on top. Field names and defaults follow Hugging Face's
// GenerationConfig, so a model behaves here as it does in transformers.

import type { ModelConfig } from './config';
import { ModelFormatError } from './errors';

type Json = Record<string, unknown>;

export interface SamplingOptions {
  /** 0 = greedy. */
  temperature: number;
  /** 0 = no top-k filter. */
  topK: number;
  /** 1 = no nucleus filter. */
  topP: number;
  /** 1 = none; > 1 discourages tokens already in the prompt or the output. */
  repetitionPenalty: number;
  /** false = greedy whatever the temperature (generation_config's do_sample). */
  doSample: boolean;
}

export interface GenerateOptions extends Partial<SamplingOptions> {
  maxNewTokens: number;
  /** Seed of the sampling RNG; prompt i uses seed + i, so a prompt's tokens do not depend on its batch. */
  seed?: number;
  /** Any of these ends a sequence (EOS); default: the model config's eos_token_id. */
  stopTokenIds?: number[];
  /** Text that ends a sequence; the result is cut before it (needs the tokenizer). */
  stopStrings?: string[];
}

/** What the caller may choose; anything left out comes from the model's files. */
export type GenerateOverrides = Partial<GenerateOptions>;

/** The files these settings come from (a subset of ModelFiles). */
export interface GenerationSources {
  config: ModelConfig;
  generationConfig?: Json;
  tokenizerConfig?: Json;
}

/** transformers' GenerationConfig defaults. */
export const HF_SAMPLING_DEFAULTS: SamplingOptions = { temperature: 1, topK: 50, topP: 1, repetitionPenalty: 1, doSample: false };
export const DEFAULT_MAX_NEW_TOKENS = 128;

const GEN_FILE = 'generation_config.json';

function numberField(json: Json | undefined, key: string, check: (v: number) => boolean, what: string): number | undefined {
  const v = json?.[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) {
    throw new ModelFormatError(GEN_FILE, `field "${key}" must be ${what}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The token-id fields of generation_config.json that Tunelab reads or writes back on export. */
const TOKEN_ID_FIELDS = ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const;

/**
 * Token id or list of ids at `key`, or undefined when absent. Each id must be an integer from 0 to
 * vocabSize - 1: an id outside the vocabulary would index past the embedding and logits, and vocab_size
 * itself is at most 2^31 - 1 (config.ts), so every id fits the GPU's 32-bit indices.
 */
function tokenIdsField(json: Json | undefined, key: string, file: string, vocabSize: number): number[] | undefined {
  const v = json?.[key];
  if (v === undefined || v === null) return undefined;
  const list: unknown[] = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < vocabSize) continue;
    const where = Array.isArray(v) ? `field "${key}" holds ${JSON.stringify(id)} (in ${JSON.stringify(v)})` : `field "${key}" is ${JSON.stringify(v)}`;
    throw new ModelFormatError(file, `${where}, not a token id of this model: ids are integers from 0 to ${vocabSize - 1} (config.json's vocab_size is ${vocabSize})`);
  }
  return list as number[];
}

/** Refuses (ModelFormatError, naming the field and the value) a generation_config.json whose bos, eos or pad token id is outside the vocabulary. */
export function checkGenerationTokenIds(generationConfig: Json | undefined, vocabSize: number): void {
  for (const key of TOKEN_ID_FIELDS) tokenIdsField(generationConfig, key, GEN_FILE, vocabSize);
}

/** A special token's text in tokenizer_config.json: a string or an AddedToken object {content}. */
export function specialTokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return undefined;
}

/** The id tokenizer_config.json's added_tokens_decoder gives a token's text (works without tokenizer.json). */
export function addedTokenId(tokenizerConfig: Json | undefined, text: string): number | undefined {
  const table = tokenizerConfig?.added_tokens_decoder;
  if (typeof table !== 'object' || table === null) return undefined;
  for (const [id, token] of Object.entries(table as Json)) {
    if (specialTokenText(token) === text && /^\d+$/.test(id)) return Number(id);
  }
  return undefined;
}

/** Sampling defaults from generation_config.json (HF defaults for what it leaves out). */
export function samplingDefaults(generationConfig?: Json): SamplingOptions {
  const gc = generationConfig;
  const doSample = gc?.do_sample;
  if (doSample !== undefined && doSample !== null && typeof doSample !== 'boolean') {
    throw new ModelFormatError(GEN_FILE, `field "do_sample" must be true or false, got ${JSON.stringify(doSample)}`);
  }
  return {
    temperature: numberField(gc, 'temperature', (v) => v >= 0, 'a number >= 0') ?? HF_SAMPLING_DEFAULTS.temperature,
    topK: numberField(gc, 'top_k', (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0') ?? HF_SAMPLING_DEFAULTS.topK,
    topP: numberField(gc, 'top_p', (v) => v > 0 && v <= 1, 'in (0, 1]') ?? HF_SAMPLING_DEFAULTS.topP,
    repetitionPenalty: numberField(gc, 'repetition_penalty', (v) => v > 0, 'a positive number') ?? HF_SAMPLING_DEFAULTS.repetitionPenalty,
    doSample: doSample ?? HF_SAMPLING_DEFAULTS.doSample,
  };
}

/** End-of-sequence ids: generation_config.json, then config.json, then tokenizer_config.json's eos_token. */
export function resolveEosTokenIds(sources: GenerationSources, tokenId?: (text: string) => number | undefined): number[] {
  const fromGen = tokenIdsField(sources.generationConfig, 'eos_token_id', GEN_FILE, sources.config.vocabSize);
  if (fromGen?.length) return fromGen;
  if (sources.config.eosTokenIds.length) return sources.config.eosTokenIds;
  const text = specialTokenText(sources.tokenizerConfig?.eos_token);
  if (text === undefined) return [];
  const id = tokenId?.(text) ?? addedTokenId(sources.tokenizerConfig, text);
  return id === undefined ? [] : [id];
}

/** Beginning-of-sequence id, in the same order of files. */
export function resolveBosTokenId(sources: GenerationSources, tokenId?: (text: string) => number | undefined): number | undefined {
  const fromGen = tokenIdsField(sources.generationConfig, 'bos_token_id', GEN_FILE, sources.config.vocabSize);
  if (fromGen?.length) return fromGen[0];
  if (sources.config.bosTokenId !== undefined) return sources.config.bosTokenId;
  const text = specialTokenText(sources.tokenizerConfig?.bos_token);
  if (text === undefined) return undefined;
  return tokenId?.(text) ?? addedTokenId(sources.tokenizerConfig, text);
}

/**
 * The options generate() should run with: the caller's overrides over generation_config.json. A temperature
 * the caller sets decides sampling (0 = greedy, > 0 = sample) unless the caller also sets doSample.
 */
export function resolveGenerateOptions(
  sources: GenerationSources,
  overrides: GenerateOverrides = {},
  tokenId?: (text: string) => number | undefined,
): GenerateOptions & SamplingOptions {
  const base = samplingDefaults(sources.generationConfig);
  const maxNewFromFile = numberField(sources.generationConfig, 'max_new_tokens', (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
  const doSample = overrides.doSample ?? (overrides.temperature !== undefined ? overrides.temperature > 0 : base.doSample);
  return {
    maxNewTokens: overrides.maxNewTokens ?? maxNewFromFile ?? DEFAULT_MAX_NEW_TOKENS,
    temperature: overrides.temperature ?? base.temperature,
    topK: overrides.topK ?? base.topK,
    topP: overrides.topP ?? base.topP,
    repetitionPenalty: overrides.repetitionPenalty ?? base.repetitionPenalty,
    doSample,
    seed: overrides.seed,
    stopTokenIds: overrides.stopTokenIds ?? resolveEosTokenIds(sources, tokenId),
    stopStrings: overrides.stopStrings,
  };
}
