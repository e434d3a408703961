// Multiple-choice suites: prompts built exactly as lm-evaluation-harness builds them from the real assets,
// user files in each accepted shape with per-line errors, seeded few-shot, and acc / acc_norm / stderr.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  multipleChoiceItems,
  multipleChoiceMetrics,
  parseHellaswagPairs,
  parseMultipleChoiceFile,
  type MultipleChoiceDoc,
  type MultipleChoiceItem,
} from '../../src/engine/eval/suites/multiple-choice';
import { hellaswagPreprocess, pythonCapitalize } from '../../src/engine/eval/suites/hellaswag';
import { sampleFewShot } from '../../src/engine/eval/suites/few-shot';

const DATA = resolve(__dirname, '../../../shared/assets/datasets');
const text = (path: string) => readFileSync(resolve(DATA, path), 'utf8');

describe('built-in assets', () => {
  test('ARC-Easy and ARC-Challenge: every line parses, the harness prompt and gold from answerKey', () => {
    const easy = parseMultipleChoiceFile(text('arc/ARC-Easy-test.jsonl'), 'ARC-Easy-test.jsonl');
    const challenge = parseMultipleChoiceFile(text('arc/ARC-Challenge-test.jsonl'), 'ARC-Challenge-test.jsonl');
    expect([easy.shape, easy.docs.length, easy.errors]).toEqual(['arc', 2376, []]);
    expect([challenge.shape, challenge.docs.length, challenge.errors]).toEqual(['arc', 1172, []]);
    expect(parseMultipleChoiceFile(text('arc/ARC-Easy-train.jsonl'), 'train').docs.length).toBe(2251);
    expect(parseMultipleChoiceFile(text('arc/ARC-Challenge-train.jsonl'), 'train').docs.length).toBe(1119);

    const [first] = multipleChoiceItems(easy.docs, undefined, 1);
    expect(first).toEqual({
      id: 'Mercury_417466',
      context: 'Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:',
      choices: [
        ' Sunlight is the source of energy for nearly all ecosystems.',
        ' Most ecosystems are found on land instead of in water.',
        ' Carbon dioxide is more available than other gases.',
        ' The producers in all ecosystems are plants.',
      ],
      gold: 0,
      targetDelimiter: ' ',
    });
    // Labels "1".."4": gold is the index of answerKey "2" in the labels, i.e. 1.
    const numeric = easy.docs.find((d) => d.id === 'NYSEDREGENTS_2015_8_28')!;
    expect(numeric).toEqual({ id: 'NYSEDREGENTS_2015_8_28', query: 'Question: All living and nonliving material is composed of\nAnswer:', choices: ['air', 'elements', 'water', 'soil'], gold: 1 });
    // Questions with 3 and 5 choices keep them all.
    expect(new Set(easy.docs.map((d) => d.choices.length))).toEqual(new Set([3, 4, 5]));
  });

  test('BoolQ: passage, question with "?", choices " no" / " yes"', () => {
    const boolq = parseMultipleChoiceFile(text('boolq/validation.normalized.jsonl'), 'validation.normalized.jsonl');
    expect([boolq.shape, boolq.docs.length, boolq.errors]).toEqual(['boolq', 3270, []]);
    const [item] = multipleChoiceItems(boolq.docs.slice(2, 3));
    expect(item.context).toBe(
      'Phantom pain -- Phantom pain sensations are described as perceptions that an individual experiences relating to a limb or an organ that is not physically part of the body. ' +
        'Limb loss is a result of either removal by amputation or congenital limb deficiency. However, phantom limb sensations can also occur following nerve avulsion or spinal cord injury.' +
        '\nQuestion: is pain experienced in a missing body part or paralyzed area?\nAnswer:',
    );
    expect(item.choices).toEqual([' no', ' yes']);
    expect(item.gold).toBe(1);
    expect(boolq.docs[0].gold).toBe(0); // line 1, "does ethanol take more energy make that produces": false
  });

  test('HellaSwag pairs: shared context cut at a word boundary, alternating order, preprocessing applied', () => {
    const docs = parseHellaswagPairs(text('hellaswag-ppl-800/hellaswag_val_correct.txt.800'), text('hellaswag-ppl-800/hellaswag_val_wrong.txt.800'));
    expect(docs.length).toBe(800);
    const items = multipleChoiceItems(docs);
    expect(items[0]).toMatchObject({ context: 'A man is sitting on a roof. he', choices: [' starts pulling up roofing on a roof.', ' is using wrap to wrap a pair of skis.'], gold: 0 });
    // "the lady stands ..." / "the lady swings ...": the common prefix ends inside "s", cut back to "the lady".
    expect(items[1]).toMatchObject({
      context: 'A lady walks to a barbell. She bends down and grabs the pole. the lady',
      choices: [' swings and lands in her arms.', ' stands and lifts the weight over her head.'],
      gold: 1,
    });
    expect(items.filter((i) => i.gold === 0).length).toBe(400);
    // Line 428's wrong ending has "food in  front": preprocess collapses the double space.
    const item428 = docs[427];
    expect(item428.choices[1 - item428.gold]).toContain('food in front of the mirror.');
    for (const d of docs) expect(d.choices.every((c) => c.length > 0 && c === c.trim())).toBe(true);
  });

  test('line pairs that cannot be split are refused naming the line', () => {
    expect(() => parseHellaswagPairs('a b c\nsame line\n', 'a b d\nsame line\n', 'hs')).toThrow('hs:2: the correct and the wrong ending are the same text');
    expect(() => parseHellaswagPairs('one two\n', 'one two\nthree\n', 'hs')).toThrow('1 correct lines but 2 wrong lines');
  });
});

describe('HellaSwag text as the harness processes it', () => {
  test('preprocess: [title] becomes ". ", bracketed tags vanish, double spaces collapse', () => {
    expect(hellaswagPreprocess('  Health: [header] How to rest [title] Lie down.  ')).toBe('Health: How to rest. Lie down.');
    expect(pythonCapitalize('then, Bob waves')).toBe('Then, bob waves');
    expect(pythonCapitalize('')).toBe('');
  });

  test('an HF Rowan/hellaswag record: activity label, ctx_a, capitalised ctx_b', () => {
    const line = JSON.stringify({
      ind: 4,
      activity_label: 'Removing ice from car',
      ctx_a: 'Then, the man writes over the snow covering the window of a car, and a woman wearing winter clothes smiles.',
      ctx_b: 'then',
      endings: [', the man adds wax to the windshield and cuts it.', ', a person board a ski lift.', ', the man puts on a christmas coat.', ', the man continues removing the snow on his car.'],
      label: '3',
    });
    const parsed = parseMultipleChoiceFile(line, 'hs.jsonl');
    expect(parsed.shape).toBe('hellaswag');
    expect(parsed.docs[0]).toEqual({
      id: '4',
      query: 'Removing ice from car: Then, the man writes over the snow covering the window of a car, and a woman wearing winter clothes smiles. Then',
      choices: [', the man adds wax to the windshield and cuts it.', ', a person board a ski lift.', ', the man puts on a christmas coat.', ', the man continues removing the snow on his car.'],
      gold: 3,
    });
  });
});

describe('user files', () => {
  test('each accepted shape is detected and read', () => {
    const arc = parseMultipleChoiceFile('{"question":"Q?","choices":{"text":["x","y"],"label":["A","B"]},"answerKey":"B"}', 'f');
    expect([arc.shape, arc.docs[0].gold, arc.docs[0].id]).toEqual(['arc', 1, 'f:1']);
    const boolq = parseMultipleChoiceFile('{"passage":"P","question":"q","label":1,"idx":7}', 'f');
    expect([boolq.shape, boolq.docs[0]]).toEqual(['boolq', { id: '7', query: 'P\nQuestion: q?\nAnswer:', choices: ['no', 'yes'], gold: 1 }]);
    const generic = parseMultipleChoiceFile('\n{"context":"2+2 =","choices":["4","5"],"gold":0}\n{"query":"3+3 =","choices":["6","7"],"gold":"1"}', 'f');
    expect(generic.shape).toBe('generic');
    expect(generic.docs).toEqual([
      { id: 'f:2', query: '2+2 =', choices: ['4', '5'], gold: 0 },
      { id: 'f:3', query: '3+3 =', choices: ['6', '7'], gold: 1 },
    ]);
  });

  test('bad lines are reported with their line number and field, good lines are kept', () => {
    const lines = [
      '{"question":"ok","choices":{"text":["a","b"],"label":["A","B"]},"answerKey":"A"}',
      '{"question": broken',
      '{"question":"q","choices":{"text":["a","b"],"label":["A","B"]},"answerKey":"C"}',
      '{"choices":{"text":["a","b"],"label":["A","B"]},"answerKey":"A"}',
      '{"question":"q","choices":{"text":["a",""],"label":["A","B"]},"answerKey":"A"}',
      '[1,2]',
    ];
    const parsed = parseMultipleChoiceFile(lines.join('\n'), 'mine.jsonl');
    expect(parsed.docs.length).toBe(1);
    expect(parsed.errors.map((e) => [e.line, e.field])).toEqual([
      [2, ''],
      [3, 'answerKey'],
      [4, 'question'],
      [5, 'choices.text[1]'],
      [6, ''],
    ]);
    expect(parsed.errors[1].message).toBe('mine.jsonl:3: answerKey "C" is not one of choices.label (A, B)');
    expect(parsed.errors[2].message).toBe('mine.jsonl:4: question must be a string, got nothing (missing)');
    const generic = parseMultipleChoiceFile('{"query":"q","choices":["a","b"],"gold":2}', 'g.jsonl');
    expect(generic.errors[0]).toEqual({ line: 1, field: 'gold', message: 'g.jsonl:1: gold must be a choice index from 0 to 1, got number 2' });
  });

  test('a file in no known shape is refused with the shapes it could have', () => {
    expect(() => parseMultipleChoiceFile('{"prompt":"x","completion":"y"}', 'sft.jsonl')).toThrow(/sft\.jsonl: no line is a multiple-choice record: expected ARC/);
  });
});

describe('few-shot', () => {
  const arcTest = () => parseMultipleChoiceFile(text('arc/ARC-Easy-test.jsonl'), 'test').docs;
  const arcTrain = () => parseMultipleChoiceFile(text('arc/ARC-Easy-train.jsonl'), 'train').docs;

  test('k examples from the pool, rendered "query answer\\n\\n", deterministic per seed and independent of --limit', () => {
    const docs = arcTest();
    const pool = arcTrain();
    const a = multipleChoiceItems(docs, { shots: 3, seed: 1234, pool }, 50);
    const b = multipleChoiceItems(docs, { shots: 3, seed: 1234, pool }, 10);
    const c = multipleChoiceItems(docs, { shots: 3, seed: 99, pool }, 50);
    expect(b).toEqual(a.slice(0, 10));
    expect(c.filter((item, i) => item.context !== a[i].context).length).toBeGreaterThan(45);
    for (const item of a) {
      const examples = item.context.split('\n\n');
      expect(examples.length).toBe(4);
      expect(examples[3]).toBe(docs.find((d) => d.id === item.id)!.query);
      for (const e of examples.slice(0, 3)) {
        // Each example is one train doc's query, a space and its gold answer text.
        expect(pool.some((p) => e === `${p.query} ${p.choices[p.gold]}`)).toBe(true);
      }
      expect(new Set(examples.slice(0, 3)).size).toBe(3);
    }
  });

  test('drawing from the evaluated docs never uses the item itself', () => {
    const boolq = parseMultipleChoiceFile(text('boolq/validation.normalized.jsonl'), 'boolq').docs;
    const items = multipleChoiceItems(boolq, { shots: 5, seed: 3 }, 300);
    for (const [i, item] of items.entries()) {
      const own = boolq[i].query;
      expect(item.context.indexOf(own)).toBe(item.context.length - own.length);
    }
    // A pool of 3 with the item in it: 2 shots are always exactly the other two; 3 cannot be had.
    const tiny: MultipleChoiceDoc[] = ['a', 'b', 'c'].map((q) => ({ id: q, query: q, choices: ['x', 'y'], gold: 0 }));
    for (let seed = 0; seed < 20; seed++) {
      expect(sampleFewShot(tiny, 2, seed, 'b', (d) => d.id === 'b').map((d) => d.id).sort()).toEqual(['a', 'c']);
    }
    expect(() => multipleChoiceItems(tiny, { shots: 3, seed: 0 })).toThrow('pool has only 2 other examples');
  });
});

describe('acc and acc_norm as the harness defines them', () => {
  const item = (choices: string[], gold: number, id = 'x'): MultipleChoiceItem => ({ id, context: 'Q:', choices: choices.map((c) => ' ' + c), gold, targetDelimiter: ' ' });

  test('a hand-computed item where acc and acc_norm pick different choices', () => {
    // lls [-2, -4]: acc picks choice 0 (-2 > -4). Per character: "a" -2/1 = -2, "bbbb" -4/4 = -1, so acc_norm
    // picks choice 1, the gold one.
    const result = multipleChoiceMetrics([item(['a', 'bbbb'], 1)], [[-2, -4]]);
    expect(result.perItem[0]).toEqual({ pred: 0, predNorm: 1, acc: 0, accNorm: 1 });
    expect(result.scores['acc,none']).toEqual({ value: 0 });
    expect(result.scores['acc_norm,none']).toEqual({ value: 1 });
  });

  test('the length leaves the target delimiter out and counts code points', () => {
    // "a" (1) vs "abc" (3): -1/1 = -1 < -2.5/3 = -0.83 -> choice 1. With the leading space counted it would
    // be -1/2 = -0.5 > -2.5/4 = -0.625 -> choice 0.
    expect(multipleChoiceMetrics([item(['a', 'abc'], 1)], [[-1, -2.5]]).perItem[0].predNorm).toBe(1);
    // "👍" is 1 code point (2 UTF-16 units, 4 bytes): -3/1 = -3 < -5/2 = -2.5 -> "ok"; by UTF-16 units or
    // bytes it would be -1.5 or -0.75 -> "👍".
    expect(multipleChoiceMetrics([item(['👍', 'ok'], 1)], [[-3, -5]]).perItem[0].predNorm).toBe(1);
  });

  test('ties go to the first choice (np.argmax)', () => {
    expect(multipleChoiceMetrics([item(['ab', 'cd'], 1)], [[-1, -1]]).perItem[0]).toEqual({ pred: 0, predNorm: 0, acc: 0, accNorm: 0 });
  });

  test('stderr is mean_stderr: sample std (n - 1) / sqrt(n)', () => {
    // acc per item 1, 0, 1, 1: mean 0.75; squared deviations 3 x 0.0625 + 0.5625 = 0.75; / 3 = 0.25;
    // std 0.5; / sqrt(4) = 0.25.
    const items = [item(['a', 'b'], 0, '1'), item(['a', 'b'], 0, '2'), item(['a', 'b'], 1, '3'), item(['a', 'b'], 1, '4')];
    const result = multipleChoiceMetrics(items, [
      [-1, -2],
      [-2, -1],
      [-2, -1],
      [-3, -1],
    ]);
    expect(result.scores['acc,none'].value).toBe(0.75);
    expect(result.scores['acc,none'].stderr).toBeCloseTo(0.25, 15);
  });

  test('mismatched or non-finite log-likelihoods are refused naming the item', () => {
    expect(() => multipleChoiceMetrics([item(['a', 'b'], 0, 'q7')], [[-1]])).toThrow('item q7: 2 choices but 1 log-likelihoods');
    expect(() => multipleChoiceMetrics([item(['a', 'b'], 0, 'q7')], [[-1, Number.NaN]])).toThrow('item q7: log-likelihood of choice 1 is NaN');
  });
});
