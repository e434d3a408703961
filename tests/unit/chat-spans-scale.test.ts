// A conversation of 100,000 turns tokenizes (ids and trained spans) in time linear in its length: one traced
// render and one tokenization, where rendering and tokenizing each prefix would take days. On this 2-core
// machine 100,000 short turns take about 4 s, most of it @huggingface/tokenizers encoding the text once.

import { expect, test } from 'vitest';
import { detectFormat } from '../../src/engine/data/detect';
import { parseRecords } from '../../src/engine/data/read-records';
import { toSftDataset } from '../../src/engine/data/sft-examples';
import { tokenizeSftDataset } from '../../src/engine/data/tokenize-sft';
import { SMOLLM2_SHAPE, chatTokenizerJson, templatedTokenizer } from '../helpers/chat-template-shapes';

const tokenizer = templatedTokenizer(chatTokenizerJson(), SMOLLM2_SHAPE, {});

function turns(n: number) {
  return Array.from({ length: n }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `Hi ${i % 100}` }));
}

/** Tokenizes one conversation of `n` turns through tokenizeSftDataset; returns the example and the seconds it took. */
function tokenizeConversation(n: number) {
  const messages = turns(n);
  const dataset = toSftDataset(detectFormat(parseRecords(new TextEncoder().encode(JSON.stringify({ messages })), 'long.jsonl'), 'sft'));
  const start = performance.now();
  const out = tokenizeSftDataset(dataset, tokenizer, { maxLength: 1 << 24 });
  const seconds = (performance.now() - start) / 1000;
  expect(out.errors).toEqual([]);
  return { example: out.examples[0], messages, seconds, mismatches: out.boundaryMismatches };
}

test('100,000 turns tokenize in seconds, each assistant turn trained with its end-of-turn token', () => {
  const { example, messages, seconds, mismatches } = tokenizeConversation(100_000);
  console.log(`100,000 turns: ${seconds.toFixed(2)} s, ${example.inputIds.length} tokens`);
  expect(seconds).toBeLessThan(15);
  const trained = example.inputIds.filter((_, t) => example.trainMask[t] === 1);
  const expected = messages.filter((m) => m.role === 'assistant').map((m) => `${m.content}<|im_end|>\n`).join('');
  expect(tokenizer.decode(trained)).toBe(expected);
  expect(mismatches).toBe(0);
}, 60_000);

test('the time grows linearly: 40,000 turns take less than three times 20,000', () => {
  tokenizeConversation(5_000); // warm the JIT
  const best = (n: number) => Math.min(tokenizeConversation(n).seconds, tokenizeConversation(n).seconds);
  const [t20, t40] = [best(20_000), best(40_000)];
  console.log(`20,000 turns: ${t20.toFixed(2)} s; 40,000 turns: ${t40.toFixed(2)} s; ratio ${(t40 / t20).toFixed(2)}`);
  expect(t40 / t20).toBeLessThan(3);
}, 60_000);
