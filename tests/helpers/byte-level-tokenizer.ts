// A small GPT-2 / Qwen2-style tokenizer.json (byte-level BPE, no BOS in its post-processor) with ChatML
// special tokens, written in the real file format, for tests that need a tokenizer unlike stories260K's
// sentencepiece one.

import { byteSymbols } from '../../src/engine/demo/byte-level-merges';
import { byteLevelTokenizerJson } from '../../src/engine/demo/byte-level-tokenizer-json';

export const BYTE_LEVEL_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/** Words merged into single tokens, so text has multi-byte tokens as real vocabularies do. */
const MERGED_WORDS = ['Ġthe', 'Ġcat', 'Ġsat', 'Ġon', 'Ġmat', 'Hello', 'Ġworld', 'user', 'assistant', 'system'];

export interface ByteLevelTokenizerFiles {
  tokenizer: Record<string, unknown>;
  /** Ids of the special tokens, by text. */
  special: Record<(typeof BYTE_LEVEL_SPECIALS)[number], number>;
}

export function byteLevelTokenizer(): ByteLevelTokenizerFiles {
  const chars = byteSymbols();
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
  const tokenizer = byteLevelTokenizerJson(
    vocab,
    merges,
    BYTE_LEVEL_SPECIALS.map((content, i) => ({ id: firstSpecial + i, content })),
  );
  return { tokenizer, special };
}
