// A byte-level BPE tokenizer.json (GPT-2's byte alphabet, no prefix space) in the format
// @huggingface/tokenizers and transformers read, from a vocabulary, merges and special tokens.

const BYTE_LEVEL = { add_prefix_space: false, trim_offsets: true, use_regex: true };

export interface SpecialToken {
  id: number;
  content: string;
}

export function byteLevelTokenizerJson(vocab: Record<string, number>, merges: readonly string[], specials: readonly SpecialToken[]): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map(({ id, content }) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...BYTE_LEVEL },
    post_processor: { type: 'ByteLevel', ...BYTE_LEVEL },
    decoder: { type: 'ByteLevel', ...BYTE_LEVEL },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: [...merges],
    },
  };
}
