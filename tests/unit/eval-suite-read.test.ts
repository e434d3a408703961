// The Evaluate page's suite reader on the shipped files (../shared/assets/datasets, public/datasets): built-ins
// recognised by name with their few-shot pools, HellaSwag's two files, per-line errors by file and line, task
// and retention samples, and HumanEval-JS read as a suite but refused as training data on the Data page.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { readSuiteFiles, type SuiteFile } from '../../src/worker/eval-suite-read';
import { engineSuite, suiteRecord } from '../../src/worker/eval-suite-records';
import { readDatasetFile } from '../../src/worker/dataset-read';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const assets = resolve(root, '../shared/assets/datasets');
const file = (path: string, name = path.split('/').pop()!): SuiteFile => ({ name, bytes: readFileSync(path) });
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').length;

describe('suite files', () => {
  test('ARC-Easy test + train: the built-in with its few-shot pool; 3-shot prompts never include the item', () => {
    const read = readSuiteFiles([file(`${assets}/arc/ARC-Easy-test.jsonl`), file(`${assets}/arc/ARC-Easy-train.jsonl`)], 'auto');
    expect(read.kind).toBe('multiple-choice');
    expect(read.builtin).toBe('arc-easy');
    expect(read.items.length).toBe(lines(`${assets}/arc/ARC-Easy-test.jsonl`));
    expect(read.kind === 'multiple-choice' && read.fewShotPool?.length).toBe(lines(`${assets}/arc/ARC-Easy-train.jsonl`));
    const record = suiteRecord(read, { id: 's1', name: 'ARC', createdAt: 5 });
    expect(record.origin).toEqual({ type: 'builtin', builtin: 'arc-easy' });
    const suite = engineSuite(record, { shots: 3, seed: 1234, limit: 4 });
    expect(suite.items).toHaveLength(4);
    const first = suite.items[0] as { context: string; choices: string[] };
    // Three solved examples ("Question: ...\nAnswer: ...\n\n"), then the item's own question.
    expect(first.context.split('\n\n')).toHaveLength(4);
    expect(first.context.endsWith(`${(read.items[0] as { query: string }).query}`)).toBe(true);
    expect(first.choices.every((c) => c.startsWith(' '))).toBe(true);
  });

  test("HellaSwag's two files make one 800-item suite; one file alone is refused naming both", () => {
    const dir = `${assets}/hellaswag-ppl-800`;
    const read = readSuiteFiles([file(`${dir}/hellaswag_val_correct.txt.800`), file(`${dir}/hellaswag_val_wrong.txt.800`)], 'auto');
    expect([read.kind, read.builtin, read.items.length]).toEqual(['multiple-choice', 'hellaswag', 800]);
    expect(() => readSuiteFiles([file(`${dir}/hellaswag_val_correct.txt.800`)], 'auto')).toThrow('hellaswag_val_wrong.txt.800');
  });

  test('bad lines are reported by file and line, and the good ones kept', () => {
    const text = ['{"prompt": "a", "reference": "b"}', 'not json', '{"prompt": "c"}', '{"prompt": "d", "completion": "e"}'].join('\n');
    const read = readSuiteFiles([{ name: 'mine.jsonl', bytes: new TextEncoder().encode(text) }], 'auto');
    expect(read.kind).toBe('task');
    expect(read.items.map((i) => (i as { reference: string }).reference)).toEqual(['b', 'e']);
    expect(read.errors.map((e) => [e.file, e.line])).toEqual([
      ['mine.jsonl', 2],
      ['mine.jsonl', 3],
    ]);
    expect(read.errors[1].message).toContain('reference');
  });

  test('the stories samples read as a task and as the retention built-in', () => {
    const task = readSuiteFiles([file(`${root}/public/datasets/stories-setting/eval.jsonl`, 'stories-setting-eval.jsonl')], 'auto');
    expect([task.kind, task.items.length, task.errors]).toEqual(['task', 40, []]);
    const retention = readSuiteFiles([file(`${root}/public/datasets/stories-setting/general.jsonl`, 'stories-setting-general.jsonl')], 'auto');
    expect([retention.kind, retention.builtin, retention.items.length]).toEqual(['retention', 'stories-retention', 40]);
  });

  test('HumanEval-JS reads as an evaluation suite and is refused as training data', () => {
    const path = `${assets}/humaneval-js/humaneval-js.jsonl`;
    const read = readSuiteFiles([file(path)], 'auto');
    expect([read.kind, read.builtin, read.items.length]).toEqual(['humaneval', 'humaneval-js', 161]);
    expect(suiteRecord(read, { id: 'h', name: 'HE', createdAt: 1 }).kind).toBe('humaneval');
    expect(() => readDatasetFile(readFileSync(path), 'humaneval-js.jsonl')).toThrow(/evaluation only/);
  });
});
