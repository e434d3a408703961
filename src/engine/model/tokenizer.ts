// Text <-> token ids for a Hugging Face model, through @huggingface/tokenizers (tokenizer.json) with
// tokenizer_config.json's choices applied on top: add_bos_token / add_eos_token decide the special tokens
// around the text, exactly once, whatever tokenizer.json's post-processor would add.

import { Tokenizer } from '@huggingface/tokenizers';
import { ModelFormatError } from './errors';
import { SectionCuts } from './section-cuts';
import { refuseRunawayPatterns } from './tokenizer-patterns';
import { resolveBosTokenId, resolveEosTokenIds, specialTokenText, type GenerationSources } from './generation-options';

type Json = Record<string, unknown>;

export interface TokenizerSources extends GenerationSources {
  /** Where the files came from, for error messages. */
  source?: string;
  tokenizer?: Json;
}

export interface EncodeOptions {
  /** Add BOS / EOS as the tokenizer config says (default true). */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out special tokens such as <s> and </s> (default false). */
  skipSpecialTokens?: boolean;
}

/** The message for a missing tokenizer.json: names the file and says what still works. */
export function missingTokenizerError(source?: string): ModelFormatError {
  const where = source ? ` in ${source}` : '';
  return new ModelFormatError(
    'tokenizer.json',
    `not found${where}; it is needed to turn text into token ids and back (generation from token ids works without it)`,
  );
}

/** Where `part` first occurs in `whole`, or -1. */
function indexOfRun(whole: number[], part: number[]): number {
  outer: for (let i = 0; i + part.length <= whole.length; i++) {
    for (let j = 0; j < part.length; j++) if (whole[i + j] !== part[j]) continue outer;
    return i;
  }
  return -1;
}

/** `ids` with `id` added (at the start or end) or removed, as `want` says; unchanged when `id` is unknown. */
function withToken(ids: number[], id: number | undefined, want: boolean | undefined, atStart: boolean): number[] {
  if (id === undefined || want === undefined) return ids;
  const has = ids.includes(id);
  if (want && !has) return atStart ? [id, ...ids] : [...ids, id];
  if (!want && has) return ids.filter((t) => t !== id);
  return ids;
}

export class ModelTokenizer {
  readonly bosTokenId: number | undefined;
  /** Ids that end generation (generation_config.json, config.json, then tokenizer_config's eos_token). */
  readonly eosTokenIds: number[];
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  /** tokenizer_config.json's "*_token" entries as text (bos_token, eos_token, unk_token, pad_token, ...). */
  readonly specialTokens: Readonly<Record<string, string>>;
  readonly additionalSpecialTokens: readonly string[];
  /** decode() removes spaces before punctuation (" ." -> "."), so streamed text must wait for what follows. */
  readonly cleansUpSpaces: boolean;
  /** tokenizer_config.json as read (chat_template and the special tokens live here). */
  readonly tokenizerConfig: Json | undefined;
  /** Ids the model reads: config.json's vocab_size (its embedding's rows; may exceed the tokenizer's own ids). */
  readonly vocabSize: number;
  /** Where a text can be cut and its parts tokenized apart with the ids of the whole. */
  readonly sectionCuts: SectionCuts;
  private readonly tokenizer: Tokenizer;
  /** Ids encode() puts before and after the text's own ids when special tokens are wanted. */
  private readonly prefix: number[];
  private readonly suffix: number[];

  /** Throws a ModelFormatError naming tokenizer.json when the model has none. */
  constructor(files: TokenizerSources) {
    if (!files.tokenizer) throw missingTokenizerError(files.source);
    this.tokenizerConfig = files.tokenizerConfig;
    this.vocabSize = files.config.vocabSize;
    const tc = files.tokenizerConfig ?? {};
    this.specialTokens = Object.fromEntries(
      Object.entries(tc)
        .filter(([key]) => key.endsWith('_token'))
        .map(([key, value]) => [key, specialTokenText(value)] as const)
        .filter((entry): entry is readonly [string, string] => entry[1] !== undefined),
    );
    const additional = Array.isArray(tc.additional_special_tokens) ? tc.additional_special_tokens : [];
    this.additionalSpecialTokens = additional.map(specialTokenText).filter((t): t is string => t !== undefined);
    this.bosToken = this.specialTokens.bos_token;
    this.eosToken = this.specialTokens.eos_token;

    // The library reads clean_up_tokenization_spaces (default true there; transformers >= 4.45 defaults to
    // false) and wants additional_special_tokens as plain strings.
    const libraryConfig = {
      ...tc,
      clean_up_tokenization_spaces: tc.clean_up_tokenization_spaces ?? false,
      additional_special_tokens: this.additionalSpecialTokens,
    };
    this.cleansUpSpaces = libraryConfig.clean_up_tokenization_spaces === true;
    try {
      this.tokenizer = new Tokenizer(files.tokenizer, libraryConfig);
    } catch (err) {
      throw new ModelFormatError('tokenizer.json', `cannot be used (${(err as Error).message})`);
    }
    // Before any text is tokenized: a pattern that backtracks catastrophically would hang on some lines for good.
    refuseRunawayPatterns(this.tokenizer);

    this.sectionCuts = new SectionCuts(files.tokenizer);

    const tokenId = (text: string) => this.tokenizer.token_to_id(text);
    this.bosTokenId = resolveBosTokenId(files, tokenId);
    this.eosTokenIds = resolveEosTokenIds(files, tokenId);

    // What the post-processor adds around a text, found by encoding a probe with and without it.
    const probe = 'a';
    const bare = this.tokenizer.encode(probe, { add_special_tokens: false }).ids;
    const full = this.tokenizer.encode(probe, { add_special_tokens: true }).ids;
    const at = indexOfRun(full, bare);
    const prefix = at < 0 ? [] : full.slice(0, at);
    const suffix = at < 0 ? [] : full.slice(at + bare.length);

    // tokenizer_config's add_bos_token / add_eos_token win over the post-processor (as in transformers'
    // Llama tokenizers); when absent, the post-processor decides.
    const bosForText = this.bosToken !== undefined ? tokenId(this.bosToken) : this.bosTokenId;
    const eosForText = this.eosToken !== undefined ? tokenId(this.eosToken) : this.eosTokenIds[0];
    const flag = (key: string): boolean | undefined => (typeof tc[key] === 'boolean' ? (tc[key] as boolean) : undefined);
    const addBos = flag('add_bos_token');
    const addEos = flag('add_eos_token');
    if (addBos && bosForText === undefined) {
      throw new ModelFormatError('tokenizer_config.json', 'add_bos_token is true but no BOS token is defined (bos_token / bos_token_id)');
    }
    if (addEos && eosForText === undefined) {
      throw new ModelFormatError('tokenizer_config.json', 'add_eos_token is true but no EOS token is defined (eos_token / eos_token_id)');
    }
    this.prefix = withToken(prefix, bosForText, addBos, true);
    this.suffix = withToken(suffix, eosForText, addEos, false);
  }

  /** A tokenizer when the model has tokenizer.json, else undefined (for paths that work from token ids). */
  static optional(files: TokenizerSources): ModelTokenizer | undefined {
    return files.tokenizer ? new ModelTokenizer(files) : undefined;
  }

  /** True when encode() with special tokens starts with BOS (the model expects it). */
  get addsBos(): boolean {
    return this.bosTokenId !== undefined && this.prefix.includes(this.bosTokenId);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    if (options.addSpecialTokens === false) return ids;
    // Text that already starts with BOS (a rendered chat template) or ends with EOS does not get a second one.
    const prefix = ids.length > 0 && this.prefix.at(-1) === ids[0] ? this.prefix.slice(0, -1) : this.prefix;
    const suffix = ids.length > 0 && this.suffix[0] === ids.at(-1) ? this.suffix.slice(1) : this.suffix;
    return [...prefix, ...ids, ...suffix];
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode(Array.from(ids), { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** The id of a token's text (special or not), or undefined. */
  tokenId(text: string): number | undefined {
    return this.tokenizer.token_to_id(text);
  }

  /** A token's text as the vocabulary spells it ("▁Once", "<0xC3>"), or undefined. */
  tokenText(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }
}
