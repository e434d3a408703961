// Trained spans of conversations (chat-spans.ts) against the render-each-prefix method tokenize-sft used
// before: the same ids, the same masks and the same mismatch counts, on templates in the shapes of SmolLM2,
// Qwen2.5, Llama 3, Gemma, Zephyr, Llama 2 and Qwen3, with a byte-level tokenizer and stories260K's real
// sentencepiece one; and the number of renders, which shows which conversations took the one-render path.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { chatSpans } from '../../src/engine/data/chat-spans';
import type { ChatMessage } from '../../src/engine/data/messages';
import { detectFormat } from '../../src/engine/data/detect';
import { parseRecords } from '../../src/engine/data/read-records';
import { toSftDataset } from '../../src/engine/data/sft-examples';
import { tokenizeSftDataset } from '../../src/engine/data/tokenize-sft';
import { ChatTemplate } from '../../src/engine/model/chat-template';
import type { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { Rng } from '../../src/engine/util/rng';
import {
  GEMMA_SHAPE,
  LAST_TURN_EOS_SHAPE,
  LLAMA2_SHAPE,
  LLAMA3_SHAPE,
  QWEN25_SHAPE,
  QWEN3_SHAPE,
  SMOLLM2_SHAPE,
  STORIES_SHAPE,
  TRACER_TRAPS,
  ZEPHYR_SHAPE,
  chatTokenizerJson,
  referenceChatMask,
  templatedTokenizer,
} from '../helpers/chat-template-shapes';
import { STORIES260K_DIR } from '../helpers/tiny-models';

const storiesJson = JSON.parse(readFileSync(join(STORIES260K_DIR, 'tokenizer.json'), 'utf8'));
const STORIES_TOKENS = { bos_token: '<s>', eos_token: '</s>' };

const CONTENTS = [
  'Hello world',
  'the cat sat on the mat.',
  '',
  '   ',
  '  leading and trailing  ',
  'two\nlines\n\nand a gap',
  'numbers 12345 and 3.14',
  'unicode é 中文 🙂',
  "it's a 'quote' and \"another\"",
  'tab\tseparated',
  'ends with newline\n',
];

interface Turn {
  role: string;
  content: string;
  loss_weight?: number;
}

/** A conversation: optional system turn, then user/assistant (alternating or not), tool results, loss weights. */
function conversation(rng: Rng, options: { alternate: boolean; system: boolean; tools: boolean; specials: string[]; turns: number }): Turn[] {
  const turns: Turn[] = [];
  const content = () => {
    if (options.specials.length > 0 && rng.next() < 0.05) return `mentions ${options.specials[rng.int(options.specials.length)]} inside`;
    return CONTENTS[rng.int(CONTENTS.length)] + (rng.next() < 0.5 ? ` ${rng.int(1000)}` : '');
  };
  if (options.system && rng.next() < 0.5) turns.push({ role: 'system', content: content() });
  const n = options.turns + rng.int(7);
  for (let i = 0; i < n; i++) {
    let role = i % 2 === 0 ? 'user' : 'assistant';
    if (!options.alternate && rng.next() < 0.25) role = rng.next() < 0.5 ? 'user' : 'assistant';
    if (options.tools && role === 'user' && i > 0 && rng.next() < 0.3) role = 'tool';
    const turn: Turn = { role, content: content() };
    // LLaMA-Factory's per-message loss_weight: sometimes an assistant turn is not trained, or a user turn is.
    if (rng.next() < 0.15) turn.loss_weight = role === 'assistant' ? 0 : 1;
    turns.push(turn);
  }
  return turns;
}

function messagesOf(turns: Turn[]): ChatMessage[] {
  return turns.map((t) => ({ role: t.role, content: t.content, train: t.loss_weight !== undefined ? t.loss_weight > 0 : t.role === 'assistant' }));
}

/** Renders when every prefix is placed: two per kind (generation prompt or not, role of the last message), and a trained first message's start. */
function sampledRenders(messages: ChatMessage[]): number {
  const kinds = new Map<string, number>();
  const count = (key: string) => kinds.set(key, (kinds.get(key) ?? 0) + 1);
  let firstStart = 0;
  messages.forEach((m, i) => {
    if (!m.train) return;
    if (i === 0) firstStart = 1;
    else count(`start:${messages[i - 1].role}`);
    count(`end:${m.role}`);
  });
  return firstStart + [...kinds.values()].reduce((sum, n) => sum + Math.min(n, 2), 0);
}

function spansMask(tokenizer: ModelTokenizer, messages: ChatMessage[]) {
  const { ids, spans, mismatches } = chatSpans(new ChatTemplate(tokenizer.tokenizerConfig), tokenizer, messages);
  const mask = new Array<number>(ids.length).fill(0);
  for (const { start, end } of spans) for (let t = start; t < end; t++) mask[t] = 1;
  return { ids, mask, mismatches };
}

interface Shape {
  name: string;
  tokenizer: () => ModelTokenizer;
  alternate: boolean;
  system: boolean;
  tools?: boolean;
  /**
   * How many prefixes are rendered: 'sampled' (the first two of each kind, whatever the length), 'some' (also
   * those the trace cannot place, e.g. next to tool results), 'all' (two per trained turn, as before).
   */
  renders: 'sampled' | 'some' | 'all';
  specials: string[];
}

const byteLevel = chatTokenizerJson();
const SHAPES: Shape[] = [
  { name: 'SmolLM2', tokenizer: () => templatedTokenizer(byteLevel, SMOLLM2_SHAPE, {}), alternate: false, system: true, renders: 'sampled', specials: ['<|im_start|>', '<|im_end|>'] },
  { name: 'Qwen2.5', tokenizer: () => templatedTokenizer(byteLevel, QWEN25_SHAPE, {}), alternate: false, system: true, renders: 'sampled', specials: ['<|im_end|>'] },
  { name: 'Qwen2.5 with tool results', tokenizer: () => templatedTokenizer(byteLevel, QWEN25_SHAPE, {}), alternate: false, system: true, tools: true, renders: 'some', specials: [] },
  { name: 'Llama 3', tokenizer: () => templatedTokenizer(byteLevel, LLAMA3_SHAPE, { bos_token: '<|begin_of_text|>' }), alternate: false, system: true, renders: 'sampled', specials: ['<|eot_id|>'] },
  { name: 'Gemma', tokenizer: () => templatedTokenizer(byteLevel, GEMMA_SHAPE, { bos_token: '<bos>' }), alternate: true, system: false, renders: 'sampled', specials: ['<end_of_turn>'] },
  { name: 'Zephyr (byte-level)', tokenizer: () => templatedTokenizer(byteLevel, ZEPHYR_SHAPE, { eos_token: '<|endoftext|>' }), alternate: false, system: true, renders: 'sampled', specials: [] },
  { name: 'Zephyr (stories260K)', tokenizer: () => templatedTokenizer(storiesJson, ZEPHYR_SHAPE, STORIES_TOKENS), alternate: false, system: true, renders: 'sampled', specials: [] },
  { name: 'Llama 2 (stories260K)', tokenizer: () => templatedTokenizer(storiesJson, LLAMA2_SHAPE, STORIES_TOKENS), alternate: true, system: true, renders: 'sampled', specials: [] },
  { name: 'stories260K chat', tokenizer: () => templatedTokenizer(storiesJson, STORIES_SHAPE, STORIES_TOKENS), alternate: false, system: true, renders: 'sampled', specials: ['</s>'] },
  { name: 'Qwen3', tokenizer: () => templatedTokenizer(byteLevel, QWEN3_SHAPE, {}), alternate: false, system: true, renders: 'all', specials: [] },
  { name: 'last turn ends differently', tokenizer: () => templatedTokenizer(byteLevel, LAST_TURN_EOS_SHAPE, {}), alternate: false, system: true, renders: 'some', specials: [] },
];

afterEach(() => {
  vi.restoreAllMocks();
});

describe('chatSpans equals rendering every prefix', () => {
  for (const shape of SHAPES) {
    test(shape.name, () => {
      const tokenizer = shape.tokenizer();
      const rng = new Rng(1234);
      const renders = vi.spyOn(ChatTemplate.prototype, 'render');
      let rendered = 0;
      let asBefore = 0;
      for (let c = 0; c < 40; c++) {
        // Long enough for the saving to show where only some prefixes are rendered.
        const turns = shape.renders === 'some' ? 24 : 2;
        const messages = messagesOf(conversation(rng, { alternate: shape.alternate, system: shape.system, tools: shape.tools ?? false, specials: shape.specials, turns }));
        const reference = referenceChatMask(tokenizer, messages);
        renders.mockClear();
        const got = spansMask(tokenizer, messages);
        expect(got.ids, `conversation ${c}`).toEqual(reference.ids);
        expect(got.mask, `conversation ${c}`).toEqual(reference.mask);
        expect(got.mismatches, `conversation ${c}`).toBe(reference.mismatches);
        const trained = messages.filter((m) => m.train).length;
        if (shape.renders === 'sampled') expect(renders.mock.calls.length, `conversation ${c}`).toBeLessThanOrEqual(sampledRenders(messages));
        if (shape.renders === 'all') expect(renders.mock.calls.length, `conversation ${c}`).toBe(2 * trained);
        rendered += renders.mock.calls.length;
        asBefore += 2 * trained;
      }
      if (shape.renders === 'some') expect(rendered).toBeLessThan(asBefore);
    });
  }

  test('templates whose prefixes render differently from the start of the whole (tracer traps)', () => {
    for (const [name, template] of Object.entries(TRACER_TRAPS)) {
      const tokenizer = templatedTokenizer(byteLevel, template, {});
      const rng = new Rng(7);
      for (let c = 0; c < 25; c++) {
        const turns = conversation(rng, { alternate: false, system: true, tools: false, specials: [], turns: 6 });
        if (name === 'continue and break' && rng.next() < 0.3) turns[2 + rng.int(turns.length - 2)].content = 'stop';
        const messages = messagesOf(turns);
        const outcome = (spans: () => unknown) => {
          try {
            return spans();
          } catch (err) {
            return (err as Error).message; // e.g. messages[-1] of an empty prefix: both methods render it
          }
        };
        expect(outcome(() => spansMask(tokenizer, messages)), `${name}, conversation ${c}`).toEqual(outcome(() => referenceChatMask(tokenizer, messages)));
      }
    }
  });

  test('tokenizers whose added tokens strip the spaces next to them, or whose Metaspace marks the first section only', () => {
    const stripping = chatTokenizerJson();
    stripping.added_tokens = (stripping.added_tokens as Record<string, unknown>[]).map((t) =>
      t.content === '<|im_start|>' ? { ...t, lstrip: true } : t.content === '<|im_end|>' ? { ...t, rstrip: true } : t,
    );
    const metaspaceFirst = { ...storiesJson, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false } };
    const cases = [
      { name: 'lstrip / rstrip', tokenizer: templatedTokenizer(stripping, SMOLLM2_SHAPE, {}) },
      { name: 'lstrip / rstrip, Qwen3', tokenizer: templatedTokenizer(stripping, QWEN3_SHAPE, {}) },
      { name: 'Metaspace first, Zephyr', tokenizer: templatedTokenizer(metaspaceFirst, ZEPHYR_SHAPE, STORIES_TOKENS) },
      { name: 'Metaspace first, stories', tokenizer: templatedTokenizer(metaspaceFirst, STORIES_SHAPE, STORIES_TOKENS) },
    ];
    for (const { name, tokenizer } of cases) {
      const rng = new Rng(31);
      for (let c = 0; c < 20; c++) {
        const messages = messagesOf(conversation(rng, { alternate: false, system: true, tools: false, specials: [' <|im_end|> ', '</s>'], turns: 4 }));
        expect(spansMask(tokenizer, messages), `${name}, conversation ${c}`).toEqual(referenceChatMask(tokenizer, messages));
      }
    }
  });

  test('through tokenizeSftDataset: ids, masks and boundary mismatches as before', () => {
    const tokenizer = templatedTokenizer(byteLevel, QWEN25_SHAPE, {});
    const rng = new Rng(99);
    const records = Array.from({ length: 30 }, () => ({ messages: conversation(rng, { alternate: false, system: true, tools: true, specials: [], turns: 2 }) }));
    const bytes = new TextEncoder().encode(records.map((r) => JSON.stringify(r)).join('\n'));
    const dataset = toSftDataset(detectFormat(parseRecords(bytes, 'chats.jsonl'), 'sft'));
    const out = tokenizeSftDataset(dataset, tokenizer, { maxLength: 1 << 20 });
    let mismatches = 0;
    const expected = dataset.examples.flatMap(({ example }) => {
      if (example.kind !== 'chat') throw new Error('expected chats');
      const ref = referenceChatMask(tokenizer, example.messages);
      mismatches += ref.mismatches;
      return ref.mask.some((m, i) => m === 1 && i > 0) ? [{ inputIds: ref.ids, trainMask: ref.mask }] : [];
    });
    expect(out.examples.map(({ inputIds, trainMask }) => ({ inputIds, trainMask }))).toEqual(expected);
    expect(out.boundaryMismatches).toBe(mismatches);
  });

  test('a long conversation that the template does not render turn by turn is refused, not rendered prefix by prefix', () => {
    // Qwen3's shape reads messages|length before its loop: no prefix can be placed from one render.
    const tokenizer = templatedTokenizer(byteLevel, QWEN3_SHAPE, {});
    const messages: ChatMessage[] = Array.from({ length: 3000 }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `turn ${i}`, train: i % 2 === 1 }));
    const start = performance.now();
    expect(() => spansMask(tokenizer, messages)).toThrow(
      /^is a conversation of 3,?000 messages that the chat template does not render turn by turn \(a turn's text changes once later turns follow\), so its trained spans need a render of each prefix: more than [\d,]+ characters of work, the limit for a conversation of [\d,]+ characters; split it into shorter conversations$/,
    );
    // Rendering every prefix of it (the method before) takes minutes; the refusal comes after a bounded amount of work.
    expect(performance.now() - start).toBeLessThan(5000);
  });
});
