// The demo model's tokenizer files: a byte-level BPE (any text encodes, nothing is unknown) whose merges
// are learned from the demo stories, plus <s> / </s> as BOS and EOS, written as the tokenizer.json and
// tokenizer_config.json a Hugging Face repository would hold.

import { learnByteLevelMerges } from './byte-level-merges';
import { byteLevelTokenizerJson } from './byte-level-tokenizer-json';
import { demoStories } from './demo-stories';

export const DEMO_BOS = '<s>';
export const DEMO_EOS = '</s>';
/** Enough merges to spell the demo's frequent words as one token each. */
const DEMO_MERGES = 320;

export interface DemoTokenizerFiles {
  tokenizer: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  /** Every id the tokenizer can produce: bytes, merges and the two special tokens. */
  vocabSize: number;
  bosTokenId: number;
  eosTokenId: number;
}

export function demoTokenizerFiles(): DemoTokenizerFiles {
  const texts = demoStories().flatMap((s) => [s.prompt, s.completion]);
  const { vocab, merges } = learnByteLevelMerges(texts, DEMO_MERGES);
  const bosTokenId = Object.keys(vocab).length;
  const eosTokenId = bosTokenId + 1;
  const tokenizer = byteLevelTokenizerJson(
    vocab,
    merges.map(([a, b]) => `${a} ${b}`),
    [
      { id: bosTokenId, content: DEMO_BOS },
      { id: eosTokenId, content: DEMO_EOS },
    ],
  );
  const tokenizerConfig = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: DEMO_BOS,
    eos_token: DEMO_EOS,
    // Every text starts with BOS (as Llama's tokenizers do); EOS is added by the SFT data path.
    add_bos_token: true,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: 256,
  };
  return { tokenizer, tokenizerConfig, vocabSize: eosTokenId + 1, bosTokenId, eosTokenId };
}
