// Chat templates written for the tests in the shapes of real models' templates (the constructs they use, not
// their text), a byte-level tokenizer that knows their special tokens, and the render-each-prefix span
// method that tokenize-sft used before chat-spans.ts, kept here as the reference the new one must equal.

import { ChatTemplate } from '../../src/engine/model/chat-template';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { parseModelConfig } from '../../src/engine/model/config';
import { byteSymbols } from '../../src/engine/demo/byte-level-merges';
import { byteLevelTokenizerJson } from '../../src/engine/demo/byte-level-tokenizer-json';
import type { ChatMessage } from '../../src/engine/data/messages';

/** SmolLM2-Instruct's shape: ChatML, a default system turn on loop.first that reads messages[0]. */
export const SMOLLM2_SHAPE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
  "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Qwen2.5-Instruct's shape: the system turn before the loop, tool results grouped by looking at neighbours. */
export const QWEN25_SHAPE = `{%- if messages[0]['role'] == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- else %}
    {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant") %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}`;

/** Llama 3.x's shape: the system message taken out with messages[1:], header tokens, contents trimmed. */
export const LLAMA3_SHAPE = `{{- bos_token }}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{{- "Knowledge cutoff: 2023\\n\\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}`;

/** Gemma's shape: assistant renamed "model", roles must alternate (raise_exception otherwise). */
export const GEMMA_SHAPE =
  "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
  "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}" +
  "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}";

/** Zephyr / TinyLlama-Chat's shape: plain-text role tags, EOS after each turn, the prompt added on loop.last. */
export const ZEPHYR_SHAPE = `{% for message in messages %}
{% if message['role'] == 'user' %}
{{ '<|user|>\\n' + message['content'] + eos_token }}
{% elif message['role'] == 'system' %}
{{ '<|system|>\\n' + message['content'] + eos_token }}
{% elif message['role'] == 'assistant' %}
{{ '<|assistant|>\\n'  + message['content'] + eos_token }}
{% endif %}
{% if loop.last and add_generation_prompt %}
{{ '<|assistant|>' }}
{% endif %}
{% endfor %}`;

/** Llama 2's shape: the system message folded into the first user turn, [INST] in plain text, BOS per exchange. */
export const LLAMA2_SHAPE =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}" +
  '{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}' +
  "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
  "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}" +
  "{% else %}{% set content = message['content'] %}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}" +
  "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

/** Qwen3's shape: a backward pass finds the last user turn, and earlier assistant turns render differently. */
export const QWEN3_SHAPE = `{%- set ns = namespace(last_query_index=messages|length - 1) %}
{%- for message in messages %}
    {%- if message.role == "user" %}
        {%- set ns.last_query_index = loop.index0 %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.role == "assistant" and loop.index0 > ns.last_query_index %}
        {{- '<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n' + message.content + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}`;

/** A template that ends the last assistant turn of a conversation with an extra token (loop.last changes a turn). */
export const LAST_TURN_EOS_SHAPE =
  "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] }}" +
  "{% if loop.last and m['role'] == 'assistant' %}{{ '<|endoftext|>' }}{% endif %}{{ '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The stories260K chat format of tokenize-sft.test.ts: <s>role: content</s> per turn. */
export const STORIES_SHAPE =
  "{% for m in messages %}{{ bos_token }}{{ m['role'] }}: {{ m['content'] }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}{{ bos_token }}assistant:{% endif %}";

export const CHAT_SPECIALS = [
  '<|endoftext|>',
  '<|im_start|>',
  '<|im_end|>',
  '<|begin_of_text|>',
  '<|start_header_id|>',
  '<|end_header_id|>',
  '<|eot_id|>',
  '<bos>',
  '<start_of_turn>',
  '<end_of_turn>',
] as const;

const MERGED_WORDS = ['Hello', 'Ġworld', 'Ġthe', 'user', 'assistant', 'system', 'Ġturn', 'ĊĊ', 'ĠĠ'];

/** A byte-level BPE tokenizer.json (GPT-2's alphabet, a few merges) with the special tokens of the shapes above. */
export function chatTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  byteSymbols().forEach((c, b) => (vocab[c] = b));
  const merges: string[] = [];
  for (const word of MERGED_WORDS) {
    let left = word[0];
    for (const ch of word.slice(1)) {
      if (vocab[left + ch] === undefined) {
        merges.push(`${left} ${ch}`);
        vocab[left + ch] = Object.keys(vocab).length;
      }
      left += ch;
    }
  }
  const first = Object.keys(vocab).length;
  return byteLevelTokenizerJson(
    vocab,
    merges,
    CHAT_SPECIALS.map((content, i) => ({ id: first + i, content })),
  );
}

const CONFIG = parseModelConfig({
  architectures: ['Qwen2ForCausalLM'],
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 1,
  num_attention_heads: 4,
  vocab_size: 1024,
});

/** A ModelTokenizer for `tokenizer` (a tokenizer.json object) whose tokenizer_config.json holds `template`. */
export function templatedTokenizer(tokenizer: Record<string, unknown>, template: string, tokens: Record<string, string>): ModelTokenizer {
  return new ModelTokenizer({ config: CONFIG, tokenizer, tokenizerConfig: { chat_template: template, ...tokens } });
}

/** The spans as tokenize-sft found them before (each prefix rendered and tokenized): the reference. */
export function referenceChatMask(tokenizer: ModelTokenizer, messages: readonly ChatMessage[]): { ids: number[]; mask: number[]; mismatches: number } {
  const template = new ChatTemplate(tokenizer.tokenizerConfig);
  const renderIds = (m: readonly ChatMessage[], addGenerationPrompt: boolean) => tokenizer.encode(template.render(m, { addGenerationPrompt }), { addSpecialTokens: false });
  let mismatches = 0;
  const boundary = (prefix: number[], full: number[]) => {
    let n = 0;
    while (n < prefix.length && n < full.length && prefix[n] === full[n]) n++;
    if (n !== prefix.length) mismatches++;
    return n;
  };
  const ids = renderIds(messages, false);
  const mask = new Array<number>(ids.length).fill(0);
  messages.forEach((m, i) => {
    if (!m.train) return;
    const start = boundary(renderIds(messages.slice(0, i), true), ids);
    const end = boundary(renderIds(messages.slice(0, i + 1), false), ids);
    for (let t = start; t < end; t++) mask[t] = 1;
  });
  return { ids, mask, mismatches };
}

/**
 * Templates that use every construct the tracer must follow (see template-trace.ts), each in a way that makes
 * a prefix render differently from the start of the whole: spans must still equal the reference.
 */
export const TRACER_TRAPS: Record<string, string> = {
  'loop.last on a user turn':
    "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content }}{% if loop.last and m.role == 'user' %}{{ ' (last)' }}{% endif %}{{ '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  'the last message read in the loop':
    "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content }}{% if messages[-1].role == 'assistant' %}{{ '.' }}{% endif %}{{ '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  // Marks only prefixes whose length is a multiple of 3: the first prefixes, rendered as samples, agree.
  'loop.length':
    "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content }}{% if loop.length % 3 == 0 %}{{ '*' }}{% endif %}{{ '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  'messages|length before the loop':
    "{% set ns = namespace(mark=(messages|length) % 3 == 0) %}{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content }}{% if ns.mark %}{{ '*' }}{% endif %}{{ '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  'state read after the loop, for some lengths':
    "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}" +
    "{% if ns.n % 3 == 0 %}{{ '*' }}{% endif %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  'state read after the loop':
    "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant ' + (ns.n|string) + '\\n' }}{% endif %}",
  'a filtered loop':
    "{% for m in messages if m.role != 'system' %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  'continue and break':
    "{% for m in messages %}{% if m.role == 'system' %}{{ 'dropped' }}{% continue %}{% endif %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}" +
    "{% if m.content == 'stop' %}{% break %}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  'a macro per turn':
    "{% macro turn(m) %}{{ '<|im_start|>' + m.role + '\\n' + m.content|trim + '<|im_end|>\\n' }}{% endmacro %}{% for m in messages %}{{ turn(m) }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  'all but the last message looped over':
    "{% for m in messages[:-1] %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}" +
    "{{ '<|im_start|>' + messages[-1].role + '\\n' + messages[-1].content + '<|im_end|>\\n' }}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  'the next message looked at':
    "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content }}{% if loop.nextitem is defined and loop.nextitem.role == m.role %}{{ ' +' }}{% endif %}{{ '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
};
