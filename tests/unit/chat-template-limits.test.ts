// Hostile chat templates (tokenizer_config.json "chat_template" from a model repository) stop at a render
// limit with a message naming the file, the field and the limit: loops that never end, text or lists that
// double, and built-in calls asked for a huge result; a dataset stops at the first record instead of waiting
// once per record; legitimate templates render as before.

import { describe, expect, test } from 'vitest';
import { detectFormat } from '../../src/engine/data/detect';
import { parseRecords } from '../../src/engine/data/read-records';
import { toSftDataset } from '../../src/engine/data/sft-examples';
import { tokenizeSftDataset } from '../../src/engine/data/tokenize-sft';
import { ChatTemplate, ChatTemplateError, ChatTemplateLimitError } from '../../src/engine/model/chat-template';
import { parseModelConfig } from '../../src/engine/model/config';
import { promptIds } from '../../src/engine/model/prompt-ids';
import { MAX_RENDER_CHARS, MAX_TEMPLATE_ITEMS, RENDER_BASE_MS } from '../../src/engine/model/template-runtime';
import { SMOLLM2_SHAPE, chatTokenizerJson, templatedTokenizer } from '../helpers/chat-template-shapes';

const HELLO = [{ role: 'user', content: 'Hello' }];
const CONFIG = parseModelConfig({ architectures: ['Qwen2ForCausalLM'], hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 1024 });
const WHERE = 'tokenizer_config.json: chat_template: ';
const NESTED = '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}';

/** Renders `template` and returns the error it stopped with and how long that took. */
function stopped(template: string, messages = HELLO): { error: ChatTemplateLimitError; ms: number } {
  const chat = new ChatTemplate({ chat_template: template });
  const start = performance.now();
  try {
    chat.render(messages);
  } catch (error) {
    expect(error).toBeInstanceOf(ChatTemplateLimitError);
    return { error: error as ChatTemplateLimitError, ms: performance.now() - start };
  }
  throw new Error('the template rendered to its end');
}

/** `{% set ns.s %}` doubled `times` times from 'ab': a text of 2^(times+1) characters. */
const doubled = (times: number) => `{% set ns = namespace(s='ab') %}{% for i in range(${times}) %}{% set ns.s = ns.s + ns.s %}{% endfor %}`;

describe('chat template render limits', () => {
  test('range(10**9) is refused before the list is built', () => {
    const { error, ms } = stopped('{% for i in range(10**9) %}x{% endfor %}');
    expect(error.limit).toBe('list');
    expect(error.message).toBe(
      `${WHERE}rendering stopped: range(0, 1000000000, 1) would build a list of 1,000,000,000 items, over the limit of ${(MAX_TEMPLATE_ITEMS + 1).toLocaleString('en-US')}`,
    );
    expect(ms).toBeLessThan(1000);
  });

  test('nested loops stop at the time limit, and the template is not run again', () => {
    const chat = new ChatTemplate({ chat_template: NESTED });
    const start = performance.now();
    expect(() => chat.render(HELLO)).toThrow(`${WHERE}rendering stopped after 2,000 ms, the time limit for this render`);
    const ms = performance.now() - start;
    expect(ms).toBeGreaterThanOrEqual(RENDER_BASE_MS);
    expect(ms).toBeLessThan(RENDER_BASE_MS + 2500);
    // Nor by another instance: the next dataset preview or evaluation does not hold the worker again.
    const again = performance.now();
    expect(() => chat.render(HELLO)).toThrow(/time limit for this render.*\(on an earlier render: the template is not run again\)/);
    expect(() => new ChatTemplate({ chat_template: NESTED }).render(HELLO)).toThrow(/\(on an earlier render: the template is not run again\)/);
    expect(performance.now() - again).toBeLessThan(100);
  });

  test('a string doubled in a loop stops at the text limit', () => {
    const { error, ms } = stopped(`${doubled(64)}{{ ns.s }}`);
    expect(error.limit).toBe('text');
    expect(error.message).toBe(
      `${WHERE}rendering stopped: the template built a text of 134,217,728 characters, over the limit of ${MAX_RENDER_CHARS.toLocaleString('en-US')} characters; it may build text without end (for example by doubling a string in a loop)`,
    );
    expect(ms).toBeLessThan(2000);
  });

  test('a loop that writes a long text many times stops at the limit on what a render writes', () => {
    const { error } = stopped(`${doubled(20)}{% for i in range(200000) %}{{ ns.s }}{% endfor %}`);
    expect(error.limit).toBe('text');
    expect(error.message).toContain(`the template wrote more than ${MAX_RENDER_CHARS.toLocaleString('en-US')} characters`);
  });

  test('a list doubled in a loop stops at the list limit', () => {
    const { error } = stopped('{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|length }}');
    expect(error.limit).toBe('list');
    expect(error.message).toContain('the template built a list of 524,288 items');
  });

  test('replace, indent and join asked for a huge result are refused before they run', () => {
    const replace = stopped(`${doubled(19)}{{ ns.s.replace('', ns.s) }}`);
    expect(replace.error.message).toBe(`${WHERE}rendering stopped: replace() would build a text of 1,099,513,724,928 characters, over the limit of ${MAX_RENDER_CHARS.toLocaleString('en-US')}`);
    expect(replace.ms).toBeLessThan(500);
    const filter = stopped(`${doubled(19)}{{ ns.s | replace('a', ns.s) }}`);
    expect(filter.error.message).toContain('replace() would build a text of 549,756,338,176 characters');
    const indent = stopped("{{ 'a\\nb\\nc' | indent(500000000) }}");
    expect(indent.error.message).toContain('indent() would build a text of 1,500,000,005 characters');
    expect(indent.ms).toBeLessThan(500);
    const join = stopped(`${doubled(20)}{% set ns.l = [ns.s] %}{% for i in range(7) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | join(',') }}`);
    expect(join.error.message).toContain('join() would build a text of 268,435,583 characters');
  });

  test('legitimate templates render as before, exceptions included', () => {
    const chat = new ChatTemplate({ chat_template: SMOLLM2_SHAPE });
    expect(chat.render(HELLO)).toBe('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n');
    const small = new ChatTemplate({ chat_template: "{{ 'x' | indent(4) }}{{ 'a-b'.replace('-', ' ') }}{{ ['a', 'b'] | join(', ') }}{% for i in range(3) %}{{ i }}{% endfor %}" });
    expect(small.render(HELLO)).toBe('xa ba, b012');
    const raising = new ChatTemplate({ chat_template: "{{ raise_exception('Roles must alternate') }}" });
    expect(() => raising.render(HELLO)).toThrow(new ChatTemplateError('Roles must alternate'));
  });

  test("a chat prompt (the CLI's generate --chat and the studio's chat) stops at the same limit", () => {
    const tokenizer = templatedTokenizer(chatTokenizerJson(), doubled(64), {});
    expect(() => promptIds(tokenizer, CONFIG, 'Hello', { chat: true })).toThrow(`${WHERE}rendering stopped: the template built a text of 134,217,728 characters`);
  });

  test('a dataset with a hostile template stops once, at its first record, naming the template', () => {
    const tokenizer = templatedTokenizer(chatTokenizerJson(), '{% for i in range(10**9) %}{% endfor %}', {});
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }] }));
    const dataset = toSftDataset(detectFormat(parseRecords(new TextEncoder().encode(lines.join('\n')), 'chats.jsonl'), 'sft'));
    expect(() => tokenizeSftDataset(dataset, tokenizer, { maxLength: 256 })).toThrow(`${WHERE}rendering stopped: range(0, 1000000000, 1) would build a list`);
  });
});
