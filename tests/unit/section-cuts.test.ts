// Where a text can be cut and its parts tokenized apart with the tokens of the whole (section-cuts.ts): each
// answer is checked against @huggingface/tokenizers itself, encode(text) against encode(left) ++ encode(right).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { chatTokenizerJson, templatedTokenizer } from '../helpers/chat-template-shapes';
import { STORIES260K_DIR } from '../helpers/tiny-models';

type Json = Record<string, unknown>;

function withAddedTokens(json: Json, change: (t: Json) => Json): Json {
  return { ...json, added_tokens: (json.added_tokens as Json[]).map(change) };
}

const tokenizer = (json: Json) => templatedTokenizer(json, '', {});
const ids = (t: ModelTokenizer, text: string) => t.encode(text, { addSpecialTokens: false });
const splitsEvenly = (t: ModelTokenizer, text: string, at: number) => {
  const whole = ids(t, text);
  const parts = [...ids(t, text.slice(0, at)), ...ids(t, text.slice(at))];
  return whole.length === parts.length && whole.every((id, i) => id === parts[i]);
};

const byteLevel = chatTokenizerJson();
const stories = JSON.parse(readFileSync(join(STORIES260K_DIR, 'tokenizer.json'), 'utf8')) as Json;
const TEXT = 'Hello<|im_end|>\n<|im_start|>user\n hi';
const BEFORE_START = TEXT.indexOf('<|im_start|>');
const AFTER_END = TEXT.indexOf('<|im_end|>') + '<|im_end|>'.length;

describe('SectionCuts', () => {
  test('right before or after an added token the parts tokenize as the whole', () => {
    const t = tokenizer(byteLevel);
    for (const at of [0, 5, AFTER_END, BEFORE_START, TEXT.length]) {
      expect(t.sectionCuts.cutsAt(TEXT, at), `at ${at}`).toBe(true);
      expect(splitsEvenly(t, TEXT, at), `at ${at}`).toBe(true);
    }
  });

  test('inside plain text or inside an added token there is no safe cut', () => {
    const t = tokenizer(byteLevel);
    for (const at of [2, 8, TEXT.length - 2]) expect(t.sectionCuts.cutsAt(TEXT, at), `at ${at}`).toBe(false);
    expect(splitsEvenly(t, TEXT, 8)).toBe(false); // inside <|im_end|>
  });

  test('a token that strips the space before it (lstrip) or after it (rstrip) moves the cut', () => {
    const lstrip = tokenizer(withAddedTokens(byteLevel, (a) => (a.content === '<|im_start|>' ? { ...a, lstrip: true } : a)));
    expect(lstrip.sectionCuts.cutsAt(TEXT, BEFORE_START)).toBe(false);
    expect(splitsEvenly(lstrip, TEXT, BEFORE_START)).toBe(false);
    const rstrip = tokenizer(withAddedTokens(byteLevel, (a) => (a.content === '<|im_end|>' ? { ...a, rstrip: true } : a)));
    expect(rstrip.sectionCuts.cutsAt(TEXT, AFTER_END)).toBe(false);
    expect(splitsEvenly(rstrip, TEXT, AFTER_END)).toBe(false);
    expect(rstrip.sectionCuts.cutsAt(TEXT, BEFORE_START)).toBe(true);
    expect(splitsEvenly(rstrip, TEXT, BEFORE_START)).toBe(true);
  });

  test('an added token that spans the cut makes it unsafe', () => {
    const t = tokenizer({ ...byteLevel, added_tokens: [...(byteLevel.added_tokens as Json[]), { id: 999, content: '\n<|im_start|>', special: true, normalized: false }] });
    expect(t.sectionCuts.cutsAt(TEXT, BEFORE_START)).toBe(false);
    expect(splitsEvenly(t, TEXT, BEFORE_START)).toBe(false);
  });

  test("after a token, Metaspace's prepend_scheme \"first\" treats the first section apart; a Prepend normalizer does not", () => {
    const text = 'Once</s>upon a time';
    const at = text.indexOf('upon');
    const prepend = tokenizer(stories);
    expect(prepend.sectionCuts.cutsAt(text, at)).toBe(true);
    expect(splitsEvenly(prepend, text, at)).toBe(true);
    const first = tokenizer({ ...stories, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false } });
    expect(first.sectionCuts.cutsAt(text, at)).toBe(false);
    expect(splitsEvenly(first, text, at)).toBe(false);
    expect(first.sectionCuts.cutsAt(text, text.indexOf('</s>'))).toBe(true);
    expect(splitsEvenly(first, text, text.indexOf('</s>'))).toBe(true);
  });
});
