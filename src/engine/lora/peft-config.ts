// adapter_config.json as PEFT writes it (peft/tuners/lora/config.py, LoraConfig), read into what Tunelab runs.
// Adapters from TRL, LLaMA-Factory and Unsloth are written by PEFT's save_pretrained, so this one reader serves
// them all. A field that changes the adapter's math and that Tunelab does not run (DoRA and the other LoRA
// variants, modules_to_save, bias training, layer selection, ...) is refused by name; fields that only say how
// the adapter was initialised or trained are ignored; a field this reader does not know is ignored with a
// warning (a newer PEFT may add harmless ones).

import { ModelFormatError } from '../model/errors';
import { MAX_LORA_RANK } from './adapter-limits';
import { MAX_FIELD_REPEATS, patternKeyCost } from './pattern-key-cost';
import { patternRegex } from './rank-pattern';

const FILE = 'adapter_config.json';

/** More entries than any model Tunelab can train has modules (Llama 3.2 3B, all-linear: 196). */
export const MAX_PATTERN_ENTRIES = 4096;

/** One rank_pattern or alpha_pattern entry, in the file's order (PEFT takes the first key that matches). */
export interface PatternEntry {
  key: string;
  value: number;
}

export interface PeftLoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  /** Module names as PEFT's target_modules, or ['all-linear']. */
  targets: string[];
  useRslora: boolean;
  /** As written: the loader applies each module's own layout instead, as PEFT does (see peft-files.ts). */
  fanInFanOut: boolean;
  rankPattern: PatternEntry[];
  alphaPattern: PatternEntry[];
}

export interface ParsedPeftConfig {
  config: PeftLoraConfig;
  /** Fields ignored because this reader does not know them. */
  warnings: string[];
}

/** Fields read above or that cannot change what the saved A and B compute (metadata, initialisation, runtime). */
const HARMLESS = new Set([
  'peft_type', 'task_type', 'base_model_name_or_path', 'revision', 'inference_mode', 'auto_mapping', 'peft_version',
  'r', 'lora_alpha', 'lora_dropout', 'target_modules', 'use_rslora', 'fan_in_fan_out', 'rank_pattern', 'alpha_pattern',
  'bias', 'init_lora_weights', 'runtime_config',
  // Settings of initialisations whose result is the saved A and B (refused below when the init touches the base).
  'loftq_config', 'eva_config', 'corda_config', 'lora_ga_config',
  // Meaningful only beside a field that is refused when set (megatron_config, use_qalora, modules_to_save).
  'megatron_core', 'qalora_group_size', 'ensure_weight_tying',
]);

/** Fields that change the math when set (not null, false, [] or {}), each with what it is. */
const REFUSED_WHEN_SET: Record<string, string> = {
  use_dora: 'DoRA (a learned magnitude per output feature)',
  modules_to_save: 'whole modules trained and saved beside the adapter',
  layers_to_transform: 'LoRA on some layers only',
  layers_pattern: 'LoRA on some layers only',
  exclude_modules: 'modules excluded from the targets',
  lora_bias: 'a trained bias on lora_B',
  use_qalora: 'QA-LoRA (pooled inputs for quantised layers)',
  trainable_token_indices: 'trainable embedding rows',
  megatron_config: "Megatron's parallel linear layers",
  layer_replication: 'layers repeated to make a deeper model',
  target_parameters: 'LoRA on parameters rather than modules',
  alora_invocation_tokens: 'Activated LoRA (applied only after its invocation tokens)',
  velora_config: 'the VeLoRA variant',
  monteclora_config: 'the MonteCLoRA variant',
  use_bdlora: 'block-diagonal LoRA',
  arrow_config: 'Arrow routing between adapters',
  kasa_config: 'the KaSA variant (a learned diagonal between A and B)',
};

/** init_lora_weights values whose result is just the saved A and B; the others rewrite the base weights or are variants. */
const PLAIN_INITS = new Set<unknown>([true, false, 'gaussian', 'eva', 'orthogonal']);

/** Module names of embeddings and LM heads, which PEFT adapts with lora_embedding_A/B or as a full linear. */
const EMBEDDING_TARGETS = new Set(['embed_tokens', 'lm_head', 'wte', 'wpe', 'embed_in', 'embed_out']);

function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function fail(detail: string): never {
  throw new ModelFormatError(FILE, detail);
}

/** A value for a message: numbers as JavaScript writes them (NaN, Infinity, 1000000000), the rest as JSON, cut short. */
function show(value: unknown): string {
  if (typeof value === 'number') return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** r or a rank_pattern rank: an integer in [1, MAX_LORA_RANK], else why not. */
function rankProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) return `must be a positive integer, got ${show(value)}`;
  if (value > MAX_LORA_RANK) return `is ${value}, over the largest rank Tunelab imports (${MAX_LORA_RANK}; a rank above a layer's width adds nothing)`;
  return undefined;
}

/** lora_alpha or an alpha_pattern value: a positive finite number, else why not. */
function alphaProblem(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? undefined : `must be a positive finite number, got ${show(value)}`;
}

/** A pattern key's problem: not a regular expression JavaScript reads, or one whose matching can explode. */
function keyProblem(key: string): { problem?: string; repeats: number } {
  try {
    // On its own too: a key that only parses inside PEFT's wrapper ("a)|(b") escapes the wrapper's group.
    new RegExp(key);
    patternRegex(key);
  } catch (err) {
    return { problem: `is not a regular expression Tunelab can read (${(err as Error).message})`, repeats: 0 };
  }
  const cost = patternKeyCost(key);
  return { problem: cost.hazard, repeats: cost.repeats };
}

function parsePattern(field: 'rank_pattern' | 'alpha_pattern', value: unknown): PatternEntry[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) return fail(`field "${field}" must be an object of module name -> ${field === 'rank_pattern' ? 'rank' : 'alpha'}`);
  // JSON.parse keeps the file's order (integer-like keys aside, which never match a linear module's path).
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_PATTERN_ENTRIES) fail(`field "${field}" has ${entries.length} entries, over the limit of ${MAX_PATTERN_ENTRIES}`);
  let repeats = 0;
  return entries.map(([key, v]) => {
    const valueProblem = field === 'rank_pattern' ? rankProblem(v) : alphaProblem(v);
    if (valueProblem) fail(`field "${field}": the value of "${key}" ${valueProblem}`);
    const k = keyProblem(key);
    if (k.problem) fail(`field "${field}": key "${key}" ${k.problem}`);
    repeats += k.repeats;
    if (repeats > MAX_FIELD_REPEATS) {
      fail(`field "${field}": its keys hold more than ${MAX_FIELD_REPEATS} variable quantifiers (*, +, ?, {m,n}) together, too slow to match; name the modules instead`);
    }
    return { key, value: v as number };
  });
}

function parseTargets(value: unknown): string[] {
  if (typeof value === 'string') {
    // PEFT compares the shorthand case-insensitively; any other string is a regex matched against full module names.
    if (value.toLowerCase() === 'all-linear') return ['all-linear'];
    return fail(`field "target_modules" is a regular expression (${show(value)}), which Tunelab does not match; list the module names`);
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every((t) => typeof t === 'string')) {
    return fail('field "target_modules" must be a non-empty list of module names');
  }
  const embedding = value.find((t) => EMBEDDING_TARGETS.has(t.split('.').pop()!));
  if (embedding) fail(`field "target_modules" names "${embedding}": embedding and LM-head adapters are not supported (Tunelab adapts the linear layers of the blocks)`);
  return [...value] as string[];
}

/** Reads adapter_config.json (parsed JSON) into the LoRA Tunelab runs, naming the file and field on errors. */
export function parsePeftConfig(json: unknown): ParsedPeftConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return fail('must be a JSON object');
  const j = json as Record<string, unknown>;
  if (j.peft_type !== 'LORA') fail(`peft_type is ${show(j.peft_type)}, only "LORA" is supported`);
  for (const [field, what] of Object.entries(REFUSED_WHEN_SET)) {
    if (isSet(j[field])) fail(`field "${field}" is set (${show(j[field])}): ${what} is not supported, Tunelab runs plain LoRA`);
  }
  if (j.bias !== undefined && j.bias !== null && j.bias !== 'none') {
    fail(`field "bias" is ${show(j.bias)}: trained biases are not supported (only "none")`);
  }
  if (j.init_lora_weights !== undefined && !PLAIN_INITS.has(j.init_lora_weights)) {
    fail(
      `field "init_lora_weights" is ${show(j.init_lora_weights)}: this initialisation changes the base weights or the layer ` +
        '(PiSSA, OLoRA, CorDA, LoftQ, LoRA-GA, MiCA), so the adapter does not run on the original model; convert it to plain LoRA first',
    );
  }
  const r = j.r;
  const rProblem = rankProblem(r);
  if (rProblem) fail(`field "r" ${rProblem}`);
  // PEFT's default lora_alpha is 8.
  const alpha = j.lora_alpha ?? 8;
  const aProblem = alphaProblem(alpha);
  if (aProblem) fail(`field "lora_alpha" ${aProblem}`);
  const dropout = j.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) fail(`field "lora_dropout" must be in [0, 1), got ${show(dropout)}`);
  const warnings = Object.keys(j)
    .filter((k) => !HARMLESS.has(k) && !(k in REFUSED_WHEN_SET) && isSet(j[k]))
    .map((k) => `adapter_config.json: field "${k}" is unknown to Tunelab and was ignored`);
  return {
    config: {
      r: r as number,
      alpha: alpha as number,
      dropout: dropout as number,
      targets: parseTargets(j.target_modules),
      useRslora: j.use_rslora === true,
      fanInFanOut: j.fan_in_fan_out === true,
      rankPattern: parsePattern('rank_pattern', j.rank_pattern),
      alphaPattern: parsePattern('alpha_pattern', j.alpha_pattern),
    },
    warnings,
  };
}
