// MT-Bench judging, the parts that read text: FastChat's data files (per-line errors), the judge prompts
// filled as Python's str.format fills them, and verdicts read with FastChat's patterns (and counted as
// unparsable where FastChat would guess).

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkJudgePrompt, judgePromptToJson, parseJudgePrompts, parseQuestions, parseReferenceAnswers, type JudgePrompt, type JudgeQuestion } from '../../src/engine/eval/judge/records';
import { fillTemplate, pairJudgeMessages, singleJudgeMessages, templateShape, TemplateError } from '../../src/engine/eval/judge/template';
import { parseRating, parseVerdict, parseWinner } from '../../src/engine/eval/judge/verdict';

const MT_BENCH = resolve(__dirname, '../../../shared/assets/datasets/mt-bench');
const read = (name: string) => readFileSync(resolve(MT_BENCH, name), 'utf8');

const prompts = parseJudgePrompts(read('judge_prompts.jsonl'), 'judge_prompts.jsonl');
const byName = (name: string): JudgePrompt => prompts.items.find((p) => p.name === name)!;

describe('MT-Bench files', () => {
  it('reads FastChat\'s questions, judge prompts and reference answers without an error', () => {
    const questions = parseQuestions(read('mt_bench_question.jsonl'), 'q.jsonl');
    expect(questions.errors).toEqual([]);
    expect(questions.items).toHaveLength(80);
    expect(questions.items[0]).toMatchObject({ questionId: 81, category: 'writing' });
    expect(questions.items.every((q) => q.turns.length === 2)).toBe(true);
    expect(prompts.errors).toEqual([]);
    expect(prompts.items.map((p) => p.name)).toEqual([
      'pair-v2', 'pair-v2-multi-turn', 'pair-math-v1', 'pair-math-v1-multi-turn',
      'single-v1', 'single-math-v1', 'single-v1-multi-turn', 'single-math-v1-multi-turn',
    ]);
    const refs = parseReferenceAnswers(read('mt_bench_reference_answer_gpt-4.jsonl'), 'r.jsonl');
    expect(refs.errors).toEqual([]);
    expect(refs.items).toHaveLength(30);
    expect(refs.items[0].questionId).toBe(101);
    expect(refs.items[0].turns[0]).toMatch(/^If you have just overtaken the second person/);
    const vicuna = parseQuestions(read('vicuna_bench_question.jsonl'), 'v.jsonl');
    expect(vicuna.errors).toEqual([]);
    expect(vicuna.items).toHaveLength(80);
    expect(vicuna.items.every((q) => q.turns.length === 1)).toBe(true);
  });

  it('reports each bad line with its file, line and field, and keeps the good ones', () => {
    const text = [
      '{"question_id": 1, "category": "writing", "turns": ["a", "b"]}',
      '{"question_id": 2, "turns": ["a"]',
      '',
      '{"question_id": 3, "category": "math"}',
      '{"question_id": 4, "turns": ["a", 5]}',
      '{"question_id": 1, "turns": ["again"]}',
      '{"question_id": 1.5, "turns": ["x"], "category": 7}',
      '[1, 2]',
      '{"question_id": "q-9", "turns": ["no category"]}',
    ].join('\n');
    const { items, errors } = parseQuestions(text, 'my.jsonl');
    expect(items.map((q) => q.questionId)).toEqual([1, 'q-9']);
    expect(items[1].category).toBe('');
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^my\.jsonl:2: is not valid JSON/),
      'my.jsonl:4: field "turns" is missing',
      'my.jsonl:5: field "turns[1]" must be a string, got 5',
      'my.jsonl:6: field "question_id" 1 appears on an earlier line too',
      'my.jsonl:7: field "question_id" must be an integer or a non-empty string, got 1.5',
      'my.jsonl:7: field "category" must be a string, got 7',
      'my.jsonl:8: must be a JSON object',
    ]);
    expect(errors.map((e) => [e.line, e.field])).toEqual([[2, undefined], [4, 'turns'], [5, 'turns[1]'], [6, 'question_id'], [7, 'question_id'], [7, 'category'], [8, undefined]]);
  });

  it('checks a judge prompt\'s type, output format and template fields, naming the field', () => {
    const good = judgePromptToJson(byName('pair-v2'));
    const lines = [
      { ...good, name: 'ok' },
      { ...good, name: 'ok' },
      { ...good, name: 'bad-format', output_format: '[[rating]]' },
      { ...good, name: 'bad-type', type: 'triple' },
      { ...good, name: 'bad-field', prompt_template: '{question} {answer_a} {answer_b} {answer}' },
      { ...good, name: 'no-b', prompt_template: '{question} {answer_a}' },
      { ...good, name: 'brace', prompt_template: '{question} {answer_a} {answer_b} }' },
      { ...good, name: 'mixed', prompt_template: '{question_1} {answer_a} {answer_b}' },
      { ...good, name: 'spec', prompt_template: '{answer_a!r} {answer_b}' },
      { ...good, system_prompt: undefined, name: '' },
    ].map((r) => JSON.stringify(r));
    const { items, errors } = parseJudgePrompts(lines.join('\n'), 'p.jsonl');
    expect(items.map((p) => p.name)).toEqual(['ok']);
    expect(errors.map((e) => e.message)).toEqual([
      'p.jsonl:2: field "name" "ok" appears on an earlier line too',
      'p.jsonl:3: field "output_format" must be "[[A]]" or "[[rating_a,rating_b]]" for a pairwise judge, got "[[rating]]"',
      'p.jsonl:4: field "type" must be "single" or "pairwise", got "triple"',
      expect.stringMatching(/^p\.jsonl:5: field "prompt_template" \{answer\} is not filled for a pairwise judge \(single-turn fields: question, answer_a, answer_b, ref_answer_1;/),
      'p.jsonl:6: field "prompt_template" never shows the answer being judged: it needs {answer_b}',
      'p.jsonl:7: field "prompt_template" single "}" at offset 33 (write "}}" for a literal brace)',
      'p.jsonl:8: field "prompt_template" mixes single-turn fields ({answer_a}) with two-turn fields ({question_1})',
      expect.stringMatching(/^p\.jsonl:9: field "prompt_template" "\{answer_a!r\}" at offset 0 is not a plain field name/),
      'p.jsonl:10: field "name" must be a non-empty string, got ""',
      'p.jsonl:10: field "system_prompt" is missing',
    ]);
    // An edited prompt is checked the same way.
    expect(checkJudgePrompt({ ...byName('single-v1'), promptTemplate: 'Rate {answer} for {question_2}' })).toEqual([
      'prompt_template: mixes single-turn fields ({answer}) with two-turn fields ({question_2})',
    ]);
    expect(checkJudgePrompt(byName('single-v1'))).toEqual([]);
  });

  it('reference answers: errors name choices[0].turns', () => {
    const { items, errors } = parseReferenceAnswers(['{"question_id": 1, "choices": [{"turns": ["x"]}]}', '{"question_id": 2, "choices": []}', '{"question_id": 3, "choices": [{"turns": "x"}]}'].join('\n'), 'r.jsonl');
    expect(items).toEqual([{ questionId: 1, turns: ['x'] }]);
    expect(errors.map((e) => e.message)).toEqual([
      'r.jsonl:2: field "choices" must be a non-empty list of {"turns": [...]} objects',
      'r.jsonl:3: field "choices[0].turns" must be a non-empty list of strings',
    ]);
  });
});

describe('judge prompts filled as FastChat fills them', () => {
  it('follows Python str.format: {{ }} are braces, values are inserted once, unknown fields fail', () => {
    expect(fillTemplate('{{x}} {a}-{b}{a}', { a: '{b}', b: '}}' })).toBe('{x} {b}-}}{b}');
    expect(() => fillTemplate('{a} {c}', { a: '1' })).toThrow(new TemplateError('no value for {c}'));
    expect(() => fillTemplate('{a', { a: '1' })).toThrow(/single "\{" at offset 0/);
    expect(() => fillTemplate('{}', {})).toThrow(/is not a plain field name/);
  });

  it('decides multi-turn and reference from the template, as FastChat decides by name', () => {
    // All eight of FastChat's prompts, so the loop cannot pass on an empty list.
    expect(prompts.items).toHaveLength(8);
    for (const p of prompts.items) {
      const shape = templateShape(p.type, p.promptTemplate);
      expect([p.name, shape.multiTurn, shape.needsReference]).toEqual([p.name, p.name.endsWith('multi-turn'), p.name.includes('math')]);
    }
  });

  const question: JudgeQuestion = { questionId: 7, category: 'math', turns: ['What is 2+2?', 'And 3+3?'] };

  it('single-v1: the system prompt, then the template with the first question and answer', () => {
    const p = byName('single-v1');
    const messages = singleJudgeMessages(p, question, ['It is 4.', 'It is 6.']);
    expect(messages).toEqual([
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: p.promptTemplate.replace('{question}', 'What is 2+2?').replace('{answer}', 'It is 4.') },
    ]);
    expect(messages[1].content.endsWith("[Question]\nWhat is 2+2?\n\n[The Start of Assistant's Answer]\nIt is 4.\n[The End of Assistant's Answer]")).toBe(true);
  });

  it('pair-math-v1-multi-turn: every field, each of its two occurrences, and both references', () => {
    const p = byName('pair-math-v1-multi-turn');
    const [system, user] = pairJudgeMessages(p, question, ['A1', 'A2'], ['B1', 'B2'], ['R1', 'R2']);
    expect(system).toEqual({ role: 'system', content: p.systemPrompt });
    const expected = p.promptTemplate
      .replaceAll('{question_1}', 'What is 2+2?').replaceAll('{question_2}', 'And 3+3?')
      .replaceAll('{answer_a_1}', 'A1').replaceAll('{answer_a_2}', 'A2').replaceAll('{answer_b_1}', 'B1').replaceAll('{answer_b_2}', 'B2')
      .replaceAll('{ref_answer_1}', 'R1').replaceAll('{ref_answer_2}', 'R2');
    expect(user).toEqual({ role: 'user', content: expected });
    expect(user.content.split('What is 2+2?')).toHaveLength(4);
    expect(user.content).toContain('### Assistant A:\nA2\n\n<|The End of Assistant A');
    expect(user.content).toContain('### Assistant B:\nB2\n\n<|The End of Assistant B');
  });

  it('refuses what FastChat could not fill: a missing reference, too few turns, the wrong judge type', () => {
    expect(() => pairJudgeMessages(byName('pair-math-v1'), question, ['a'], ['b'])).toThrow('the judge prompt shows a reference answer and question 7 has none');
    expect(() => singleJudgeMessages(byName('single-v1-multi-turn'), { ...question, turns: ['only one'] }, ['a', 'b'])).toThrow('question 7 has 1 turn(s), the judge prompt needs 2');
    expect(() => singleJudgeMessages(byName('single-v1-multi-turn'), question, ['a'])).toThrow('an answer to question 7 has 1 turn(s), the judge prompt needs 2');
    expect(() => singleJudgeMessages(byName('pair-v2'), question, ['a'])).toThrow('judge prompt "pair-v2" is pairwise, not single-answer grading');
    // An empty system prompt is left out, as to_openai_api_messages does.
    const [only, ...rest] = singleJudgeMessages({ ...byName('single-v1'), systemPrompt: '' }, question, ['a']);
    expect(rest).toEqual([]);
    expect(only.role).toBe('user');
    expect(only.content).toContain("[Question]\nWhat is 2+2?\n\n[The Start of Assistant's Answer]\na\n[The End of Assistant's Answer]");
  });
});

describe('verdicts', () => {
  it('ratings: FastChat\'s [[n]] pattern, then its [n] backup; unparsable where FastChat would guess', () => {
    const cases: [string, number | string][] = [
      ['Rating: [[7]]', 7],
      ['The answer is fine. [[7.5]]', 7.5],
      ['Rating: [[10]]', 10],
      ['[[7.]]', 7],
      ['Rating: [8]', 8], // one_score_pattern_backup
      ['See [1]. Rating: [[6]]', 6], // the main pattern wins over the backup anywhere in the text
      ['[[8]] ... so again: [[8.0]]', 8], // the same verdict twice
      ['Rating: 7', 'no-verdict'],
      ['Rating: [[ 7 ]]', 'no-verdict'],
      ['[[7/10]]', 'no-verdict'],
      ['[[-3]]', 'no-verdict'],
      ['[[seven]]', 'no-verdict'],
      ['', 'no-verdict'],
      ['for example: "Rating: [[5]]". My rating: [[8]]', 'conflicting'], // FastChat would take 5
      ['See [1] and [2].', 'conflicting'], // FastChat would take 1
      ['[[0]]', 'out-of-scale'],
      ['[[11]]', 'out-of-scale'],
      ['[[10.5]]', 'out-of-scale'],
    ];
    for (const [judgment, expected] of cases) {
      const v = parseRating(judgment);
      expect([judgment, v.kind === 'rating' ? v.rating : v.reason]).toEqual([judgment, expected]);
    }
  });

  it('winners: [[A]], [[B]], [[C]] = tie; more than one is conflicting; anything else no-verdict', () => {
    const cases: [string, string][] = [
      ['Assistant A is better. [[A]]', 'A'],
      ['My final verdict is [[B]].', 'B'],
      ['[[C]]', 'tie'],
      ['[[A]] and, to repeat, [[A]]', 'A'],
      ['Output "[[A]]" if assistant A is better, "[[B]]" if assistant B is better', 'conflicting'], // FastChat: A
      ['[[B]] or maybe [[C]]', 'conflicting'],
      ['[A]', 'no-verdict'],
      ['[[a]]', 'no-verdict'],
      ['Assistant A', 'no-verdict'],
    ];
    for (const [judgment, expected] of cases) {
      const v = parseWinner('[[A]]', judgment);
      expect([judgment, v.kind === 'winner' ? v.winner : v.reason]).toEqual([judgment, expected]);
    }
  });

  it('two ratings: the higher wins, within TIE_DELTA 0.1 a tie; the [a, b] backup', () => {
    expect(parseVerdict('[[rating_a,rating_b]]', 'Scores: [[8, 6]]')).toEqual({ kind: 'winner', winner: 'A', ratings: [8, 6] });
    expect(parseVerdict('[[rating_a,rating_b]]', '[[7,7.1]]')).toMatchObject({ winner: 'tie' });
    expect(parseVerdict('[[rating_a,rating_b]]', '[[7,7.2]]')).toMatchObject({ winner: 'B' });
    expect(parseVerdict('[[rating_a,rating_b]]', '[3,9]')).toMatchObject({ winner: 'B', ratings: [3, 9] });
    expect(parseVerdict('[[rating_a,rating_b]]', '[[8,6]] or [[6,8]]')).toMatchObject({ kind: 'unparsable', reason: 'conflicting' });
    expect(parseVerdict('[[rating_a,rating_b]]', '[[8]]')).toMatchObject({ kind: 'unparsable', reason: 'no-verdict' });
    expect(parseVerdict('[[rating]]', '[[8]]')).toEqual({ kind: 'rating', rating: 8 });
  });
});
