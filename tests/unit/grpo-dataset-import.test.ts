// The studio's third dataset family: prompt-only files (prompt as text or messages) and GSM8K's
// question/answer read at import as GRPO prompts with their other fields, saved as method-'grpo' records
// (through IndexedDB as plain data), read back as the same engine prompts, previewed as the rollouts see
// them, and read by a GRPO run split as the Data page says. The stories-grpo sample is read at test time.

import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { getDataset, listDatasetSummaries, putDataset } from '../../src/storage/datasets-store';
import { openStudioDb, type StudioDb } from '../../src/storage/db';
import type { DatasetRecord } from '../../src/storage/records';
import { fitsText, formatFit, recordCount } from '../../src/ui/data/dataset-labels';
import { DraftStore } from '../../src/worker/dataset-drafts';
import { PREVIEW_MAX_FIELD_CHARS, previewPrompts } from '../../src/worker/dataset-preview-prompts';
import { readDatasetFile } from '../../src/worker/dataset-read';
import { datasetRecord, engineDataset, type MethodDataset } from '../../src/worker/dataset-records';
import { evalIndices } from '../../src/worker/dataset-split';
import { grpoPrompts } from '../../src/worker/run-grpo-data';
import { datasetMismatch } from '../../src/worker/run-method';
import { STORIES_BOS, storiesTokenizer } from '../helpers/stories-tokenizer';

const STORIES_GRPO = resolve(__dirname, '../../public/datasets/stories-grpo/train.jsonl');
/** Read from ../shared at run time, never copied into the repository. */
const GSM8K_TEST = resolve(__dirname, '../../../shared/assets/datasets/gsm8k/test.jsonl');

const enc = (s: string) => new TextEncoder().encode(s);
const jsonl = (records: unknown[]) => enc(records.map((r) => JSON.stringify(r)).join('\n'));
const HEADER = { id: 'g1', name: 'prompts', source: 'prompts.jsonl', createdAt: '2026-12-07T00:00:00.000Z', split: { evalFraction: 0.25, seed: 5 } };

// A plain "role: content" template written for these tests; the generation prompt opens the assistant's turn.
const ROLE_TEMPLATE = "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant:' }}{% endif %}";
const tokenizer = storiesTokenizer();
const chatTokenizer = storiesTokenizer({ tokenizerConfig: { chat_template: ROLE_TEMPLATE } });

function grpo(imported: MethodDataset) {
  if (imported.method !== 'grpo') throw new Error(`read as ${imported.method}, not grpo`);
  return imported.dataset;
}

const STRING_PROMPTS = [
  { prompt: 'This is a story about Teddy the duck.\nOnce upon a time,', name: 'Teddy', animal: 'duck' },
  { prompt: 'This is a story about Amy the frog.\nOnce upon a time,', name: 'Amy', animal: 'frog', tags: ['pond', 2], meta: { wet: true } },
  { prompt: 42, note: 'not a prompt' },
  { prompt: 'This is a story about Sam the cat.\nOnce upon a time,', name: 'Sam', animal: 'cat' },
];

const CHAT_PROMPTS = [
  {
    prompt: [
      { role: 'system', content: 'Answer with a number.' },
      { role: 'user', content: 'What is 2 + 3?' },
    ],
    answer: '5',
  },
  { prompt: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }], answer: 'x' },
  { prompt: [{ from: 'human', value: 'What is 4 + 4?' }], answer: '8' },
];

const GSM8K = [
  {
    question: 'Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?',
    answer: 'Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72',
  },
  { question: 'Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?', answer: 'Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\n#### 10' },
];

describe('prompt-only and question-answer files import as GRPO prompts', () => {
  test('text prompts: method grpo, fits GRPO only, every other field kept for the rewards, a bad prompt named by line', () => {
    const imported = readDatasetFile(jsonl(STRING_PROMPTS), 'prompts.jsonl');
    const draft = new DraftStore().add('prompts.jsonl', imported);
    expect(draft).toMatchObject({ format: 'prompt-only', method: 'grpo', methods: ['grpo'], examples: 3, identical: 0 });
    // The bad line's "note" is not listed: only usable prompts reach the rewards.
    expect(draft.rewardFields).toEqual(['name', 'animal', 'tags', 'meta']);
    expect(draft.errors).toEqual([{ line: 3, message: 'field "prompt" must be a string or a list of messages' }]);
    expect(grpo(imported).examples).toEqual([
      { line: 1, prompt: STRING_PROMPTS[0].prompt, fields: { name: 'Teddy', animal: 'duck' } },
      { line: 2, prompt: STRING_PROMPTS[1].prompt, fields: { name: 'Amy', animal: 'frog', tags: ['pond', 2], meta: { wet: true } } },
      { line: 4, prompt: STRING_PROMPTS[3].prompt, fields: { name: 'Sam', animal: 'cat' } },
    ]);
  });

  test('message prompts are normalised (ShareGPT spelling too); one ending with the assistant turn is refused by line', () => {
    const imported = readDatasetFile(jsonl(CHAT_PROMPTS), 'chat.jsonl');
    const dataset = grpo(imported);
    expect(dataset.format).toBe('prompt-only');
    expect(dataset.examples).toEqual([
      {
        line: 1,
        prompt: [
          { role: 'system', content: 'Answer with a number.', train: false },
          { role: 'user', content: 'What is 2 + 3?', train: false },
        ],
        fields: { answer: '5' },
      },
      { line: 3, prompt: [{ role: 'user', content: 'What is 4 + 4?', train: false }], fields: { answer: '8' } },
    ]);
    expect(dataset.errors.map((e) => e.line)).toEqual([2]);
    expect(dataset.errors[0].message).toMatch(/^field "prompt" ends with an assistant message \(prompt\[1\]\)/);
  });

  test("GSM8K's question is the prompt and its answer (with the #### line) a field", () => {
    const imported = readDatasetFile(jsonl(GSM8K), 'gsm8k.jsonl');
    expect(new DraftStore().add('gsm8k.jsonl', imported)).toMatchObject({ format: 'question-answer', method: 'grpo', methods: ['grpo'], examples: 2, errors: [], rewardFields: ['answer'] });
    expect(grpo(imported).examples).toEqual(GSM8K.map((r, i) => ({ line: i + 1, prompt: r.question, fields: { answer: r.answer } })));
  });

  test("GSM8K's own test split: every record a prompt, its answer (ending in the #### line) the one reward field", () => {
    const lines = readFileSync(GSM8K_TEST, 'utf8').split('\n').filter((l) => l.trim());
    const draft = new DraftStore().add('test.jsonl', readDatasetFile(new Uint8Array(readFileSync(GSM8K_TEST)), 'test.jsonl'));
    expect(draft).toMatchObject({ format: 'question-answer', method: 'grpo', methods: ['grpo'], examples: lines.length, errors: [], rewardFields: ['answer'] });
    expect(lines.length).toBe(1319);
  });

  test('the stories-grpo sample: 240 prompts, each with its name and animal for the contains reward', () => {
    const dataset = grpo(readDatasetFile(new Uint8Array(readFileSync(STORIES_GRPO)), 'stories-grpo-train.jsonl'));
    expect(dataset.errors).toEqual([]);
    expect(dataset.examples).toHaveLength(240);
    for (const { prompt, fields } of dataset.examples) {
      expect(Object.keys(fields).sort()).toEqual(['animal', 'name']);
      expect(prompt).toMatch(new RegExp(`^This is a story about ${fields.name as string} the ${fields.animal as string}\\.\\n`));
    }
  });

  test('a format no studio method trains is still refused, naming the families the studio imports', () => {
    expect(() => readDatasetFile(jsonl([{ prompt: 'a', completion: 'b', label: true }]), 'kto.jsonl')).toThrow(
      /This dataset fits KTO\. The studio does not train that yet; it imports data for SFT, for DPO, SimPO and ORPO or for GRPO\.$/,
    );
  });
});

describe('saved GRPO records', () => {
  test('a draft saves as method grpo (prompt and fields per line, bad lines skipped) and reads back as the same prompts', () => {
    for (const [rows, name] of [
      [STRING_PROMPTS, 'prompts.jsonl'],
      [CHAT_PROMPTS, 'chat.jsonl'],
      [GSM8K, 'gsm8k.jsonl'],
    ] as const) {
      const imported = readDatasetFile(jsonl([...rows]), name);
      const record = datasetRecord(HEADER, imported);
      expect(record).toMatchObject({ ...HEADER, method: 'grpo', format: grpo(imported).format });
      expect(record.skipped).toEqual(grpo(imported).errors);
      expect(record.examples).toEqual(grpo(imported).examples.map(({ line, prompt, fields }) => ({ line, example: { prompt, fields } })));
      const back = engineDataset(structuredClone(record));
      expect(back).toEqual({ method: 'grpo', dataset: { file: 'prompts', format: grpo(imported).format, examples: grpo(imported).examples, errors: [], errorCount: 0 } });
    }
  });

  test('a grpo record whose format does not fit GRPO is refused; SFT/DPO are refused naming GRPO as what it fits', () => {
    const record = datasetRecord(HEADER, readDatasetFile(jsonl(GSM8K), 'gsm8k.jsonl'));
    expect(() => engineDataset({ ...record, format: 'language-modeling' })).toThrow(
      new Error('The dataset "prompts" is stored as GRPO data but its format, language-modeling, does not fit that method.'),
    );
    expect(datasetMismatch(record, 'grpo')).toBeNull();
    expect(datasetMismatch(record, 'sft')).toBe(
      'The dataset "prompts" is a question-answer ({"question", "answer"}) dataset; SFT needs language modeling, prompt-completion, pre-tokenized, Alpaca or ShareGPT records. This dataset fits GRPO.',
    );
    expect(datasetMismatch(record, 'orpo')).toMatch(/^The dataset "prompts" is a question-answer .* ORPO needs preference, .* This dataset fits GRPO\.$/);
    // Prompt-completion data is SFT data that GRPO reads too.
    expect(datasetMismatch({ name: 's', method: 'sft', format: 'prompt-completion' }, 'dpo')).toMatch(/This dataset fits SFT and GRPO\.$/);
  });
});

describe('GRPO records in IndexedDB', () => {
  let db: StudioDb | undefined;
  beforeEach(() => vi.stubGlobal('indexedDB', new IDBFactory()));
  afterEach(() => {
    db?.close();
    db = undefined;
    vi.unstubAllGlobals();
  });

  test('stored beside an SFT record with no schema change, read back field for field, listed with their count', async () => {
    db = await openStudioDb();
    // GRPO prompts needed no schema change of their own: v6 (two checkpoints per run) touched only the checkpoints store.
    expect(db.version).toBe(6);
    const prompts = datasetRecord(HEADER, readDatasetFile(jsonl(CHAT_PROMPTS), 'chat.jsonl'));
    const sft = datasetRecord({ ...HEADER, id: 's1', name: 'lm', createdAt: '2026-12-06T00:00:00.000Z' }, readDatasetFile(enc('{"text": "one"}\n'), 'lm.jsonl'));
    await putDataset(db, prompts);
    await putDataset(db, sft);
    expect(await getDataset(db, 'g1')).toStrictEqual(prompts);
    const summaries = await listDatasetSummaries(db);
    expect(summaries.map((s) => [s.id, s.method, s.examples])).toEqual([
      ['g1', 'grpo', 2],
      ['s1', 'sft', 1],
    ]);
  });
});

describe('a GRPO run reads a grpo record', () => {
  const rows = Array.from({ length: 40 }, (_, i) => ({ prompt: `This is a story about cat ${i}.\nOnce upon a time,`, name: `cat ${i}`, n: i }));
  const record: DatasetRecord = datasetRecord({ ...HEADER, name: 'cats' }, readDatasetFile(jsonl(rows), 'cats.jsonl'));

  test('split as the record says, text with BOS, every other field kept for the rewards', () => {
    const { train, eval: held } = grpoPrompts(record, tokenizer);
    const heldLines = evalIndices(40, HEADER.split).map((i) => i + 1);
    expect(heldLines).toHaveLength(10);
    expect(held.examples.map((e) => e.line)).toEqual(heldLines);
    expect(train.examples.map((e) => e.line)).toEqual(rows.map((_, i) => i + 1).filter((l) => !heldLines.includes(l)));
    expect(train.errors).toEqual([]);
    for (const e of [...train.examples, ...held.examples]) {
      const i = e.line - 1;
      expect(e.promptText).toBe(rows[i].prompt);
      expect(e.prompt[0]).toBe(STORIES_BOS);
      expect(e.prompt).toEqual(tokenizer.encode(rows[i].prompt));
      expect(e.fields).toEqual({ name: `cat ${i}`, n: i });
    }
  });

  test('message prompts go through the chat template with the generation prompt; GSM8K answers stay fields', () => {
    const chat = datasetRecord({ ...HEADER, split: { evalFraction: 0, seed: 0 } }, readDatasetFile(jsonl(CHAT_PROMPTS), 'chat.jsonl'));
    const { train } = grpoPrompts(chat, chatTokenizer);
    expect(train.examples.map((e) => e.promptText)).toEqual(['system: Answer with a number.\nuser: What is 2 + 3?\nassistant:', 'user: What is 4 + 4?\nassistant:']);
    expect(train.examples[0].prompt).toEqual(chatTokenizer.encode(train.examples[0].promptText, { addSpecialTokens: false }));
    expect(train.examples.map((e) => e.fields)).toEqual([{ answer: '5' }, { answer: '8' }]);
    // Without a template the conversations are refused as a whole, naming the dataset.
    expect(() => grpoPrompts(chat, tokenizer)).toThrow(/^prompts: its prompts are conversations, which need a chat template/);
    const gsm = datasetRecord({ ...HEADER, split: { evalFraction: 0, seed: 0 } }, readDatasetFile(jsonl(GSM8K), 'gsm8k.jsonl'));
    expect(grpoPrompts(gsm, tokenizer).train.examples.map((e) => [e.promptText, e.fields.answer])).toEqual(GSM8K.map((r) => [r.question, r.answer]));
  });
});

describe('the Data page preview of prompts', () => {
  test('the prompt tokens as the rollouts see them (none trained), the fields listed, long prompts cut and flagged', () => {
    const { examples, format } = grpo(readDatasetFile(jsonl(STRING_PROMPTS), 'prompts.jsonl'));
    const [first, second] = previewPrompts(examples.slice(0, 2), format, tokenizer, 1000);
    expect(first.tokens.map((t) => t.id)).toEqual(tokenizer.encode(String(STRING_PROMPTS[0].prompt)));
    expect(first.tokens.every((t) => !t.trained)).toBe(true);
    // After BOS, the pieces spell the prompt (with sentencepiece's dummy-prefix space).
    expect(first.tokens.slice(1).map((t) => t.text).join('')).toBe(` ${STRING_PROMPTS[0].prompt}`);
    expect(first.fields).toEqual([
      { name: 'name', value: 'Teddy' },
      { name: 'animal', value: 'duck' },
    ]);
    expect(first.truncated).toBe(false);
    expect(second.fields.slice(2)).toEqual([
      { name: 'tags', value: '["pond",2]' },
      { name: 'meta', value: '{"wet":true}' },
    ]);
    const [cut] = previewPrompts(examples.slice(0, 1), format, tokenizer, 5);
    expect(cut.tokens.map((t) => t.id)).toEqual(tokenizer.encode(String(STRING_PROMPTS[0].prompt)).slice(0, 5));
    expect(cut.truncated).toBe(true);
    const long = previewPrompts([{ line: 9, prompt: 'Hi', fields: { answer: 'x'.repeat(PREVIEW_MAX_FIELD_CHARS + 10) } }], format, tokenizer, 100);
    expect(long[0].fields[0].value).toBe(`${'x'.repeat(PREVIEW_MAX_FIELD_CHARS)}…`);
  });

  test('conversations are rendered through the chat template with the generation prompt, or refused without one', () => {
    const { examples, format } = grpo(readDatasetFile(jsonl(CHAT_PROMPTS), 'chat.jsonl'));
    const [first] = previewPrompts(examples, format, chatTokenizer, 1000);
    expect(first.tokens.map((t) => t.id)).toEqual(chatTokenizer.encode('system: Answer with a number.\nuser: What is 2 + 3?\nassistant:', { addSpecialTokens: false }));
    expect(first.tokens.map((t) => t.text).join('')).toBe('system: Answer with a number.\nuser: What is 2 + 3?\nassistant:');
    expect(first.fields).toEqual([{ name: 'answer', value: '5' }]);
    expect(() => previewPrompts(examples, format, tokenizer, 1000)).toThrow(/These prompt-only prompts are conversations, and the loaded model has no chat template/);
  });
});

describe('how the Data page names GRPO data', () => {
  test('the formats GRPO trains say so without "coming"; prompts are counted as prompts', () => {
    expect(formatFit('prompt-only')).toBe('Prompt-only (prompt): fits GRPO');
    expect(formatFit('question-answer')).toBe('Question-answer (question, answer): fits GRPO');
    expect(formatFit('prompt-completion')).toBe('Prompt-completion: fits SFT and GRPO');
    expect(fitsText(['kto'])).toBe('fits KTO, coming');
    expect([recordCount('grpo', 240), recordCount('grpo', 1)]).toEqual(['240 prompts', '1 prompt']);
  });
});
