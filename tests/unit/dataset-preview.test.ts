// The Data page's token preview on stories260K's real tokenizer: each token's text (pieces joined give the
// decoded example), the train mask of the engine's tokenization (completion and the appended EOS for
// prompt-completion; the assistant turn with its end-of-turn token through a chat template), truncation,
// and chat data refused for a model without a chat template. Preference pairs: exactly the prompt, chosen
// and rejected ids tokenizePreferenceDataset gives training (the sample's first pair, chats, token ids),
// the answers trained and the prompt not, cuts flagged, and pairs training drops explained in place.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { PreferenceDataset, PreferenceRecord } from '../../src/engine/data/preference-examples';
import type { SftRecord } from '../../src/engine/data/sft-examples';
import { tokenizePreferenceDataset } from '../../src/engine/data/tokenize-preference';
import type { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { previewRecords, tokenPieces } from '../../src/worker/dataset-preview';
import { PREVIEW_MAX_PROMPT_LENGTH, previewPairs } from '../../src/worker/dataset-preview-pairs';
import type { PairPreview, PreviewToken } from '../../src/worker/protocol-datasets';
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

const SAMPLE_PAIRS = resolve(__dirname, '../../public/datasets/stories-preference/train.jsonl');

/** The first pair of the preference sample, as the import normalises it (a TRL text pair). */
function firstSamplePair(): PreferenceRecord {
  const first = JSON.parse(readFileSync(SAMPLE_PAIRS, 'utf8').split('\n')[0]) as { prompt: string; chosen: string; rejected: string };
  return { line: 1, example: { kind: 'text', ...first } };
}

/** What training uses for this pair: tokenizePreferenceDataset over a dataset that holds it. */
function trainingPair(record: PreferenceRecord, tok: ModelTokenizer, maxLength: number) {
  const dataset: PreferenceDataset = { file: 'train.jsonl', format: 'preference', examples: [record], errors: [], errorCount: 0, identical: 0 };
  return tokenizePreferenceDataset(dataset, tok, { maxLength, maxPromptLength: PREVIEW_MAX_PROMPT_LENGTH });
}

const ids = (tokens: PreviewToken[]) => tokens.map((t) => t.id);
const textOf = (tokens: PreviewToken[]) => tokens.map((t) => t.text).join('');
const marks = (p: PairPreview) => ({ prompt: p.prompt.map((t) => t.trained), chosen: p.chosen.map((t) => t.trained), rejected: p.rejected.map((t) => t.trained) });

describe('preference pair preview', () => {
  test("the sample's first pair: the ids training uses, the prompt untrained, both answers trained up to EOS", () => {
    const tok = storiesTokenizer();
    const record = firstSamplePair();
    const [p] = previewPairs([record], 'preference', tok, 256);
    const [pair] = trainingPair(record, tok, 256).pairs;
    expect(p.error).toBeUndefined();
    expect(p.line).toBe(1);
    expect({ prompt: ids(p.prompt), chosen: ids(p.chosen), rejected: ids(p.rejected) }).toEqual({ prompt: pair.prompt, chosen: pair.chosen, rejected: pair.rejected });
    expect(marks(p)).toEqual({ prompt: pair.prompt.map(() => false), chosen: pair.chosen.map(() => true), rejected: pair.rejected.map(() => true) });
    expect([p.truncated, p.promptTruncated]).toEqual([false, false]);

    expect(p.prompt[0]).toEqual({ id: STORIES_BOS, text: '<s>', trained: false });
    // Llama's decoder writes the space of "▁Setting" after <s>.
    expect(textOf(p.prompt)).toBe('<s> Setting: a busy meadow.\n');
    expect(textOf(p.chosen)).toBe(`${(record.example as { chosen: string }).chosen}</s>`);
    expect(textOf(p.rejected)).toBe(`${(record.example as { rejected: string }).rejected}</s>`);
    expect(textOf(p.chosen)).toMatch(/^Once upon a time, in a busy meadow,/);
    expect(textOf(p.rejected)).toMatch(/^Once upon a time, in a busy library,/);
    expect([p.chosen.at(-1)!.id, p.rejected.at(-1)!.id]).toEqual([STORIES_EOS, STORIES_EOS]);
  });

  test('a short maximum length cuts the answers (flagged) exactly as training does', () => {
    const tok = storiesTokenizer();
    const record = firstSamplePair();
    const full = previewPairs([record], 'preference', tok, 256)[0];
    // The answers first differ at their 14th token ("meadow" / "library"): cut after 16 they still differ.
    const maxLength = full.prompt.length + 16;
    const [cut] = previewPairs([record], 'preference', tok, maxLength);
    const [pair] = trainingPair(record, tok, maxLength).pairs;
    expect(cut.truncated).toBe(true);
    expect(cut.prompt).toEqual(full.prompt);
    expect(cut.chosen).toEqual(full.chosen.slice(0, 16));
    expect(cut.rejected).toEqual(full.rejected.slice(0, 16));
    expect([ids(cut.chosen), ids(cut.rejected)]).toEqual([pair.chosen, pair.rejected]);
  });

  test('pairs training drops say why in place; the others on the page still render', () => {
    const tok = storiesTokenizer();
    const record = firstSamplePair();
    const promptTokens = previewPairs([record], 'preference', tok, 256)[0].prompt.length;
    // "Once upon a time, in a " is shared: cut before the setting, chosen and rejected are the same ids.
    const [same] = previewPairs([record], 'preference', tok, promptTokens + 4);
    expect(trainingPair(record, tok, promptTokens + 4)).toMatchObject({ pairs: [], identical: 1 });
    expect(same).toMatchObject({ line: 1, prompt: [], chosen: [], rejected: [] });
    expect(same.error).toBe(`has the same chosen and rejected tokens within the maximum length of ${promptTokens + 4} tokens, so training skips it`);

    const [noRoom, other] = previewPairs([record, { ...record, line: 2, example: { kind: 'text', prompt: 'Hi', chosen: ' yes', rejected: ' no' } }], 'preference', tok, promptTokens);
    expect(noRoom.error).toBe(`has a prompt of ${promptTokens} tokens, which leaves no room for an answer within the maximum length of ${promptTokens} tokens`);
    expect(other.error).toBeUndefined();
    expect(other.chosen.every((t) => t.trained)).toBe(true);
  });

  test('a prompt over the prompt limit keeps its last tokens, flagged', () => {
    const tok = storiesTokenizer();
    const long: PreferenceRecord = { line: 4, example: { kind: 'text', prompt: 'the cat sat. '.repeat(200), chosen: 'Yes.', rejected: 'No.' } };
    const [p] = previewPairs([long], 'preference', tok, 4096);
    const [pair] = trainingPair(long, tok, 4096).pairs;
    expect(p.promptTruncated).toBe(true);
    expect(p.prompt).toHaveLength(PREVIEW_MAX_PROMPT_LENGTH);
    expect(ids(p.prompt)).toEqual(pair.prompt);
    expect(p.truncated).toBe(false);
  });

  test('chat pairs go through the chat template (refused as a whole without one); token pairs are used as given', () => {
    const chat: PreferenceRecord = {
      line: 2,
      example: {
        kind: 'chat',
        prompt: [{ role: 'user', content: 'Tell a story.', train: false }],
        chosen: [{ role: 'assistant', content: 'Once upon a time.', train: true }],
        rejected: [{ role: 'assistant', content: 'No.', train: true }],
      },
    };
    expect(() => previewPairs([chat], 'preference', storiesTokenizer(), 64)).toThrow(/preference pairs are conversations, and the loaded model has no chat template/);
    const tok = storiesTokenizer({ tokenizerConfig: { chat_template: CHAT_TEMPLATE } });
    const [p] = previewPairs([chat], 'preference', tok, 64);
    const [pair] = trainingPair(chat, tok, 64).pairs;
    expect([ids(p.prompt), ids(p.chosen), ids(p.rejected)]).toEqual([pair.prompt, pair.chosen, pair.rejected]);
    expect(textOf(p.prompt)).toMatch(/user: Tell a story\.<\/s><s> ?assistant:$/);
    expect(textOf(p.chosen).trim()).toBe('Once upon a time.</s>');
    expect(marks(p).prompt.every((m) => !m)).toBe(true);

    const tokens: PreferenceRecord = { line: 5, example: { kind: 'tokens', prompt: [1, 400], chosen: [401, 2], rejected: [402, 403, 2] } };
    const [t] = previewPairs([tokens], 'pre-tokenized-preference', storiesTokenizer(), 64);
    expect([ids(t.prompt), ids(t.chosen), ids(t.rejected)]).toEqual([
      [1, 400],
      [401, 2],
      [402, 403, 2],
    ]);
  });
});
