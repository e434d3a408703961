// A small GPT-2 / Qwen2-style tokenizer.json (byte-level BPE, no BOS in its post-processor) with ChatML
// special tokens, written in the real file format, for tests that need a tokenizer unlike stories260K's
// sentencepiece one.

/** GPT-2's byte -> printable character table (bytes_to_unicode). */
function byteToChar(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return table;
}

export const BYTE_LEVEL_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/** Words merged into single tokens, so text has multi-byte tokens as real vocabularies do. */
const MERGED_WORDS = ['Ġthe', 'Ġcat', 'Ġsat', 'Ġon', 'Ġmat', 'Hello', 'Ġworld', 'user', 'assistant', 'system'];

export interface ByteLevelTokenizerFiles {
  tokenizer: Record<string, unknown>;
  /** Ids of the special tokens, by text. */
  special: Record<(typeof BYTE_LEVEL_SPECIALS)[number], number>;
}

export function byteLevelTokenizer(): ByteLevelTokenizerFiles {
  const chars = byteToChar();
  const vocab: Record<string, number> = {};
  chars.forEach((c, b) => (vocab[c] = b));
  const merges: string[] = [];
  for (const word of MERGED_WORDS) {
    // Left-to-right merges: "Ġ t" -> "Ġt", "Ġt h" -> "Ġth", ...
    let left = word[0];
    for (const ch of word.slice(1)) {
      const merged = left + ch;
      if (vocab[merged] === undefined) {
        merges.push(`${left} ${ch}`);
        vocab[merged] = Object.keys(vocab).length;
      }
      left = merged;
    }
  }
  const firstSpecial = Object.keys(vocab).length;
  const special = Object.fromEntries(BYTE_LEVEL_SPECIALS.map((s, i) => [s, firstSpecial + i])) as ByteLevelTokenizerFiles['special'];
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: BYTE_LEVEL_SPECIALS.map((content, i) => ({
      id: firstSpecial + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
  return { tokenizer, special };
}
