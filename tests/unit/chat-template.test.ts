import { describe, expect, it } from 'vitest';
import { ChatTemplate, ChatTemplateError, hasChatTemplate, renderChat } from '../../src/engine/model/chat-template';
import { parseModelConfig } from '../../src/engine/model/config';
import { ModelFormatError } from '../../src/engine/model/errors';
import { promptIds } from '../../src/engine/model/prompt-ids';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { byteLevelTokenizer } from '../helpers/byte-level-tokenizer';
import { STORIES_BOS, storiesFiles, storiesTokenizer } from '../helpers/stories-tokenizer';

// Written for these tests in the shape of SmolLM2 / Qwen2 templates: ChatML turns, a default system
// message when the conversation has none, the assistant header on add_generation_prompt.
const CHATML =
  "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}" +
  "{{ '<|im_start|>system\\nBe brief.<|im_end|>\\n' }}{% endif %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// Written in the shape of Llama-2's: starts with {{ bos_token }}, rejects non-alternating roles.
const LLAMA2 =
  '{{ bos_token }}{% for message in messages %}' +
  "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
  "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}" +
  "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + ' ' + eos_token }}{% endif %}{% endfor %}";

const user = (content: string) => ({ role: 'user', content });

function chatmlModel(tokenizerConfig: Record<string, unknown>) {
  const { tokenizer, special } = byteLevelTokenizer();
  const config = parseModelConfig({
    architectures: ['Qwen2ForCausalLM'],
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    vocab_size: 512,
    eos_token_id: special['<|im_end|>'],
  });
  const tok = new ModelTokenizer({
    config,
    tokenizer,
    tokenizerConfig: { chat_template: CHATML, bos_token: '<|im_start|>', eos_token: '<|im_end|>', ...tokenizerConfig },
  });
  return { tok, config, special };
}

describe('ChatML template (SmolLM2 / Qwen2 style)', () => {
  it('renders the turns, the default system message and the generation prompt', () => {
    const text = renderChat({ chat_template: CHATML }, [user('Hello')]);
    expect(text).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n');
    const noPrompt = renderChat({ chat_template: CHATML }, [user('Hello')], { addGenerationPrompt: false });
    expect(noPrompt).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n');
  });

  it('encodes the rendered prompt with its special tokens once and no extra BOS', () => {
    const { tok, config, special } = chatmlModel({});
    const ids = promptIds(tok, config, 'Hello', { chat: true });
    const imStart = special['<|im_start|>'];
    expect(ids[0]).toBe(imStart);
    expect(ids.filter((t) => t === imStart)).toHaveLength(3); // system, user, assistant header
    expect(ids.filter((t) => t === special['<|im_end|>'])).toHaveLength(2);
    expect(tok.decode(ids)).toBe(renderChat(tok.tokenizerConfig, [user('Hello')]));
  });

  it('does not double a BOS the rendered text starts with, even when the tokenizer adds BOS', () => {
    const { tok, special } = chatmlModel({ add_bos_token: true });
    const rendered = renderChat(tok.tokenizerConfig, [user('Hello')]);
    const ids = tok.encode(rendered);
    expect(ids.filter((t) => t === special['<|im_start|>'])).toHaveLength(3);
    expect(tok.encode('Hello')[0]).toBe(special['<|im_start|>']); // BOS is added to plain text
  });

  it('puts a system message first when given', () => {
    const { tok, config } = chatmlModel({});
    const text = tok.decode(promptIds(tok, config, 'Hi', { chat: true, system: 'You are a cat.' }));
    expect(text).toBe('<|im_start|>system\nYou are a cat.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  });
});

describe('Llama-2 style template (starts with {{ bos_token }})', () => {
  const tok = storiesTokenizer({ tokenizerConfig: { chat_template: LLAMA2 } });
  const config = storiesFiles().config;

  it('renders bos_token and eos_token from tokenizer_config.json', () => {
    const text = renderChat(tok.tokenizerConfig, [user('Hi'), { role: 'assistant', content: 'Hello' }, user('Tell a story')]);
    expect(text).toBe('<s>[INST] Hi [/INST] Hello </s>[INST] Tell a story [/INST]');
  });

  it('gives exactly one BOS when encoded, with or without special tokens', () => {
    const rendered = renderChat(tok.tokenizerConfig, [user('Tell a story')]);
    for (const ids of [promptIds(tok, config, 'Tell a story', { chat: true }), tok.encode(rendered)]) {
      expect(ids[0]).toBe(STORIES_BOS);
      expect(ids.filter((t) => t === STORIES_BOS)).toHaveLength(1);
    }
  });

  it('turns raise_exception into an error with the template message', () => {
    const run = () => renderChat(tok.tokenizerConfig, [user('a'), user('b')]);
    expect(run).toThrow(ChatTemplateError);
    expect(run).toThrow('tokenizer_config.json: chat_template: Conversation roles must alternate user/assistant/user/assistant/...');
  });

  it('accepts special tokens written as AddedToken objects', () => {
    const config = { chat_template: LLAMA2, bos_token: { content: '<s>', __type: 'AddedToken' }, eos_token: { content: '</s>' } };
    expect(renderChat(config, [user('x'), { role: 'assistant', content: 'y' }])).toBe('<s>[INST] x [/INST] y </s>');
  });
});

describe('chat template selection and errors', () => {
  it('picks "default" from the list-of-named-templates form, or the named one', () => {
    const config = { chat_template: [{ name: 'tool_use', template: 'TOOLS' }, { name: 'default', template: 'DEFAULT {{ messages[0].content }}' }] };
    expect(hasChatTemplate(config)).toBe(true);
    expect(renderChat(config, [user('q')])).toBe('DEFAULT q');
    expect(renderChat(config, [user('q')], { templateName: 'tool_use' })).toBe('TOOLS');
    expect(() => renderChat(config, [user('q')], { templateName: 'rag' })).toThrow(/no template named "rag" \(it has: tool_use, default\)/);
  });

  it('names tokenizer_config.json when the model has no chat template', () => {
    expect(hasChatTemplate({})).toBe(false);
    expect(hasChatTemplate(undefined)).toBe(false);
    expect(() => new ChatTemplate({ bos_token: '<s>' })).toThrow(ModelFormatError);
    expect(() => new ChatTemplate({ bos_token: '<s>' })).toThrow(/^tokenizer_config\.json: has no "chat_template"/);
    expect(() => new ChatTemplate(undefined)).toThrow(/^tokenizer_config\.json: not found/);
    const plain = storiesTokenizer();
    expect(() => promptIds(plain, storiesFiles().config, 'hi', { chat: true })).toThrow(/^tokenizer_config\.json: has no "chat_template"/);
  });

  it('reports a template that cannot be parsed', () => {
    expect(() => new ChatTemplate({ chat_template: '{% for m in messages %}{{ m.content }}' })).toThrow(
      /^tokenizer_config\.json: chat_template: cannot be parsed/,
    );
  });
});

describe('promptIds', () => {
  const tok = storiesTokenizer();
  const config = storiesFiles().config;

  it('starts from BOS alone without text, with or without a tokenizer', () => {
    expect(promptIds(tok, config, undefined)).toEqual([STORIES_BOS]);
    expect(promptIds(tok, config, '')).toEqual([STORIES_BOS]);
    expect(promptIds(undefined, config, undefined)).toEqual([STORIES_BOS]);
  });

  it('encodes text with the special tokens the tokenizer adds', () => {
    expect(promptIds(tok, config, 'Once upon a time')).toEqual(tok.encode('Once upon a time'));
    expect(promptIds(tok, config, 'Once upon a time')[0]).toBe(STORIES_BOS);
  });

  it('names tokenizer.json when text needs a tokenizer the model lacks', () => {
    expect(() => promptIds(undefined, config, 'hello')).toThrow(/^tokenizer\.json: not found/);
  });

  it('names config.json when an empty prompt has no BOS to start from', () => {
    const noBos = parseModelConfig({ model_type: 'gpt2', n_embd: 32, n_head: 4, n_layer: 1, vocab_size: 512 });
    expect(() => promptIds(undefined, noBos, '')).toThrow(/^config\.json: defines no "bos_token_id"/);
  });
});
