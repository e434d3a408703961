// `tunelab judge`'s inputs, all read and checked before a model is loaded: the questions, the judge prompts
// (FastChat's choice by category and turn, or one prompt by name) and the reference answers. A file with a
// bad line is refused with the line's own message (file:line: field ...).

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UsageError } from '../args';
import { checkPromptChoice, mtBenchPromptChoice, type JudgePromptChoice } from '../../engine/eval/judge/prompt-choice';
import { parseJudgePrompts, parseQuestions, parseReferenceAnswers, type JudgeFileError, type JudgeQuestion, type ParsedJudgeFile, type QuestionId } from '../../engine/eval/judge/records';
import { templateShape } from '../../engine/eval/judge/template';
import type { JudgeArgs } from '../options/judge';

/** One judgement to run: the turn it judges and its prompts. */
export interface JudgementPlan {
  turn: 1 | 2;
  prompts: JudgePromptChoice;
}

export interface JudgeInputs {
  questions: JudgeQuestion[];
  references?: Map<QuestionId, string[]>;
  promptsFile: string;
  plans: JudgementPlan[];
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read the ${what} (${code === 'ENOENT' ? 'no such file' : (err as Error).message})`);
  }
}

/** The items, or the first bad line's message (and how many more there are). */
function refuseErrors<T>(parsed: ParsedJudgeFile<T>, file: string, what: string): T[] {
  const errors: JudgeFileError[] = parsed.errors;
  if (errors.length > 0) throw new Error(`${errors[0].message}${errors.length > 1 ? ` (and ${errors.length - 1} more bad lines)` : ''}`);
  if (parsed.items.length === 0) throw new Error(`${file}: no ${what}`);
  return parsed.items;
}

export async function readJudgeInputs(args: JudgeArgs): Promise<JudgeInputs> {
  const all = refuseErrors(parseQuestions(await readText(args.questions, 'questions'), args.questions), args.questions, 'questions');
  const questions = all.slice(0, args.limit ?? all.length);
  const promptsFile = args.judgePrompts ?? join(dirname(args.questions), 'judge_prompts.jsonl');
  const prompts = refuseErrors(parseJudgePrompts(await readText(promptsFile, 'judge prompts (give --judge-prompts FILE)'), promptsFile), promptsFile, 'judge prompts');
  const references = args.referenceAnswers
    ? new Map(refuseErrors(parseReferenceAnswers(await readText(args.referenceAnswers, 'reference answers'), args.referenceAnswers), args.referenceAnswers, 'reference answers').map((r) => [r.questionId, r.turns]))
    : undefined;
  const mode = args.pairwise ? 'pairwise' : 'single';
  let plans: JudgementPlan[];
  if (args.judgePrompt !== undefined) {
    const prompt = prompts.find((p) => p.name === args.judgePrompt);
    if (!prompt) throw new UsageError(`--judge-prompt ${args.judgePrompt}: ${promptsFile} has no such prompt (it has: ${prompts.map((p) => p.name).join(', ')})`);
    if (prompt.type !== mode) throw new UsageError(`--judge-prompt ${prompt.name} is a ${prompt.type} prompt; this is ${args.pairwise ? '--pairwise' : 'single-answer grading (add --pairwise for pairwise prompts)'}`);
    const { multiTurn } = templateShape(prompt.type, prompt.promptTemplate);
    if (multiTurn !== (args.turns === 2)) throw new UsageError(`--judge-prompt ${prompt.name} judges turn ${multiTurn ? 2 : 1}: ${multiTurn ? 'add --turns 2' : 'leave out --turns 2'}`);
    plans = [{ turn: multiTurn ? 2 : 1, prompts: { general: prompt } }];
  } else {
    plans = [{ turn: 1, prompts: mtBenchPromptChoice(prompts, mode, false) }];
    if (args.turns === 2) plans.push({ turn: 2, prompts: mtBenchPromptChoice(prompts, mode, true) });
  }
  for (const plan of plans) checkPromptChoice(plan.prompts, mode);
  return { questions, references, promptsFile, plans };
}
