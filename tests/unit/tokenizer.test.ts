import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../src/engine/model/config';
import { ModelFormatError } from '../../src/engine/model/errors';
import { resolveBosTokenId, resolveEosTokenIds } from '../../src/engine/model/generation-options';
import { StreamDecoder } from '../../src/engine/model/stream-decoder';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { byteLevelTokenizer } from '../helpers/byte-level-tokenizer';
import { STORIES_BOS, STORIES_EOS, storiesFiles, storiesTokenizer } from '../helpers/stories-tokenizer';

const count = (ids: number[], id: number) => ids.filter((t) => t === id).length;

/** A Qwen2-style model around the byte-level tokenizer (no BOS added, <|endoftext|> ends text). */
function byteLevelModel(tokenizerConfig: Record<string, unknown> = {}) {
  const { tokenizer, special } = byteLevelTokenizer();
  const config = parseModelConfig({
    architectures: ['Qwen2ForCausalLM'],
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    vocab_size: 512,
    eos_token_id: special['<|endoftext|>'],
    bos_token_id: special['<|endoftext|>'],
  });
  const model = new ModelTokenizer({ config, tokenizer, tokenizerConfig: { eos_token: '<|endoftext|>', bos_token: null, ...tokenizerConfig } });
  return { model, special };
}

/** Pushes ids one at a time; returns the deltas (the last one from flush). */
function stream(decoder: StreamDecoder, ids: number[]): string[] {
  const deltas = ids.map((id) => decoder.push(id));
  deltas.push(decoder.flush());
  return deltas;
}

describe('ModelTokenizer on stories260K (sentencepiece BPE with byte fallback, add_bos_token true)', () => {
  const tok = storiesTokenizer();
  const text = 'Once upon a time, there was a little girl.';

  it('adds exactly one BOS, where the post-processor would add one too', () => {
    const ids = tok.encode(text);
    expect(ids[0]).toBe(STORIES_BOS);
    expect(count(ids, STORIES_BOS)).toBe(1);
    expect(ids.slice(1)).toEqual(tok.encode(text, { addSpecialTokens: false }));
    expect(tok.addsBos).toBe(true);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(text);
    expect(tok.decode(ids)).toBe(`<s> ${text}`);
  });

  it('never doubles a BOS that the text already starts with', () => {
    const ids = tok.encode('<s>Once upon a time');
    expect(ids[0]).toBe(STORIES_BOS);
    expect(count(ids, STORIES_BOS)).toBe(1);
  });

  it('honours add_bos_token false over the post-processor that adds <s>', () => {
    const off = storiesTokenizer({ tokenizerConfig: { add_bos_token: false } });
    const files = storiesFiles();
    // The library alone follows tokenizer.json's TemplateProcessing and adds <s>: the config must win.
    expect(new Tokenizer(files.tokenizer!, files.tokenizerConfig!).encode(text).ids[0]).toBe(STORIES_BOS);
    expect(off.encode(text)).toEqual(tok.encode(text, { addSpecialTokens: false }));
    expect(off.addsBos).toBe(false);
  });

  it('honours add_eos_token: one </s> at the end, not doubled', () => {
    const eos = storiesTokenizer({ tokenizerConfig: { add_eos_token: true } });
    const ids = eos.encode(text);
    expect(ids[0]).toBe(STORIES_BOS);
    expect(ids.at(-1)).toBe(STORIES_EOS);
    expect(count(ids, STORIES_EOS)).toBe(1);
    expect(count(eos.encode(`${text}</s>`), STORIES_EOS)).toBe(1);
  });

  it('round-trips multi-byte text through byte-fallback tokens', () => {
    const s = 'naïve café 😀';
    const ids = tok.encode(s, { addSpecialTokens: false });
    expect(ids.map((id) => tok.tokenText(id))).toContain('<0xF0>');
    expect(tok.decode(ids)).toBe(s);
  });

  it('reads BOS, EOS and special tokens from the files', () => {
    expect(tok.bosTokenId).toBe(STORIES_BOS);
    expect(tok.eosTokenIds).toEqual([STORIES_EOS]);
    expect(tok.bosToken).toBe('<s>');
    expect(tok.eosToken).toBe('</s>');
    expect(tok.specialTokens.unk_token).toBe('<unk>');
    expect(tok.decode([])).toBe('');
  });

  it('takes special tokens written as AddedToken objects', () => {
    const t = storiesTokenizer({ tokenizerConfig: { bos_token: { content: '<s>', lstrip: false, __type: 'AddedToken' } } });
    expect(t.bosToken).toBe('<s>');
    expect(t.encode('hi')[0]).toBe(STORIES_BOS);
  });

  it('names tokenizer.json when it is missing', () => {
    const files = { ...storiesFiles(), tokenizer: undefined };
    expect(() => new ModelTokenizer(files)).toThrow(ModelFormatError);
    expect(() => new ModelTokenizer(files)).toThrow(/^tokenizer\.json: not found in .*stories260K/);
    expect(ModelTokenizer.optional(files)).toBeUndefined();
  });
});

describe('EOS and BOS resolution', () => {
  it('prefers generation_config.json, then config.json, then tokenizer_config.json', () => {
    expect(storiesTokenizer({ generationConfig: { eos_token_id: [2, 5] } }).eosTokenIds).toEqual([2, 5]);
    expect(storiesTokenizer({ generationConfig: null, config: { eos_token_id: 7 } }).eosTokenIds).toEqual([7]);
    const fromTokenizer = storiesTokenizer({ generationConfig: null, config: { eos_token_id: null, bos_token_id: null } });
    expect(fromTokenizer.eosTokenIds).toEqual([STORIES_EOS]); // "</s>" looked up in the vocabulary
    expect(fromTokenizer.bosTokenId).toBe(STORIES_BOS);
  });

  it('finds token ids in added_tokens_decoder without tokenizer.json', () => {
    const files = storiesFiles({
      generationConfig: null,
      config: { eos_token_id: null, bos_token_id: null },
      tokenizerConfig: { added_tokens_decoder: { '1': { content: '<s>', special: true }, '9': { content: '</s>', special: true } } },
    });
    expect(resolveEosTokenIds(files)).toEqual([9]);
    expect(resolveBosTokenId(files)).toBe(1);
  });

  it('names generation_config.json when its eos_token_id is malformed', () => {
    expect(() => storiesTokenizer({ generationConfig: { eos_token_id: 'x' } })).toThrow(/^generation_config\.json: field "eos_token_id"/);
  });
});

describe('ModelTokenizer on a byte-level BPE (Qwen2 / GPT-2 style: no BOS)', () => {
  it('adds no BOS when neither the post-processor nor add_bos_token asks for one', () => {
    const { model, special } = byteLevelModel();
    const ids = model.encode('Hello world');
    expect(ids).toEqual(model.encode('Hello world', { addSpecialTokens: false }));
    expect(ids).not.toContain(special['<|endoftext|>']);
    expect(model.addsBos).toBe(false);
    expect(model.decode(ids)).toBe('Hello world');
  });

  it('adds BOS once when add_bos_token is true (GPT-2 with add_bos_token)', () => {
    const { model, special } = byteLevelModel({ add_bos_token: true, bos_token: '<|endoftext|>' });
    const bos = special['<|endoftext|>'];
    const ids = model.encode('Hello world');
    expect(ids[0]).toBe(bos);
    expect(count(ids, bos)).toBe(1);
    expect(count(model.encode('<|endoftext|>Hello'), bos)).toBe(1);
  });

  it('names tokenizer_config.json when add_bos_token has no BOS token to add', () => {
    const { tokenizer } = byteLevelTokenizer();
    const config = parseModelConfig({ model_type: 'gpt2', n_embd: 32, n_head: 4, n_layer: 1, vocab_size: 512 });
    expect(() => new ModelTokenizer({ config, tokenizer, tokenizerConfig: { add_bos_token: true } })).toThrow(
      /^tokenizer_config\.json: add_bos_token is true but no BOS token/,
    );
  });
});

describe('StreamDecoder', () => {
  const tok = storiesTokenizer();

  it('streams stories260K text with sentencepiece spaces right', () => {
    const text = 'Once upon a time, there was a little girl named Lily. She loved to play.';
    const ids = tok.encode(text);
    const deltas = stream(new StreamDecoder(tok), ids);
    expect(deltas.join('')).toBe(tok.decode(ids, { skipSpecialTokens: true }));
    expect(deltas.join('')).toBe(text);
    // Decoding each token alone loses the spaces: the test would catch a decoder that did that.
    expect(ids.map((id) => tok.decode([id], { skipSpecialTokens: true })).join('')).not.toBe(text);
  });

  it('never emits half of a multi-byte character (byte-fallback tokens)', () => {
    const text = 'naïve café 😀';
    const ids = tok.encode(text, { addSpecialTokens: false });
    const deltas = stream(new StreamDecoder(tok), ids);
    expect(deltas.join('')).toBe(text);
    expect(deltas.join('')).toBe(tok.decode(ids));
    for (const d of deltas) expect(d).not.toContain('\ufffd');
    // The emoji's four byte tokens give nothing until the last one completes it.
    const emojiBytes = ids.slice(-4).map((id) => tok.tokenText(id));
    expect(emojiBytes).toEqual(['<0xF0>', '<0x9F>', '<0x98>', '<0x80>']);
    expect(deltas.slice(-5, -2)).toEqual(['', '', '']);
    expect(deltas.at(-2)).toBe('😀');
  });

  it('does the same through a byte-level (GPT-2 style) decoder', () => {
    const { model } = byteLevelModel();
    const text = 'naïve café 😀 the cat';
    const ids = model.encode(text);
    const deltas = stream(new StreamDecoder(model), ids);
    expect(deltas.join('')).toBe(text);
    for (const d of deltas) expect(d).not.toContain('\ufffd');
  });

  it('keeps the leading space of the first new token after the prompt context', () => {
    const prompt = tok.encode('Once upon a');
    const next = tok.encode(' time there', { addSpecialTokens: false }).slice(1); // drop the lone "▁"
    expect(tok.tokenText(next[0])).toBe('▁time');
    const deltas = stream(new StreamDecoder(tok, { context: prompt }), next);
    expect(deltas[0]).toBe(' time');
    expect(deltas.join('')).toBe(' time there');
  });

  it('flushes a byte that never became a character as U+FFFD, like decode()', () => {
    const ids = [...tok.encode('ok', { addSpecialTokens: false }), tok.tokenId('<0xF0>')!];
    const deltas = stream(new StreamDecoder(tok), ids);
    expect(deltas.at(-2)).toBe('');
    expect(deltas.at(-1)).toBe('\ufffd');
    expect(deltas.join('')).toBe(tok.decode(ids));
  });

  it('agrees with decode() when clean_up_tokenization_spaces rewrites " ." and " n\'t"', () => {
    const cleaning = storiesTokenizer({ tokenizerConfig: { clean_up_tokenization_spaces: true } });
    const ids = cleaning.encode("a cat . he is n't here , ok ? yes ! it 's done", { addSpecialTokens: false });
    const decoded = cleaning.decode(ids);
    expect(decoded).toBe("a cat. he isn't here, ok? yes! it's done"); // the clean-up really happens
    expect(stream(new StreamDecoder(cleaning), ids).join('')).toBe(decoded);
  });

  it('leaves special tokens out by default and keeps them on request', () => {
    const ids = [STORIES_BOS, ...tok.encode('Hi there', { addSpecialTokens: false }), STORIES_EOS];
    expect(stream(new StreamDecoder(tok), ids).join('')).toBe('Hi there');
    expect(stream(new StreamDecoder(tok, { skipSpecialTokens: false }), ids).join('')).toBe(tok.decode(ids));
  });
});
