// A (context, continuation) text pair as token ids, exactly as lm-evaluation-harness encodes it for a causal
// model before scoring the continuation's log-likelihood (lm_eval/api/model.py, commit 4e7e0d4):
//
// - TemplateLM._encode_pair (model.py lines 368-406): whitespace at the end of the context moves to the
//   front of the continuation (Python's str.rstrip(): every Unicode whitespace character, not only spaces);
//   whole = tok_encode(context + continuation); context ids = tok_encode(context); continuation ids =
//   whole[len(context ids):]. The continuation is therefore what the whole text's tokenization puts after
//   the context's own tokens, so a merge across the boundary never splits a token twice.
// - TemplateLM.loglikelihood (model.py lines 408-447): an empty context becomes [prefix token] and the
//   continuation is encoded without special tokens; when the continuation already starts with the prefix
//   token, its first token is the context instead.
// - HFLM.tok_encode (lm_eval/models/huggingface.py lines 1040-1063, with _add_special_kwargs and
//   has_bos_prefix of lm_eval/models/utils.py lines 973-989): special tokens are the tokenizer's own
//   (add_special_tokens left at its default, true) unless the model's add_bos_token argument says otherwise,
//   and never when the text already starts with the prefix token's text (e.g. "<s>").
// - HFLM.prefix_token_id (huggingface.py lines 610-616): the BOS id, else the EOS (end of text) id.
//
// Our ModelTokenizer.encode applies tokenizer_config's add_bos_token / add_eos_token exactly once, as
// transformers' tokenizers do with add_special_tokens=True, so with a Llama tokenizer the context gets
// its BOS and with GPT-2's it gets none (and the empty context then conditions on <|endoftext|>).

import type { ModelTokenizer } from '../model/tokenizer';

/** The ModelTokenizer members the encoding needs (tests may pass any tokenizer with these). */
export type PairTokenizer = Pick<ModelTokenizer, 'encode' | 'decode' | 'bosTokenId' | 'eosTokenIds'>;

export interface EncodePairOptions {
  /**
   * The harness's add_bos_token model argument: true / false force special tokens on / off for every
   * encoded text; undefined (its default) leaves the tokenizer's own choice.
   */
  addBosToken?: boolean;
  /** The harness's prefix_token_id argument, used for an empty context; default BOS, else EOS. */
  prefixTokenId?: number;
}

export interface EncodedPair {
  /** Non-empty: the tokens the continuation is conditioned on. */
  context: number[];
  /** Non-empty: the tokens whose log-likelihood is summed. */
  continuation: number[];
}

/** Python's str.isspace() characters (Unicode White_Space as CPython defines it), for str.rstrip(). */
const TRAILING_PY_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/u;

/** The harness's prefix token: BOS when the tokenizer has one, else the (first) EOS id. */
export function prefixTokenId(tokenizer: PairTokenizer, options: EncodePairOptions = {}): number {
  const id = options.prefixTokenId ?? tokenizer.bosTokenId ?? tokenizer.eosTokenIds[0];
  if (id === undefined) throw new Error('encodeContinuation: the tokenizer has neither a BOS nor an EOS token to condition an empty context on; pass prefixTokenId');
  return id;
}

/** HFLM.tok_encode(text) with add_special_tokens left unset. */
function harnessEncode(tokenizer: PairTokenizer, text: string, prefixText: string, options: EncodePairOptions): number[] {
  const startsWithPrefix = prefixText !== '' && text.startsWith(prefixText);
  return tokenizer.encode(text, { addSpecialTokens: startsWithPrefix ? false : (options.addBosToken ?? true) });
}

/**
 * The context and continuation ids lm-evaluation-harness scores for `continuation` after `context`
 * (see the file header for the rules and their sources). Throws when the continuation has no tokens, or
 * when a context of only whitespace leaves nothing to condition on (the harness asserts both).
 */
export function encodeContinuation(tokenizer: PairTokenizer, context: string, continuation: string, options: EncodePairOptions = {}): EncodedPair {
  const prefix = prefixTokenId(tokenizer, options);
  if (context === '') {
    const ids = tokenizer.encode(continuation, { addSpecialTokens: false });
    if (ids.length === 0) throw new RangeError(`encodeContinuation: the continuation ${JSON.stringify(continuation)} has no tokens`);
    const pair = ids[0] === prefix ? { context: ids.slice(0, 1), continuation: ids.slice(1) } : { context: [prefix], continuation: ids };
    if (pair.continuation.length === 0) throw new RangeError(`encodeContinuation: the continuation ${JSON.stringify(continuation)} is only the prefix token`);
    return pair;
  }

  const trailing = TRAILING_PY_WHITESPACE.exec(context)?.[0] ?? '';
  const movedContext = context.slice(0, context.length - trailing.length);
  const movedContinuation = trailing + continuation;

  const prefixText = tokenizer.decode([prefix]);
  const whole = harnessEncode(tokenizer, movedContext + movedContinuation, prefixText, options);
  const contextIds = harnessEncode(tokenizer, movedContext, prefixText, options);
  const continuationIds = whole.slice(contextIds.length);
  if (contextIds.length === 0) {
    throw new RangeError(`encodeContinuation: the context ${JSON.stringify(context)} has no tokens once its trailing whitespace moves to the continuation`);
  }
  if (continuationIds.length === 0) {
    throw new RangeError(`encodeContinuation: the continuation ${JSON.stringify(continuation)} adds no tokens after the context`);
  }
  return { context: contextIds, continuation: continuationIds };
}
