// The Data page's token preview on stories260K's real tokenizer: each token's text (pieces joined give the
// decoded example), the train mask of the engine's tokenization (completion and the appended EOS for
// prompt-completion; the assistant turn with its end-of-turn token through a chat template), truncation,
// and chat data refused for a model without a chat template.

import { describe, expect, test } from 'vitest';
import type { SftRecord } from '../../src/engine/data/sft-examples';
import { previewRecords, tokenPieces } from '../../src/worker/dataset-preview';
import { STORIES_BOS, STORIES_EOS, storiesTokenizer } from '../helpers/stories-tokenizer';

const CHAT_TEMPLATE =
  "{% for m in messages %}{{ bos_token }}{{ m['role'] }}: {{ m['content'] }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}{{ bos_token }}assistant:{% endif %}";

const completion = 'Once upon a time, in a rainy forest, there was a little frog.';
const promptCompletion: SftRecord = { line: 7, example: { kind: 'prompt-completion', prompt: 'Setting: a rainy forest.\n', completion } };

describe('token preview', () => {
  test('pieces joined give the decoded text; a character spelled in byte tokens shows on the last one', () => {
    const tok = storiesTokenizer();
    const text = 'Setting: a rainy forest.\nOnce upon a time, Tim said "hi" 3 × 4.';
    const ids = tok.encode(text);
    const pieces = tokenPieces(tok, ids);
    expect(pieces).toHaveLength(ids.length);
    expect(pieces[0]).toBe('<s>');
    expect(pieces).toContain('\n');
    // "×" is U+00D7, two UTF-8 bytes (C3 97): the first byte token shows its spelling, the second the character.
    const at = pieces.indexOf('<0xC3>');
    expect(at).toBeGreaterThan(0);
    expect(pieces[at + 1]).toBe('×');
    expect(pieces.filter((_, i) => i !== at).join('')).toBe(tok.decode(ids));
  });

  test('prompt-completion: the completion and the appended EOS are trained, the prompt is not', () => {
    const tok = storiesTokenizer();
    const [p] = previewRecords([promptCompletion], 'prompt-completion', tok, 512);
    expect(p.line).toBe(7);
    expect(p.truncated).toBe(false);
    expect(p.error).toBeUndefined();
    expect(p.tokens[0]).toEqual({ id: STORIES_BOS, text: '<s>', trained: false });
    const last = p.tokens.at(-1)!;
    expect(last).toEqual({ id: STORIES_EOS, text: '</s>', trained: true });
    const trained = p.tokens.filter((t) => t.trained).map((t) => t.text).join('');
    const context = p.tokens.filter((t) => !t.trained).map((t) => t.text).join('');
    expect(trained.trim()).toBe(`${completion}</s>`);
    // Llama's decoder writes the space of "▁Setting" after <s>.
    expect(context).toBe('<s> Setting: a rainy forest.\n');
    // Trained tokens form one run at the end.
    const firstTrained = p.tokens.findIndex((t) => t.trained);
    expect(p.tokens.slice(firstTrained).every((t) => t.trained)).toBe(true);
  });

  test('maxLength cuts the tokens and flags the example', () => {
    const tok = storiesTokenizer();
    const full = previewRecords([promptCompletion], 'prompt-completion', tok, 512)[0];
    const [cut] = previewRecords([promptCompletion], 'prompt-completion', tok, 5);
    expect(cut.truncated).toBe(true);
    expect(cut.tokens).toEqual(full.tokens.slice(0, 5));
  });

  test('chat data: the assistant turn and its end-of-turn token are trained through the chat template', () => {
    const tok = storiesTokenizer({ tokenizerConfig: { chat_template: CHAT_TEMPLATE } });
    const chat: SftRecord = {
      line: 2,
      example: {
        kind: 'chat',
        messages: [
          { role: 'user', content: 'Tell a story.', train: false },
          { role: 'assistant', content: 'Once upon a time.', train: true },
        ],
      },
    };
    const [p] = previewRecords([chat], 'language-modeling', tok, 512);
    const trained = p.tokens.filter((t) => t.trained);
    expect(trained.map((t) => t.text).join('').trim()).toBe('Once upon a time.</s>');
    expect(trained.at(-1)!.id).toBe(STORIES_EOS);
    // The user's turn ends with EOS too, untrained.
    expect(p.tokens.filter((t) => t.id === STORIES_EOS).map((t) => t.trained)).toEqual([false, true]);
  });

  test('chat data without a chat template is refused as a whole; other failures are per example', () => {
    const chat: SftRecord = { line: 1, example: { kind: 'chat', messages: [{ role: 'assistant', content: 'Hi', train: true }] } };
    expect(() => previewRecords([chat], 'language-modeling', storiesTokenizer(), 64)).toThrow(/no chat template/);
    const tokens: SftRecord = { line: 3, example: { kind: 'tokens', inputIds: [1, 5, 6], completionMask: [0, 0, 0] } };
    const [p] = previewRecords([tokens], 'pre-tokenized', storiesTokenizer(), 64);
    expect(p.tokens).toEqual([]);
    expect(p.error).toMatch(/no trained token/);
  });
});
