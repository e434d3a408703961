// The judge's messages, filled exactly as FastChat fills them (fastchat/llm_judge/common.py run_judge_single
// and run_judge_pair): the prompt template is a Python str.format string; a single-turn template gets
// question, answer (single) or answer_a / answer_b (pairwise) from the first turn, a multi-turn template
// gets question_1, question_2, answer_1, answer_2 (or answer_a_1, answer_b_1, answer_a_2, answer_b_2), and a
// reference-based one ref_answer_1 (and ref_answer_2 when multi-turn). The messages are those of FastChat's
// OpenAI path: the system prompt (left out when empty, as Conversation.to_openai_api_messages does), then
// the filled template as the user's message.
//
// FastChat decides multi-turn and reference-based by the judge's name (gen_judgment.py make_judge_*); here
// the template's own fields decide (templateShape), which gives the same answer for its eight prompts and
// also works for an edited or new template.
//
// Public API:
//   templateShape(type, template)                      -> { multiTurn, needsReference, fields }
//   fillTemplate(template, values)                     -> Python's template.format(**values)
//   singleJudgeMessages(prompt, question, answer, ref?) -> ChatMessage[]
//   pairJudgeMessages(prompt, question, a, b, ref?)      -> ChatMessage[]

import type { ChatMessage } from '../../model/chat-template';
import type { JudgeMode, JudgePrompt, JudgeQuestion } from './records';

/** A template that Python's str.format would refuse, or that this judge cannot fill. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

type Piece = { text: string } | { field: string };

/** Splits a str.format template into literal text and {field}s ({{ and }} are literal braces). */
function pieces(template: string): Piece[] {
  const out: Piece[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '}') {
      if (template[i + 1] !== '}') throw new TemplateError(`single "}" at offset ${i} (write "}}" for a literal brace)`);
      text += '}';
      i++;
    } else if (c === '{') {
      if (template[i + 1] === '{') {
        text += '{';
        i++;
        continue;
      }
      const end = template.indexOf('}', i + 1);
      if (end < 0) throw new TemplateError(`single "{" at offset ${i} (write "{{" for a literal brace)`);
      const field = template.slice(i + 1, end);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field)) {
        throw new TemplateError(`"{${field}}" at offset ${i} is not a plain field name (conversions, format specs, indexes and positional fields are not filled)`);
      }
      if (text) out.push({ text });
      text = '';
      out.push({ field });
      i = end;
    } else {
      text += c;
    }
  }
  if (text) out.push({ text });
  return out;
}

/** Python's template.format(**values): each field replaced once (values are never themselves formatted). */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return pieces(template)
    .map((p) => {
      if ('text' in p) return p.text;
      const value = values[p.field];
      if (value === undefined) throw new TemplateError(`no value for {${p.field}}`);
      return value;
    })
    .join('');
}

/** The fields FastChat passes, by judge type and turn count (run_judge_single / run_judge_pair kwargs). */
const FIELDS = {
  single: {
    one: ['question', 'answer', 'ref_answer_1'],
    multi: ['question_1', 'question_2', 'answer_1', 'answer_2', 'ref_answer_1', 'ref_answer_2'],
    /** The answer(s) the verdict is about: a template that never shows them cannot judge. */
    needsOne: ['answer'],
    needsMulti: ['answer_2'],
  },
  pairwise: {
    one: ['question', 'answer_a', 'answer_b', 'ref_answer_1'],
    multi: ['question_1', 'question_2', 'answer_a_1', 'answer_b_1', 'answer_a_2', 'answer_b_2', 'ref_answer_1', 'ref_answer_2'],
    needsOne: ['answer_a', 'answer_b'],
    needsMulti: ['answer_a_2', 'answer_b_2'],
  },
} as const;

export interface TemplateShape {
  /** Judges the second turn, with the whole two-turn conversation in view. */
  multiTurn: boolean;
  /** Shows the reference answer(s): {ref_answer_1}. */
  needsReference: boolean;
  /** Distinct fields, in order of first use. */
  fields: string[];
}

/** What a template needs; throws a TemplateError naming the problem when FastChat could not fill it. */
export function templateShape(type: JudgeMode, template: string): TemplateShape {
  const fields = [...new Set(pieces(template).flatMap((p) => ('field' in p ? [p.field] : [])))];
  const f = FIELDS[type];
  const one = new Set<string>(f.one);
  const multi = new Set<string>(f.multi);
  for (const name of fields) {
    if (!one.has(name) && !multi.has(name)) {
      throw new TemplateError(`{${name}} is not filled for a ${type} judge (single-turn fields: ${f.one.join(', ')}; two-turn fields: ${f.multi.join(', ')})`);
    }
  }
  const singleOnly = fields.filter((n) => one.has(n) && !multi.has(n));
  const multiOnly = fields.filter((n) => multi.has(n) && !one.has(n));
  if (singleOnly.length > 0 && multiOnly.length > 0) {
    throw new TemplateError(`mixes single-turn fields ({${singleOnly[0]}}) with two-turn fields ({${multiOnly[0]}})`);
  }
  const multiTurn = multiOnly.length > 0;
  const needed = multiTurn ? f.needsMulti : f.needsOne;
  const missing = needed.filter((n) => !fields.includes(n));
  if (missing.length > 0) throw new TemplateError(`never shows the answer being judged: it needs ${missing.map((n) => `{${n}}`).join(' and ')}`);
  return { multiTurn, needsReference: fields.includes('ref_answer_1') || fields.includes('ref_answer_2'), fields };
}

function messages(prompt: JudgePrompt, user: string): ChatMessage[] {
  return [...(prompt.systemPrompt !== '' ? [{ role: 'system', content: prompt.systemPrompt }] : []), { role: 'user', content: user }];
}

/** ref_answer_1 (and ref_answer_2 when multi-turn) when a reference is given, as FastChat's kwargs. */
function referenceValues(shape: TemplateShape, question: JudgeQuestion, reference: readonly string[] | undefined): Record<string, string> {
  if (!reference) {
    if (shape.needsReference) throw new TemplateError(`the judge prompt shows a reference answer and question ${question.questionId} has none`);
    return {};
  }
  const needed = shape.multiTurn ? 2 : 1;
  if (reference.length < needed) throw new TemplateError(`question ${question.questionId}'s reference answer has ${reference.length} turn(s), the judge prompt needs ${needed}`);
  return shape.multiTurn ? { ref_answer_1: reference[0], ref_answer_2: reference[1] } : { ref_answer_1: reference[0] };
}

/** The turns a judgement reads: 1, or 2 for a multi-turn template (which then needs two of each). */
function checkTurns(shape: TemplateShape, question: JudgeQuestion, answers: readonly (readonly string[])[]): void {
  const needed = shape.multiTurn ? 2 : 1;
  if (question.turns.length < needed) throw new TemplateError(`question ${question.questionId} has ${question.turns.length} turn(s), the judge prompt needs ${needed}`);
  for (const a of answers) {
    if (a.length < needed) throw new TemplateError(`an answer to question ${question.questionId} has ${a.length} turn(s), the judge prompt needs ${needed}`);
  }
}

/** Single-answer grading: `answer` holds the model's answer to each turn. */
export function singleJudgeMessages(prompt: JudgePrompt, question: JudgeQuestion, answer: readonly string[], reference?: readonly string[]): ChatMessage[] {
  if (prompt.type !== 'single') throw new TemplateError(`judge prompt "${prompt.name}" is ${prompt.type}, not single-answer grading`);
  const shape = templateShape(prompt.type, prompt.promptTemplate);
  checkTurns(shape, question, [answer]);
  const q = question.turns;
  const values: Record<string, string> = shape.multiTurn
    ? { question_1: q[0], question_2: q[1], answer_1: answer[0], answer_2: answer[1] }
    : { question: q[0], answer: answer[0] };
  return messages(prompt, fillTemplate(prompt.promptTemplate, { ...values, ...referenceValues(shape, question, reference) }));
}

/** Pairwise comparison: assistant A's and assistant B's answers to each turn. */
export function pairJudgeMessages(
  prompt: JudgePrompt,
  question: JudgeQuestion,
  answerA: readonly string[],
  answerB: readonly string[],
  reference?: readonly string[],
): ChatMessage[] {
  if (prompt.type !== 'pairwise') throw new TemplateError(`judge prompt "${prompt.name}" is ${prompt.type}, not pairwise`);
  const shape = templateShape(prompt.type, prompt.promptTemplate);
  checkTurns(shape, question, [answerA, answerB]);
  const q = question.turns;
  const values: Record<string, string> = shape.multiTurn
    ? { question_1: q[0], question_2: q[1], answer_a_1: answerA[0], answer_b_1: answerB[0], answer_a_2: answerA[1], answer_b_2: answerB[1] }
    : { question: q[0], answer_a: answerA[0], answer_b: answerB[0] };
  return messages(prompt, fillTemplate(prompt.promptTemplate, { ...values, ...referenceValues(shape, question, reference) }));
}
