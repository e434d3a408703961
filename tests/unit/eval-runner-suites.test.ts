// Loading suites for the runner: the built-in ones from ../shared/assets/datasets and public/datasets (item
// counts, few-shot contexts from the right pool, the harness's defaults), and user JSONL files whose kind is
// detected, with bad lines reported by file, line and field.

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBuiltinSuite } from '../../src/engine/eval/builtin-items';
import type { BuiltinDataFile } from '../../src/engine/eval/builtin-suites';
import { readSuiteFile } from '../../src/engine/eval/suite-file';
import type { Gsm8kItem, MultipleChoiceItem, RetentionItem, TaskItem } from '../../src/engine/eval/suite-types';
import { REPO } from '../helpers/cli';

const read = (f: BuiltinDataFile) => readFile(join(f.root === 'assets' ? resolve(REPO, '../shared/assets/datasets') : join(REPO, 'public/datasets'), f.path), 'utf8');

describe('built-in suites', () => {
  it('arc-easy: every test question, few-shot examples from the train split, the limit kept in the spec', async () => {
    const { spec, items } = await loadBuiltinSuite('arc-easy', { shots: 2, limit: 5 }, read);
    expect(spec).toMatchObject({ kind: 'multiple-choice', options: { limit: 5, fewShot: { shots: 2, seed: 1234 }, metrics: ['acc', 'acc_norm'] } });
    expect(items).toHaveLength(2376);
    const first = items[0] as MultipleChoiceItem;
    expect(first.context.split('Question: ')).toHaveLength(4); // two examples, then the item
    expect(first.context.endsWith('Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:')).toBe(true);
    expect(first.choices[0]).toBe(' Sunlight is the source of energy for nearly all ecosystems.');
    expect(first.gold).toBe(0);
    // The examples come from ARC-Easy-train, which the test split never repeats.
    const train = await read({ root: 'assets', path: 'arc/ARC-Easy-train.jsonl' });
    const example = first.context.split('\n\n')[0].replace(/^Question: /, '').split('\nAnswer:')[0];
    expect(train).toContain(JSON.stringify(example).slice(1, -1));
  });

  it('boolq reports acc only; hellaswag has the 800 two-ending items', async () => {
    const boolq = await loadBuiltinSuite('boolq', {}, read);
    expect(boolq.spec).toMatchObject({ options: { metrics: ['acc'], fewShot: { shots: 0 } } });
    expect((boolq.items[0] as MultipleChoiceItem).choices).toEqual([' no', ' yes']);
    const hs = await loadBuiltinSuite('hellaswag', {}, read);
    expect(hs.items).toHaveLength(800);
    expect((hs.items as MultipleChoiceItem[]).every((i) => i.choices.length === 2)).toBe(true);
  });

  it('gsm8k: 5-shot from train by default, the harness stop sequences and 256 tokens', async () => {
    const { spec, items } = await loadBuiltinSuite('gsm8k', {}, read);
    expect(spec).toMatchObject({ kind: 'gsm8k', options: { fewShot: { shots: 5 }, generation: { maxNewTokens: 256, stop: ['Question:', '</s>', '<|im_end|>'] } } });
    expect(items).toHaveLength(1319);
    const context = (items[0] as Gsm8kItem).context;
    expect(context.split('Question: ')).toHaveLength(7);
    expect(context.match(/#### /g)).toHaveLength(5);
  });

  it("stories-retention: stories260K's 40 kept-aside stories from public/datasets", async () => {
    const { spec, items } = await loadBuiltinSuite('stories-retention', {}, read);
    expect(spec.kind).toBe('retention');
    expect(items).toHaveLength(40);
    expect((items[0] as RetentionItem).text.startsWith('Once upon a time')).toBe(true);
  });
});

describe('user suite files', () => {
  const jsonl = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');

  it('detects each kind from its first usable record', () => {
    expect(readSuiteFile(jsonl([{ query: 'Q', choices: ['a', 'b'], gold: 1 }]), 'mc.jsonl').suite.spec.kind).toBe('multiple-choice');
    expect(readSuiteFile(jsonl(['not json', { prompt: 'P', completion: 'C' }]), 't.jsonl').suite.spec.kind).toBe('task');
    expect(readSuiteFile(jsonl([{ text: 'Once upon a time.' }]), 'r.jsonl').suite.spec.kind).toBe('retention');
    const he = { name: 'HumanEval_0_x', prompt: 'function x(){\n', tests: 'x();', stop_tokens: ['\nfunction '] };
    expect(readSuiteFile(jsonl([he]), 'h.jsonl').suite.spec.kind).toBe('humaneval');
  });

  it('task records: prompt strings or messages, the reference under any of its names; bad lines named and skipped', () => {
    const { suite, errors } = readSuiteFile(
      jsonl([
        { prompt: 'Setting: a foggy farm.\n', completion: 'Once upon a time' },
        { id: 7, prompt: [{ role: 'user', content: 'Hi' }], reference: [{ role: 'assistant', content: 'Hello' }] },
        { prompt: 'no reference here' },
        { prompt: [{ role: 'user' }], answer: 'x' },
        'oops',
      ]),
      'task.jsonl',
      { limit: 1 },
    );
    expect(suite.spec).toMatchObject({ kind: 'task', options: { limit: 1, perplexity: true, metrics: { exactMatch: true, contains: true, rougeL: true } } });
    const items = suite.items as TaskItem[];
    expect(items.map((i) => [i.id, i.prompt, i.reference])).toEqual([
      ['line-1', 'Setting: a foggy farm.\n', 'Once upon a time'],
      ['7', [{ role: 'user', content: 'Hi' }], 'Hello'],
    ]);
    expect(errors.map((e) => [e.line, e.field])).toEqual([
      [3, 'reference'],
      [4, 'prompt[0]'],
      [5, ''],
    ]);
    expect(errors[0].message).toMatch(/^task\.jsonl:3: a reference is missing/);
  });

  it('a file with no evaluation record says what shapes it expects', () => {
    expect(() => readSuiteFile(jsonl([{ instruction: 'x' }]), 'x.jsonl')).toThrow(/x\.jsonl: no line is an evaluation record: expected multiple choice/);
  });
});
