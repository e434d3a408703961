// CSV datasets: rows keyed by the header with the line each starts on (quoted newlines, \r\n), per-line
// errors for bad rows, JSON cells for structured fields; and how the studio picks a reader for a file
// (extension, then content), refuses oversized or empty files, and files with nothing usable.

import { describe, expect, test } from 'vitest';
import { parseCsv } from '../../src/engine/data/csv';
import { detectFormat, DatasetMethodError } from '../../src/engine/data/detect';
import { toPreferenceDataset } from '../../src/engine/data/preference-examples';
import { DatasetFileError } from '../../src/engine/data/read-records';
import { toSftDataset } from '../../src/engine/data/sft-examples';
import { MAX_DATASET_BYTES, checkDatasetSize, parseDatasetBytes, readDatasetFile } from '../../src/worker/dataset-read';

const enc = (s: string) => new TextEncoder().encode(s);

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('parseCsv', () => {
  test('records keyed by the header, with the start line of each row across quoted newlines and \\r\\n', () => {
    const text = 'prompt,completion\r\n"Setting: a lake.\nGo:","Once, there was a ""duck""."\r\n\r\nHi,There\r\n';
    const parsed = parseCsv(text, 'a.csv');
    expect(parsed.errors).toEqual([]);
    expect(parsed.records).toEqual([
      { line: 2, value: { prompt: 'Setting: a lake.\nGo:', completion: 'Once, there was a "duck".' } },
      { line: 5, value: { prompt: 'Hi', completion: 'There' } },
    ]);
    const sft = toSftDataset(detectFormat(parsed, 'sft'));
    expect(sft.format).toBe('prompt-completion');
    expect(sft.examples.map((e) => e.line)).toEqual([2, 5]);
  });

  test('a row with the wrong number of fields is a per-line error; later rows keep their lines', () => {
    const text = ['text', '"first\nstory"', 'second, with a comma', 'third'].join('\n');
    // "second, with a comma" splits in two fields: the header has one column.
    const parsed = parseCsv(text, 'stories.csv');
    expect(parsed.records.map((r) => [r.line, (r.value as { text: string }).text])).toEqual([
      [2, 'first\nstory'],
      [5, 'third'],
    ]);
    expect(parsed.errors).toHaveLength(1);
    expect(parsed.errors[0].line).toBe(4);
    expect(parsed.errors[0].message).toMatch(/has 2 fields, the header has 1/);
  });

  test('an unterminated quote is reported at the line it opens', () => {
    const parsed = parseCsv('prompt,completion\na,b\n"c,d\ne,f\n', 'q.csv');
    expect(parsed.records).toEqual([{ line: 2, value: { prompt: 'a', completion: 'b' } }]);
    expect(parsed.errors).toEqual([{ line: 3, message: expect.stringMatching(/no closing quote/) }]);
  });

  test('empty cells are null: Alpaca rows without input become a single user turn', () => {
    const parsed = parseCsv('instruction,input,output\nSay hi,,Hi!\nAdd,2 and 3,5\n', 'alpaca.csv');
    expect(parsed.records[0].value).toEqual({ instruction: 'Say hi', input: null, output: 'Hi!' });
    const sft = toSftDataset(detectFormat(parsed, 'sft'));
    expect(sft.format).toBe('alpaca');
    const contents = sft.examples.map((e) => (e.example.kind === 'chat' ? e.example.messages.map((m) => m.content) : []));
    expect(contents).toEqual([
      ['Say hi', 'Hi!'],
      ['Add\n2 and 3', '5'],
    ]);
  });

  test('structured cells hold JSON (messages); a cell that is not JSON names its column and line', () => {
    const good = JSON.stringify([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
    ]);
    const text = `messages\n"${good.replaceAll('"', '""')}"\n"[{""role"": ""user"""\n`;
    const parsed = parseCsv(text, 'chat.csv');
    expect(parsed.records).toHaveLength(1);
    expect(parsed.records[0].value).toEqual({ messages: JSON.parse(good) });
    expect(parsed.errors).toEqual([{ line: 3, message: expect.stringMatching(/^column "messages" must hold JSON/) }]);
    const sft = toSftDataset(detectFormat(parsed, 'sft'));
    expect(sft.examples[0].example.kind).toBe('chat');
  });

  test('a prompt cell that merely starts with "[" stays text', () => {
    const parsed = parseCsv('prompt,completion\n[Verse 1] la,la la\n', 'song.csv');
    expect(parsed.records[0].value).toEqual({ prompt: '[Verse 1] la', completion: 'la la' });
  });

  test('boolean labels make unpaired preference data, which SFT refuses with the engine message', () => {
    const parsed = parseCsv('prompt,completion,label\na,b,true\nc,d,FALSE\n', 'kto.csv');
    expect(parsed.records.map((r) => (r.value as { label: unknown }).label)).toEqual([true, false]);
    const err = thrown(() => detectFormat(parsed, 'sft'));
    expect(err).toBeInstanceOf(DatasetMethodError);
    expect(err.message).toMatch(/^kto\.csv: is an unpaired preference .* dataset; SFT needs .*, but "label" makes them unpaired preference records\. This dataset fits KTO\.$/);
  });

  test('preference cells: JSON message lists, one ShareGPT message per answer, token-id lists', () => {
    const cell = (v: unknown) => `"${JSON.stringify(v).replaceAll('"', '""')}"`;
    const chat = parseCsv(`prompt,chosen,rejected\n${cell([{ role: 'user', content: 'Hi' }])},${cell([{ role: 'assistant', content: 'Hello' }])},${cell([{ role: 'assistant', content: 'Go.' }])}\n[Verse] la,{a} b,c\n`, 'c.csv');
    const chatPairs = toPreferenceDataset(detectFormat(chat, 'dpo'));
    expect(chatPairs.examples.map((e) => e.example.kind)).toEqual(['chat', 'text']);
    // Cells that merely start with "[" or "{" stay text.
    expect(chat.records[1].value).toEqual({ prompt: '[Verse] la', chosen: '{a} b', rejected: 'c' });

    const turns = cell([{ from: 'human', value: 'Hi' }]);
    const sharegpt = parseCsv(`conversations,chosen,rejected\n${turns},${cell({ from: 'gpt', value: 'Hello' })},${cell({ from: 'gpt', value: 'Go.' })}\n`, 's.csv');
    const sharegptPairs = toPreferenceDataset(detectFormat(sharegpt, 'dpo'));
    expect(sharegptPairs.format).toBe('sharegpt-preference');
    expect(sharegptPairs.examples[0].example).toEqual({
      kind: 'chat',
      prompt: [{ role: 'user', content: 'Hi', train: false }],
      chosen: [{ role: 'assistant', content: 'Hello', train: true }],
      rejected: [{ role: 'assistant', content: 'Go.', train: true }],
    });

    const ids = parseCsv('prompt_input_ids,chosen_input_ids,rejected_input_ids\n"[1, 5]","[6, 2]","[7, 2]"\n"[1]","[6, 2",[7]\n', 'ids.csv');
    expect(ids.errors).toEqual([{ line: 3, message: expect.stringMatching(/^column "chosen_input_ids" must hold JSON/) }]);
    expect(toPreferenceDataset(detectFormat(ids, 'dpo')).examples).toEqual([{ line: 2, example: { kind: 'tokens', prompt: [1, 5], chosen: [6, 2], rejected: [7, 2] } }]);
  });

  test('header problems refuse the file, naming the column', () => {
    expect(thrown(() => parseCsv('\n\nprompt,,completion\na,b,c\n', 'h.csv')).message).toBe('h.csv: line 3: column 2 of the header has no name');
    expect(thrown(() => parseCsv('text,text\na,b\n', 'd.csv')).message).toBe('d.csv: line 1: column "text" appears twice in the header');
    expect(thrown(() => parseCsv('prompt,completion\n\n', 'only.csv')).message).toBe('only.csv: has a header (prompt, completion) but no rows');
  });

  test('TSV with tabs inside quotes', () => {
    const parsed = parseCsv('text\tsource\n"a\tb"\tweb\n', 't.tsv', '\t');
    expect(parsed.records).toEqual([{ line: 2, value: { text: 'a\tb', source: 'web' } }]);
  });
});

describe('choosing a reader', () => {
  const jsonl = '{"text": "one"}\n{"text": "two"}\n';
  const csv = 'text\none\ntwo\n';

  test('by extension, then by the first character for pasted text and other names', () => {
    for (const [name, content] of [
      ['a.jsonl', jsonl],
      ['a.csv', csv],
      ['pasted text', jsonl],
      ['pasted text', csv],
      ['notes.txt', csv],
      ['a.json', '[{"text": "one"}, {"text": "two"}]'],
    ]) {
      const parsed = parseDatasetBytes(enc(content), name);
      expect(parsed.records.map((r) => r.value), `${name}: ${content}`).toEqual([{ text: 'one' }, { text: 'two' }]);
    }
    // A .csv file that holds JSON lines is read as CSV: a clear header error, not a silent guess.
    expect(thrown(() => readDatasetFile(enc(jsonl), 'wrong.csv')).message).toBe(
      'wrong.csv: no record matches a known dataset format (line 2 has fields "{"text": "one"}")',
    );
  });

  test('a file over the limit is refused from its size, with both sizes in MB', () => {
    expect(MAX_DATASET_BYTES).toBe(32_000_000);
    expect(() => checkDatasetSize('ok.jsonl', MAX_DATASET_BYTES)).not.toThrow();
    expect(thrown(() => checkDatasetSize('big.jsonl', 50_000_000)).message).toBe('big.jsonl: is 50.0 MB; the studio imports datasets up to 32 MB');
    expect(thrown(() => parseDatasetBytes(new Uint8Array(MAX_DATASET_BYTES + 1), 'big.csv')).message).toMatch(/^big\.csv: is 32\.0 MB;/);
  });

  test('empty and not-UTF-8 files say so, with the byte offset and line', () => {
    for (const name of ['e.jsonl', 'e.csv', 'pasted text']) {
      expect(thrown(() => parseDatasetBytes(enc('  \n\n'), name)).message).toBe(`${name}: is empty`);
    }
    const bytes = enc('text\nok\nbad \u00e9\n');
    const latin1 = bytes.map((b) => b); // "é" (c3 a9) becomes a lone Latin-1 byte 0xe9
    const at = bytes.indexOf(0xc3);
    const broken = new Uint8Array([...latin1.subarray(0, at), 0xe9, ...latin1.subarray(at + 2)]);
    const err = thrown(() => parseDatasetBytes(broken, 'latin1.csv'));
    expect(err).toBeInstanceOf(DatasetFileError);
    expect(err.message).toBe(`latin1.csv: is not UTF-8 text (invalid byte 0xe9 at offset ${at}, line 3)`);
  });

  test('SFT files keep per-line errors; GSM8K columns are GRPO prompts; unknown fields and all-bad files are refused', () => {
    const d = readDatasetFile(enc('{"prompt": "a", "completion": "b"}\n{"prompt": "c", \n{"prompt": "e", "completion": "f"}\n'), 'x.jsonl');
    expect(d.method).toBe('sft');
    expect(d.dataset.examples.map((e) => e.line)).toEqual([1, 3]);
    expect(d.dataset.errors).toEqual([{ line: 2, message: expect.stringMatching(/^not valid JSON/) }]);

    const none = thrown(() => readDatasetFile(enc('title,body\nq,a\n'), 'tb.csv'));
    expect(none.message).toBe('tb.csv: no record matches a known dataset format (line 2 has fields "title", "body")');
    // GSM8K's columns are GRPO prompts: the question the prompt, the answer a field for the rewards.
    const qa = readDatasetFile(enc('question,answer\nWhat is 2 + 2?,"2 + 2 = 4\n#### 4"\n'), 'qa.csv');
    if (qa.method !== 'grpo') throw new Error(`qa.csv read as ${qa.method}`);
    expect(qa.dataset.format).toBe('question-answer');
    expect(qa.dataset.examples).toEqual([{ line: 2, prompt: 'What is 2 + 2?', fields: { answer: '2 + 2 = 4\n#### 4' } }]);

    const empty = thrown(() => readDatasetFile(enc('{"text": ""}\n{"text": ""}\n'), 'blank.jsonl'));
    expect(empty.message).toMatch(/^blank\.jsonl: has no usable language-modeling records \(line 1: has nothing to train on.*; line 2: /);
  });
});
