// Hostile dataset files found by fuzzing the record readers (tests/unit/fuzz-records.test.ts), built here:
// bytes that are not UTF-8 in ways the lead byte alone does not show (overlong forms, UTF-16 surrogates,
// code points past U+10FFFF) are refused naming the first bad byte, not a later good one;
// a GRPO record whose reward field nests 100,000 lists deep (which overflowed the structured clone that
// sends and stores it) is a per-line error naming the field, and the rest of the file imports.

import { describe, expect, test } from 'vitest';
import { MAX_FIELD_NESTING } from '../../src/engine/data/prompt-examples';
import { DatasetFileError } from '../../src/engine/data/read-records';
import { readDatasetFile } from '../../src/worker/dataset-read';
import { datasetRecord } from '../../src/worker/dataset-records';
import { DraftStore } from '../../src/worker/dataset-drafts';

const enc = (s: string) => new TextEncoder().encode(s);
const withBytes = (before: string, bad: number[], after: string) => new Uint8Array([...enc(before), ...bad, ...enc(after)]);

describe('not UTF-8: the first bad byte is named', () => {
  const before = '{"text": "one"}\n{"text": "t';
  const at = enc(before).length;
  test.each([
    ['an overlong three-byte form (E0 80 80)', [0xe0, 0x80, 0x80], 0xe0],
    ['an overlong four-byte form (F0 80 80 80)', [0xf0, 0x80, 0x80, 0x80], 0xf0],
    ['a UTF-16 surrogate (ED A0 80)', [0xed, 0xa0, 0x80], 0xed],
    ['a code point past U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80], 0xf4],
  ])('%s', (_what, bad, lead) => {
    const bytes = withBytes(before, bad, 'wo"}\n');
    expect(() => readDatasetFile(bytes, 'bad.jsonl')).toThrow(
      new DatasetFileError('bad.jsonl', `is not UTF-8 text (invalid byte 0x${lead.toString(16)} at offset ${at}, line 2)`),
    );
  });
});

describe('a reward field nested 100,000 levels deep', () => {
  const deep = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;
  const file = (levels: number) =>
    enc(
      [
        '{"prompt": "A story about Sue the cat. Once upon a time,", "name": "Sue"}',
        `{"prompt": "A story about Tom the dog. Once upon a time,", "name": "Tom", "nest": ${deep(levels)}}`,
        '{"prompt": "A story about Max the fox. Once upon a time,", "name": "Max"}',
      ].join('\n'),
    );

  test('is a per-line error naming the field and the limit; the other lines are saved and clone', () => {
    const imported = readDatasetFile(file(100_000), 'deep.jsonl');
    expect(imported.dataset.errors).toEqual([
      {
        line: 2,
        message: `field "nest" nests lists and objects more than ${MAX_FIELD_NESTING} levels deep; a field handed to the reward functions may nest at most ${MAX_FIELD_NESTING}`,
      },
    ]);
    expect(imported.dataset.examples.map((e) => e.line)).toEqual([1, 3]);
    // What goes to the page and to IndexedDB is structured-cloned whole.
    const record = datasetRecord({ id: 'd', name: 'deep', source: 'deep.jsonl', createdAt: '', split: { evalFraction: 0, seed: 0 } }, imported);
    expect(structuredClone(record).examples).toHaveLength(2);
    expect(structuredClone(new DraftStore().add('deep.jsonl', imported)).errorCount).toBe(1);
  });

  test(`${MAX_FIELD_NESTING} levels are kept as written`, () => {
    const imported = readDatasetFile(file(MAX_FIELD_NESTING), 'deep.jsonl');
    expect(imported.dataset.errorCount).toBe(0);
    expect(imported.dataset.examples).toHaveLength(3);
    expect(readDatasetFile(file(MAX_FIELD_NESTING + 1), 'deep.jsonl').dataset.errors.map((e) => e.line)).toEqual([2]);
  });
});
