// MT-Bench's data files as FastChat ships them (fastchat/llm_judge/data/): questions
// ({question_id, category, turns}), judge prompts ({name, type, system_prompt, prompt_template,
// description, category, output_format}) and reference answers ({question_id, choices: [{turns}]}).
// Each parser reads JSONL text, keeps the good records and reports every bad line with its file, line and
// field (FastChat's load_questions / load_judge_prompts / load_model_answers in common.py stop at the first
// bad line or silently keep the last of two records with the same name; we report both cases).
//
// Public API:
//   parseQuestions(text, file)          -> { items: JudgeQuestion[], errors: JudgeFileError[] }
//   parseJudgePrompts(text, file)       -> { items: JudgePrompt[], errors }
//   parseReferenceAnswers(text, file)   -> { items: ReferenceAnswer[], errors }
//   checkJudgePrompt(value)             -> the field errors of one prompt record (an edited one included)
//   judgePromptToJson(prompt)           -> the record in FastChat's field names (for export)
// A judge prompt is plain data: an edited template is simply another JudgePrompt.

import { templateShape, TemplateError } from './template';

export type QuestionId = number | string;

export interface JudgeQuestion {
  questionId: QuestionId;
  /** FastChat's category ("writing", "math", ...); "" when the file gives none. */
  category: string;
  /** The user turns, in order (MT-Bench has two). */
  turns: string[];
}

/** FastChat's output formats: a 1-10 rating, a winner among [[A]] / [[B]] / [[C]], or two ratings. */
export const VERDICT_FORMATS = ['[[rating]]', '[[A]]', '[[rating_a,rating_b]]'] as const;
export type VerdictFormat = (typeof VERDICT_FORMATS)[number];

export type JudgeMode = 'single' | 'pairwise';

export interface JudgePrompt {
  name: string;
  /** single: grade one answer; pairwise: compare answers A and B. */
  type: JudgeMode;
  /** Sent as the system message (left out when empty, as FastChat's to_openai_api_messages does). */
  systemPrompt: string;
  /** Python str.format text: {question}, {answer}, {answer_a}, {ref_answer_1}, {question_2}, ... */
  promptTemplate: string;
  outputFormat: VerdictFormat;
  description?: string;
  category?: string;
}

export interface ReferenceAnswer {
  questionId: QuestionId;
  /** The reference's answer to each turn. */
  turns: string[];
}

/** One bad line of a file: where it is and which field is wrong. */
export class JudgeFileError extends Error {
  override readonly name = 'JudgeFileError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string | undefined,
    detail: string,
  ) {
    super(`${file}:${line}: ${field ? `field "${field}" ` : ''}${detail}`);
  }
}

export interface ParsedJudgeFile<T> {
  items: T[];
  errors: JudgeFileError[];
}

type Json = Record<string, unknown>;

/** A field problem inside one record: [field, detail]. */
type FieldProblem = [field: string | undefined, detail: string];

/** Each non-empty line as a JSON object, or an error naming the line. */
function jsonLines(text: string, file: string, read: (record: Json) => FieldProblem[]): JudgeFileError[] {
  const errors: JudgeFileError[] = [];
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r?\n/);
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      errors.push(new JudgeFileError(file, i + 1, undefined, `is not valid JSON (${(err as Error).message})`));
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      errors.push(new JudgeFileError(file, i + 1, undefined, 'must be a JSON object'));
      return;
    }
    for (const [field, detail] of read(value as Json)) errors.push(new JudgeFileError(file, i + 1, field, detail));
  });
  return errors;
}

function questionIdOf(record: Json, problems: FieldProblem[]): QuestionId | undefined {
  const id = record.question_id;
  if ((typeof id === 'number' && Number.isInteger(id)) || (typeof id === 'string' && id !== '')) return id;
  problems.push(['question_id', id === undefined ? 'is missing' : `must be an integer or a non-empty string, got ${JSON.stringify(id)}`]);
  return undefined;
}

function stringList(value: unknown, field: string, problems: FieldProblem[]): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push([field, value === undefined ? 'is missing' : 'must be a non-empty list of strings']);
    return undefined;
  }
  const bad = value.findIndex((t) => typeof t !== 'string');
  if (bad >= 0) {
    problems.push([`${field}[${bad}]`, `must be a string, got ${JSON.stringify(value[bad])}`]);
    return undefined;
  }
  return value as string[];
}

/** Duplicate keys are errors: FastChat would keep the last record without a word. */
function rejectDuplicate(seen: Set<string>, key: string, field: string, problems: FieldProblem[]): boolean {
  if (seen.has(key)) {
    problems.push([field, `${key} appears on an earlier line too`]);
    return true;
  }
  seen.add(key);
  return false;
}

export function parseQuestions(text: string, file: string): ParsedJudgeFile<JudgeQuestion> {
  const items: JudgeQuestion[] = [];
  const seen = new Set<string>();
  const errors = jsonLines(text, file, (r) => {
    const problems: FieldProblem[] = [];
    const questionId = questionIdOf(r, problems);
    const turns = stringList(r.turns, 'turns', problems);
    if (r.category !== undefined && typeof r.category !== 'string') problems.push(['category', `must be a string, got ${JSON.stringify(r.category)}`]);
    if (questionId !== undefined) rejectDuplicate(seen, JSON.stringify(questionId), 'question_id', problems);
    if (problems.length === 0) items.push({ questionId: questionId!, category: (r.category as string | undefined) ?? '', turns: turns! });
    return problems;
  });
  return { items, errors };
}

function optionalString(r: Json, key: string, problems: FieldProblem[]): string | undefined {
  const v = r[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') problems.push([key, `must be a string, got ${JSON.stringify(v)}`]);
  return typeof v === 'string' ? v : undefined;
}

function requiredString(r: Json, key: string, problems: FieldProblem[], allowEmpty: boolean): string | undefined {
  const v = r[key];
  if (typeof v === 'string' && (allowEmpty || v !== '')) return v;
  problems.push([key, v === undefined ? 'is missing' : `must be a ${allowEmpty ? '' : 'non-empty '}string, got ${JSON.stringify(v)}`]);
  return undefined;
}

/** The output formats each judge type reads (FastChat: run_judge_single, run_judge_pair). */
const FORMATS_OF: Record<JudgeMode, readonly VerdictFormat[]> = {
  single: ['[[rating]]'],
  pairwise: ['[[A]]', '[[rating_a,rating_b]]'],
};

/** Every problem of one judge prompt record in FastChat's field names (an empty list: it is usable). */
function promptProblems(r: Json): { prompt?: JudgePrompt; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const name = requiredString(r, 'name', problems, false);
  const type = r.type;
  if (type !== 'single' && type !== 'pairwise') problems.push(['type', `must be "single" or "pairwise", got ${JSON.stringify(type)}`]);
  const systemPrompt = requiredString(r, 'system_prompt', problems, true);
  const promptTemplate = requiredString(r, 'prompt_template', problems, false);
  const outputFormat = r.output_format;
  if (type === 'single' || type === 'pairwise') {
    const allowed = FORMATS_OF[type];
    if (!allowed.includes(outputFormat as VerdictFormat)) {
      problems.push(['output_format', `must be ${allowed.map((f) => JSON.stringify(f)).join(' or ')} for a ${type} judge, got ${JSON.stringify(outputFormat)}`]);
    }
    if (promptTemplate !== undefined) {
      try {
        templateShape(type, promptTemplate);
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        problems.push(['prompt_template', err.message]);
      }
    }
  }
  const description = optionalString(r, 'description', problems);
  const category = optionalString(r, 'category', problems);
  if (problems.length > 0) return { problems };
  const prompt: JudgePrompt = { name: name!, type: type as JudgeMode, systemPrompt: systemPrompt!, promptTemplate: promptTemplate!, outputFormat: outputFormat as VerdictFormat };
  if (description !== undefined) prompt.description = description;
  if (category !== undefined) prompt.category = category;
  return { prompt, problems };
}

export function parseJudgePrompts(text: string, file: string): ParsedJudgeFile<JudgePrompt> {
  const items: JudgePrompt[] = [];
  const seen = new Set<string>();
  const errors = jsonLines(text, file, (r) => {
    const { prompt, problems } = promptProblems(r);
    if (prompt && !rejectDuplicate(seen, JSON.stringify(prompt.name), 'name', problems)) items.push(prompt);
    return problems;
  });
  return { items, errors };
}

/** FastChat's record shape of a prompt (snake_case), e.g. for saving an edited prompt as JSONL. */
export function judgePromptToJson(p: JudgePrompt): Json {
  return {
    name: p.name,
    type: p.type,
    system_prompt: p.systemPrompt,
    prompt_template: p.promptTemplate,
    ...(p.description !== undefined ? { description: p.description } : {}),
    ...(p.category !== undefined ? { category: p.category } : {}),
    output_format: p.outputFormat,
  };
}

/** The problems of one prompt (e.g. one the user edited), as "field: detail" strings; [] when usable. */
export function checkJudgePrompt(p: JudgePrompt): string[] {
  return promptProblems(judgePromptToJson(p)).problems.map(([field, detail]) => (field ? `${field}: ${detail}` : detail));
}

export function parseReferenceAnswers(text: string, file: string): ParsedJudgeFile<ReferenceAnswer> {
  const items: ReferenceAnswer[] = [];
  const seen = new Set<string>();
  const errors = jsonLines(text, file, (r) => {
    const problems: FieldProblem[] = [];
    const questionId = questionIdOf(r, problems);
    // FastChat reads the first choice: ref_answer["choices"][0]["turns"].
    const choices = r.choices;
    const first = Array.isArray(choices) ? (choices[0] as unknown) : undefined;
    let turns: string[] | undefined;
    if (typeof first !== 'object' || first === null || Array.isArray(first)) {
      problems.push(['choices', choices === undefined ? 'is missing' : 'must be a non-empty list of {"turns": [...]} objects']);
    } else {
      turns = stringList((first as Json).turns, 'choices[0].turns', problems);
    }
    if (questionId !== undefined) rejectDuplicate(seen, JSON.stringify(questionId), 'question_id', problems);
    if (problems.length === 0) items.push({ questionId: questionId!, turns: turns! });
    return problems;
  });
  return { items, errors };
}
