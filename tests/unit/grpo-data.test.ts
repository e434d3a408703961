// GRPO's data: which datasets fit GRPO (a prompt column, or GSM8K's question), prompts read as text or
// conversations with every other field kept for the rewards, and tokenized as the rollouts see them: text
// with the tokenizer's BOS, conversations through the chat template with the generation prompt. GSM8K and
// stories260K's tokenizer are read from ../shared at test time.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DatasetMethodError, detectDataset, detectFormat } from '../../src/engine/data/detect';
import { METHOD_FORMATS, methodsForFormat } from '../../src/engine/data/formats';
import { promptField, toPromptDataset, type PromptDataset } from '../../src/engine/data/prompt-examples';
import { parseRecords } from '../../src/engine/data/read-records';
import { tokenizePrompts } from '../../src/engine/data/tokenize-prompts';
import { parseModelConfig } from '../../src/engine/model/config';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { formatFit } from '../../src/ui/data/dataset-labels';
import { byteLevelTokenizer } from '../helpers/byte-level-tokenizer';
import { STORIES_BOS, STORIES_EOS, storiesTokenizer } from '../helpers/stories-tokenizer';

const GSM8K_TRAIN = resolve(__dirname, '../../../shared/assets/datasets/gsm8k/train.jsonl');
const STORIES_GRPO = resolve(__dirname, '../../public/datasets/stories-grpo');
const enc = (s: string) => new TextEncoder().encode(s);
const jsonl = (records: unknown[]) => enc(records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n'));
const prompts = (bytes: Uint8Array, name = 'prompts.jsonl') => toPromptDataset(detectFormat(parseRecords(bytes, name), 'grpo'));
const user = (content: string) => ({ role: 'user', content });

// SmolLM2-Instruct's template: ChatML turns, and a default system turn when the chat has none.
const SMOLLM2_TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
  "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
// stories260K's own special tokens as a chat format: <s>role: content</s> per turn.
const STORIES_CHAT =
  "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system turns') }}{% endif %}{{ bos_token }}{{ m['role'] }}: {{ m['content'] }}{{ eos_token }}{% endfor %}" +
  '{% if add_generation_prompt %}{{ bos_token }}assistant:{% endif %}';

/** A byte-level BPE tokenizer (no BOS) with SmolLM2's chat template and <|im_end|> as EOS. */
function smolTokenizer(): ModelTokenizer {
  const { tokenizer, special } = byteLevelTokenizer();
  const eos = special['<|im_end|>'];
  const config = parseModelConfig({ architectures: ['LlamaForCausalLM'], hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 1, vocab_size: 512, eos_token_id: eos });
  return new ModelTokenizer({ config, tokenizer, tokenizerConfig: { chat_template: SMOLLM2_TEMPLATE, eos_token: '<|im_end|>' } });
}

describe('which datasets GRPO can use', () => {
  test('prompt-only, prompt-completion and question-answer fit GRPO; the Data page says so', () => {
    expect(methodsForFormat('prompt-only')).toEqual(['grpo']);
    expect(methodsForFormat('prompt-completion')).toEqual(['sft', 'grpo']);
    expect(methodsForFormat('question-answer')).toEqual(['grpo']);
    for (const f of ['preference', 'alpaca', 'language-modeling', 'unpaired-preference'] as const) expect(methodsForFormat(f), f).not.toContain('grpo');
    expect(METHOD_FORMATS.grpo.map(promptField)).toEqual(['prompt', 'prompt', 'question']);
    expect(formatFit('question-answer')).toBe('Question-answer (question, answer): fits GRPO');
    expect(formatFit('prompt-only')).toBe('Prompt-only (prompt): fits GRPO');
    expect(formatFit('prompt-completion')).toBe('Prompt-completion: fits SFT and GRPO');
  });

  test('GSM8K (question, answer) is a question-answer dataset: every record a prompt, the answer a field', () => {
    const bytes = new Uint8Array(readFileSync(GSM8K_TRAIN));
    const d = prompts(bytes, 'train.jsonl');
    expect(d.format).toBe('question-answer');
    expect(promptField(d.format)).toBe('question');
    expect(d.errors).toEqual([]);
    expect(d.examples).toHaveLength(7473);
    const [first, last] = [d.examples[0], d.examples.at(-1)!];
    expect(first.line).toBe(1);
    expect(first.prompt).toMatch(/^Natalia sold clips to 48 of her friends in April/);
    expect(Object.keys(first.fields)).toEqual(['answer']);
    expect(first.fields.answer).toMatch(/\n#### 72$/);
    expect(last.line).toBe(7473);
    // For SFT it is refused as a whole, naming what SFT needs and that it fits GRPO.
    expect(() => detectFormat(parseRecords(bytes, 'train.jsonl'), 'sft')).toThrow(
      /^train\.jsonl: is a question-answer \(\{"question", "answer"\}\) dataset; SFT needs .* This dataset fits GRPO\.$/,
    );
  });

  test('a preference or Alpaca dataset for GRPO is refused, naming the prompt column it lacks or what else it is', () => {
    const refusal = (records: object[], name: string) => {
      try {
        detectFormat(parseRecords(jsonl(records), name), 'grpo');
      } catch (err) {
        expect(err).toBeInstanceOf(DatasetMethodError);
        return (err as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refusal([{ instruction: 'a', output: 'b' }], 'alpaca.jsonl')).toMatch(
      /^alpaca\.jsonl: is an Alpaca .* dataset; GRPO needs prompt-only, prompt-completion or question-answer records: the nearest, .* is missing "prompt".* This dataset fits SFT\.$/,
    );
    expect(refusal([{ prompt: 'a', chosen: 'b', rejected: 'c' }], 'pairs.jsonl')).toMatch(
      /^pairs\.jsonl: is a preference .*: these have the fields of prompt-only \(\{"prompt"\}\), but "chosen" and "rejected" make them preference records\. This dataset fits DPO, SimPO and ORPO\.$/,
    );
  });
});

describe('prompt records', () => {
  test('a text prompt and a conversation prompt, every other field kept as written', () => {
    const d = prompts(
      jsonl([
        { prompt: 'This is a story about Sue.\nOnce upon a time,', name: 'Sue', kind: 'girl', n: 3, tags: ['a'] },
        { prompt: [{ role: 'system', content: 'Be brief.' }, user('Name a colour.')], answer: 'red', extra: null },
      ]),
    );
    expect(d.format).toBe('prompt-only');
    expect(d.examples).toEqual([
      { line: 1, prompt: 'This is a story about Sue.\nOnce upon a time,', fields: { name: 'Sue', kind: 'girl', n: 3, tags: ['a'] } },
      {
        line: 2,
        prompt: [
          { role: 'system', content: 'Be brief.', train: false },
          { role: 'user', content: 'Name a colour.', train: false },
        ],
        fields: { answer: 'red', extra: null },
      },
    ]);
  });

  test('a prompt-completion record: the prompt is the prompt, the completion is a field for the rewards', () => {
    const d = prompts(jsonl([{ prompt: 'Setting: a cave.\n', completion: 'Once upon a time, in a cave, ...' }]));
    expect(d.format).toBe('prompt-completion');
    expect(d.examples).toEqual([{ line: 1, prompt: 'Setting: a cave.\n', fields: { completion: 'Once upon a time, in a cave, ...' } }]);
  });

  test('bad records are errors naming the line and the field; the rest of the dataset is kept', () => {
    const d = prompts(
      jsonl([
        { prompt: 'ok', name: 'Amy' },
        { prompt: 5 },
        { prompt: [{ role: 'user' }] },
        { prompt: [user('Hi'), { role: 'assistant', content: 'Hello' }] },
        '{"prompt": "unterminated',
        { text: 'a language-modeling record' },
        { prompt: [] },
        { prompt: 'fine too' },
      ]),
    );
    expect(d.examples.map((e) => e.line)).toEqual([1, 8]);
    expect(d.errors).toEqual([
      { line: 2, message: 'field "prompt" must be a string or a list of messages' },
      { line: 3, message: 'prompt[0].content must be a string or a list of text parts' },
      { line: 4, message: 'field "prompt" ends with an assistant message (prompt[1]): the model writes the assistant\'s reply, so the prompt must end before it' },
      { line: 5, message: expect.stringMatching(/^not valid JSON/) },
      { line: 6, message: 'is a language modeling ({"text"} or {"messages"}) record in a prompt-only ({"prompt"}) dataset' },
      { line: 7, message: 'prompt must be a non-empty list of messages' },
    ]);
  });

  test('a dataset of a format GRPO cannot read is refused by toPromptDataset too', () => {
    const detected = detectDataset(parseRecords(jsonl([{ prompt: 'a', chosen: 'b', rejected: 'c' }]), 'pairs.jsonl'));
    expect(() => toPromptDataset(detected)).toThrow('format preference has no prompt column for GRPO');
  });
});

describe('tokenized prompts', () => {
  test('text on a Llama tokenizer: BOS once, no EOS, the ids of the whole text; fields pass through', () => {
    const tok = storiesTokenizer();
    const out = tokenizePrompts(prompts(jsonl([{ prompt: 'Once upon a time', name: 'Sue' }, { prompt: '<s>Once upon a time' }])), tok);
    expect(out.errors).toEqual([]);
    expect(out.examples[0]).toEqual({ line: 1, prompt: [STORIES_BOS, 403, 407, 261, 378], promptText: 'Once upon a time', fields: { name: 'Sue' } });
    // Text that already starts with BOS does not get a second one.
    expect(out.examples[1].prompt).toEqual([STORIES_BOS, 403, 407, 261, 378]);
    expect(out.examples.flatMap((e) => e.prompt)).not.toContain(STORIES_EOS);
  });

  test('GSM8K questions encode as the tokenizer encodes them, the answer left for the reward', () => {
    const tok = storiesTokenizer();
    const d = prompts(new Uint8Array(readFileSync(GSM8K_TRAIN)), 'train.jsonl');
    const head: PromptDataset = { ...d, examples: d.examples.slice(0, 20) };
    const out = tokenizePrompts(head, tok);
    expect(out.errors).toEqual([]);
    expect(out.examples).toHaveLength(20);
    for (const [i, e] of out.examples.entries()) {
      expect(e.prompt).toEqual(tok.encode(head.examples[i].prompt as string));
      expect(e.prompt[0]).toBe(STORIES_BOS);
      expect(e.promptText).toBe(head.examples[i].prompt);
      expect(e.fields.answer).toMatch(/#### -?[\d,.]+$/);
    }
  });

  test("a conversation through SmolLM2's template: default system turn, the user turn, the generation prompt", () => {
    const tok = smolTokenizer();
    const out = tokenizePrompts(prompts(jsonl([{ prompt: [user('Hello')], answer: 'world' }])), tok);
    const [e] = out.examples;
    const rendered = '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n';
    expect(e.promptText).toBe(rendered);
    expect(tok.decode(e.prompt)).toBe(rendered);
    expect(e.prompt).toEqual(tok.encode(rendered, { addSpecialTokens: false }));
    // The special tokens are single ids, not their characters.
    expect(e.prompt.filter((id) => id === tok.tokenId('<|im_start|>'))).toHaveLength(3);
    expect(e.prompt.at(-1)).toBe(tok.encode('\n', { addSpecialTokens: false })[0]);
    expect(e.fields).toEqual({ answer: 'world' });
  });

  test('a template passed in replaces the model\'s; its raise_exception is that record\'s error', () => {
    const tok = storiesTokenizer();
    const d = prompts(jsonl([{ prompt: [user('Hi')] }, { prompt: [{ role: 'system', content: 'x' }, user('Hi')] }, { prompt: 'plain text' }]));
    const out = tokenizePrompts(d, tok, STORIES_CHAT);
    expect(out.examples.map((e) => e.line)).toEqual([1, 3]);
    expect(out.examples[0].promptText).toBe('<s>user: Hi</s><s>assistant:');
    expect(out.examples[0].prompt[0]).toBe(STORIES_BOS);
    expect(out.examples[0].prompt.filter((id) => id === STORIES_BOS)).toHaveLength(2);
    expect(out.examples[0].prompt).toEqual(tok.encode('<s>user: Hi</s><s>assistant:', { addSpecialTokens: false }));
    expect(out.errors).toEqual([{ line: 2, message: 'tokenizer_config.json: chat_template: no system turns' }]);
  });

  test('conversations on a model without a chat template: the dataset is refused as a whole, naming it', () => {
    const d = prompts(jsonl([{ prompt: [user('Hi')] }]), 'chats.jsonl');
    expect(() => tokenizePrompts(d, storiesTokenizer())).toThrow(/^chats\.jsonl: its prompts are conversations, which need a chat template: tokenizer_config\.json: has no "chat_template"/);
    // Text prompts need none.
    expect(tokenizePrompts(prompts(jsonl([{ prompt: 'Hi' }])), storiesTokenizer()).examples).toHaveLength(1);
  });

  test('an empty text prompt is BOS alone on Llama, and an error where the tokenizer adds no BOS', () => {
    expect(tokenizePrompts(prompts(jsonl([{ prompt: '' }])), storiesTokenizer()).examples[0].prompt).toEqual([STORIES_BOS]);
    const out = tokenizePrompts(prompts(jsonl([{ prompt: '' }, { prompt: 'the cat' }])), smolTokenizer());
    expect(out.errors).toEqual([{ line: 1, message: 'has an empty prompt: this tokenizer adds no BOS, so there is no token to sample after' }]);
    expect(out.examples.map((e) => e.line)).toEqual([2]);
  });
});

describe("the sample task (scripts/make-grpo-dataset.mjs)", () => {
  const read = (split: string) => prompts(new Uint8Array(readFileSync(resolve(STORIES_GRPO, `${split}.jsonl`))), `${split}.jsonl`);

  test('prompt-only records naming a character; held-out name x animal pairs never occur in training', () => {
    const [train, held] = [read('train'), read('eval')];
    for (const d of [train, held]) {
      expect(d.format).toBe('prompt-only');
      expect(d.errors).toEqual([]);
      for (const e of d.examples) {
        expect(e.prompt).toBe(`This is a story about ${e.fields.name} the ${e.fields.animal}.\n${(e.prompt as string).split('\n')[1]}`);
        expect((e.prompt as string).split('\n')[1]).toMatch(/^Once upon a time,( there was)?$/);
      }
    }
    expect([train.examples.length, held.examples.length]).toEqual([240, 80]);
    const pair = (e: { fields: Record<string, unknown> }) => `${e.fields.name} the ${e.fields.animal}`;
    const trainPairs = new Set(train.examples.map(pair));
    expect(held.examples.filter((e) => trainPairs.has(pair(e)))).toEqual([]);
    // Every held-out name and animal is trained on, in other pairs.
    const trainNames = new Set(train.examples.map((e) => e.fields.name));
    const trainAnimals = new Set(train.examples.map((e) => e.fields.animal));
    expect(held.examples.every((e) => trainNames.has(e.fields.name) && trainAnimals.has(e.fields.animal))).toBe(true);
    // No name hides inside another (contains={name} would credit "Tim" in "Timmy").
    const names = [...trainNames] as string[];
    expect(names.filter((a) => names.some((b) => a !== b && b.includes(a)))).toEqual([]);
  });
});
