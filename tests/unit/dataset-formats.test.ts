// Dataset reading, format detection and SFT normalisation on the shared demo datasets and on broken files.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { detectFormat, DatasetMethodError } from '../../src/engine/data/detect';
import { DatasetFileError, parseRecords } from '../../src/engine/data/read-records';
import { toSftDataset } from '../../src/engine/data/sft-examples';

const DATA = resolve(__dirname, '../../../shared/assets/datasets/llamafactory-demo');
const enc = (s: string) => new TextEncoder().encode(s);
const file = (name: string) => new Uint8Array(readFileSync(resolve(DATA, name)));

function sft(bytes: Uint8Array, name: string) {
  return toSftDataset(detectFormat(parseRecords(bytes, name), 'sft'));
}

describe('real demo datasets', () => {
  test('Alpaca JSON array: 999 conversations, user = instruction + input, line numbers of each record', () => {
    const d = sft(file('alpaca_en_demo.json'), 'alpaca_en_demo.json');
    expect(d.format).toBe('alpaca');
    expect(d.examples).toHaveLength(999);
    expect(d.errors).toEqual([]);
    const raw = JSON.parse(readFileSync(resolve(DATA, 'alpaca_en_demo.json'), 'utf8'));
    const withInput = raw.findIndex((r: { input: string }) => r.input !== '');
    const ex = d.examples[withInput].example;
    expect(ex.kind).toBe('chat');
    if (ex.kind !== 'chat') return;
    expect(ex.messages.map((m) => [m.role, m.train])).toEqual([['user', false], ['assistant', true]]);
    expect(ex.messages[0].content).toBe(`${raw[withInput].instruction}\n${raw[withInput].input}`);
    // Each record's line is where its "{" stands in the file.
    const lines = readFileSync(resolve(DATA, 'alpaca_en_demo.json'), 'utf8').split('\n');
    expect(lines[d.examples[0].line - 1].trim()).toBe('{');
    expect(lines[d.examples[998].line - 1].trim()).toBe('{');
    expect(lines[d.examples[998].line].trim()).toBe(`"instruction": ${JSON.stringify(raw[998].instruction)},`);
  });

  test('LLaMA-Factory v1 messages (text parts, loss_weight) become chat turns with train flags', () => {
    const d = sft(file('v1_sft_demo.jsonl'), 'v1_sft_demo.jsonl');
    expect(d.format).toBe('language-modeling');
    expect(d.examples).toHaveLength(500);
    const first = d.examples[0].example;
    expect(first).toEqual({
      kind: 'chat',
      messages: [
        { role: 'user', content: 'hi', train: false },
        { role: 'assistant', content: 'Hello! I am {{name}}, an AI assistant developed by {{author}}. How can I assist you today?', train: true },
      ],
    });
  });

  test('preference and unpaired-preference data are refused for SFT, saying what they are', () => {
    expect(() => sft(file('dpo_en_demo.json'), 'dpo_en_demo.json')).toThrow(DatasetMethodError);
    expect(() => sft(file('dpo_en_demo.json'), 'dpo_en_demo.json')).toThrow(/^dpo_en_demo\.json: is a ShareGPT preference .* SFT needs .* This dataset fits DPO, SimPO and ORPO\.$/);
    expect(() => sft(file('kto_en_demo.json'), 'kto_en_demo.json')).toThrow(/unpaired preference/);
    expect(() => sft(file('v1_dpo_demo.jsonl'), 'v1_dpo_demo.jsonl')).toThrow(/^v1_dpo_demo\.jsonl: is a LLaMA-Factory v1 preference .* the nearest, language modeling \(.*\), is missing "messages"\. This dataset fits DPO, SimPO and ORPO\.$/);
  });

  test('ShareGPT tool-calling turns are reported per line, not silently dropped', () => {
    const d = sft(file('glaive_toolcall_en_demo.json'), 'glaive_toolcall_en_demo.json');
    expect(d.format).toBe('sharegpt');
    expect(d.errors.length).toBeGreaterThan(0);
    expect(d.errors[0].message).toMatch(/conversations\[\d+\]\.from "function_call" is not a supported ShareGPT role/);
    expect(d.examples.length + d.errorCount).toBe(300);
    // The first 100 bad lines are kept with their messages, the rest counted.
    expect(d.errors).toHaveLength(Math.min(100, d.errorCount));
  });
});

describe('broken files', () => {
  test('a JSONL with a broken line: the line is reported, the other records kept', () => {
    const text = ['{"text": "one"}', '{"text": "two"', '', '{"text": "three"}'].join('\n');
    const d = sft(enc(text), 'broken.jsonl');
    expect(d.examples.map((e) => e.line)).toEqual([1, 4]);
    expect(d.errors).toHaveLength(1);
    expect(d.errors[0].line).toBe(2);
    expect(d.errors[0].message).toMatch(/not valid JSON/);
  });

  test('records of another format or with a wrong field type are reported with their lines', () => {
    const text = ['{"prompt": "a", "completion": "b"}', '{"foo": 1}', '{"prompt": 3, "completion": "x"}', '{"text": "t"}', '{"prompt": "p", "completion": ""}'].join('\n');
    const d = sft(enc(text), 'mixed.jsonl');
    expect(d.format).toBe('prompt-completion');
    expect(d.examples.map((e) => e.line)).toEqual([1]);
    expect(d.errors.map((e) => e.line)).toEqual([2, 3, 4, 5]);
    expect(d.errors[0].message).toMatch(/fields "foo"/);
    expect(d.errors[1].message).toMatch(/field "prompt" must be a string/);
    expect(d.errors[2].message).toMatch(/language modeling .* record in a prompt-completion/);
    expect(d.errors[3].message).toMatch(/nothing to train on/);
  });

  test('pre-tokenized records check the mask length', () => {
    const text = ['{"input_ids": [1, 5, 6], "completion_mask": [0, 1, 1]}', '{"input_ids": [1, 5], "completion_mask": [1]}'].join('\n');
    const d = sft(enc(text), 'tok.jsonl');
    expect(d.examples[0].example).toEqual({ kind: 'tokens', inputIds: [1, 5, 6], completionMask: [0, 1, 1] });
    expect(d.errors).toEqual([{ line: 2, message: 'field "completion_mask" must be a list of 0/1 as long as input_ids (2)' }]);
  });

  test('not UTF-8, empty, and unknown-only files are refused as a whole, naming the file and place', () => {
    const latin1 = new Uint8Array([...enc('{"text": "ok"}\n{"text": "caf'), 0xe9, ...enc('"}\n')]);
    expect(() => parseRecords(latin1, 'latin1.jsonl')).toThrow(DatasetFileError);
    expect(() => parseRecords(latin1, 'latin1.jsonl')).toThrow(/latin1.jsonl: is not UTF-8 text \(invalid byte 0xe9 at offset 28, line 2\)/);
    expect(() => parseRecords(enc('  \n\n'), 'empty.jsonl')).toThrow(/empty.jsonl: is empty/);
    expect(() => sft(enc('{"a": 1}\n{"b": 2}'), 'odd.jsonl')).toThrow(/odd.jsonl: no record matches a known dataset format \(line 1 has fields "a"\)/);
  });
});
