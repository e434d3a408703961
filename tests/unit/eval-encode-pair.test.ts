// encodeContinuation against lm-evaluation-harness's _encode_pair / loglikelihood rules, on stories260K's
// sentencepiece tokenizer (add_bos_token true) and a GPT-2-style byte-level one (no BOS added). Expected
// ids are spelled out from each vocabulary, so a naive "encode the two texts apart" would fail them.

import { describe, expect, it } from 'vitest';
import { encodeContinuation, prefixTokenId } from '../../src/engine/eval/encode-pair';
import { parseModelConfig } from '../../src/engine/model/config';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { byteLevelTokenizer } from '../helpers/byte-level-tokenizer';
import { STORIES_BOS, storiesTokenizer } from '../helpers/stories-tokenizer';

describe('encodeContinuation with stories260K (BOS added)', () => {
  const tok = storiesTokenizer();
  const id = (piece: string) => tok.tokenId(piece)!;

  it('moves the trailing space into the continuation and splits the whole text after the context ids', () => {
    const pair = encodeContinuation(tok, 'Once upon a ', 'time');
    expect(pair.context).toEqual([STORIES_BOS, id('▁Once'), id('▁upon'), id('▁a')]);
    expect(pair.continuation).toEqual([id('▁time')]);
    // Encoding " time" alone would give two tokens ("▁" + "▁time"): the pair must not.
    expect(tok.encode(' time', { addSpecialTokens: false })).toHaveLength(2);
    // The same ids whether the space ends the context or starts the continuation.
    expect(encodeContinuation(tok, 'Once upon a', ' time')).toEqual(pair);
  });

  it('has BOS once, also when the context already starts with its text', () => {
    const pair = encodeContinuation(tok, '<s>Once upon a', ' time');
    expect(pair.context.filter((t) => t === STORIES_BOS)).toHaveLength(1);
    expect(pair.context[0]).toBe(STORIES_BOS);
  });

  it('conditions an empty context on the prefix token (BOS) and encodes the continuation bare', () => {
    expect(prefixTokenId(tok)).toBe(STORIES_BOS);
    expect(encodeContinuation(tok, '', 'Once upon')).toEqual({ context: [STORIES_BOS], continuation: [id('▁Once'), id('▁upon')] });
  });

  it('follows add_bos_token=False and a custom prefix token', () => {
    expect(encodeContinuation(tok, 'Once upon a', ' time', { addBosToken: false }).context).toEqual([id('▁Once'), id('▁upon'), id('▁a')]);
    expect(encodeContinuation(tok, '', 'Once', { prefixTokenId: 2 }).context).toEqual([2]);
  });
});

describe('encodeContinuation with a byte-level BPE tokenizer (GPT-2 / Qwen2 style, no BOS added)', () => {
  const { tokenizer, special } = byteLevelTokenizer();
  const eot = special['<|endoftext|>'];
  const config = parseModelConfig({
    architectures: ['GPT2LMHeadModel'],
    n_embd: 32,
    n_layer: 1,
    n_head: 4,
    vocab_size: 512,
    n_positions: 64,
    bos_token_id: eot,
    eos_token_id: eot,
  });
  const tok = new ModelTokenizer({ config, tokenizer, tokenizerConfig: { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' } });
  const id = (piece: string) => tok.tokenId(piece)!;
  /** Single bytes have their byte value as id in this vocabulary. */
  const bytes = (s: string) => [...s].map((c) => c.charCodeAt(0));

  it('adds no special token and moves the space so that "Ġthe" stays one token', () => {
    const pair = encodeContinuation(tok, 'Hello world ', 'the cat');
    expect(pair.context).toEqual([id('Hello'), id('Ġworld')]);
    expect(pair.continuation).toEqual([id('Ġthe'), id('Ġcat')]);
  });

  it('moves every Python whitespace character (newlines too), not only spaces', () => {
    const pair = encodeContinuation(tok, 'Hello\n', 'world');
    expect(pair.context).toEqual([id('Hello')]);
    expect(pair.continuation).toEqual(bytes('\nworld'));
  });

  it('conditions an empty context on <|endoftext|> (BOS = EOS), or on the continuation\'s own first token when that is it', () => {
    expect(encodeContinuation(tok, '', ' the cat')).toEqual({ context: [eot], continuation: [id('Ġthe'), id('Ġcat')] });
    expect(encodeContinuation(tok, '', '<|endoftext|> the')).toEqual({ context: [eot], continuation: [id('Ġthe')] });
  });

  it('refuses a continuation that the whole text merges into the context (the harness asserts it is non-empty)', () => {
    // "Hello wor" ends in the token "Ġwor"; "Hello world" is [Hello, Ġworld]: nothing is left after 2 tokens.
    expect(() => encodeContinuation(tok, 'Hello wor', 'ld')).toThrow(/adds no tokens after the context/);
    expect(() => encodeContinuation(tok, '  ', 'the')).toThrow(/has no tokens once its trailing whitespace/);
  });
});
