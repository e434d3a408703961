// `tunelab judge` flags.

import { choiceFlag, formatHelp, hasSwitch, integerFlag, parseFlags, requiredString, stringFlag, UsageError, type FlagSpec } from '../args';
import { ADAPTER_FLAG, COMMON_FLAGS, MODEL_FLAGS, readCommonArgs, readModelArgs, type CommonArgs, type ModelArgs } from './common';

/** Where the judge's API key comes from: an environment variable, never a flag (flags land in shell history). */
export const JUDGE_API_KEY_ENV = 'TUNELAB_JUDGE_API_KEY';

export type JudgeSource = { type: 'model'; model: string } | { type: 'endpoint'; url: string; model: string };

export interface JudgeArgs extends CommonArgs, ModelArgs {
  judge: JudgeSource;
  questions: string;
  pairwise: boolean;
  /** Default: judge_prompts.jsonl beside the questions file (FastChat's data/ layout keeps them together). */
  judgePrompts?: string;
  /** One prompt by name for every question instead of FastChat's choice by category and turn. */
  judgePrompt?: string;
  referenceAnswers?: string;
  /** 1: first turns only; 2: both turns, each judged (turn 2 with the multi-turn prompts). */
  turns: 1 | 2;
  limit?: number;
  /** New tokens per answer (FastChat's gen_model_answer.py: 1024). */
  maxNewTokens: number;
  /** New tokens per judgment. */
  judgeMaxNewTokens: number;
  /** Sequences decoded together, for answers and for judgments. */
  batchSize: number;
  /** Also write the JSON result to this file. */
  json?: string;
}

export const DEFAULT_ANSWER_TOKENS = 1024;
export const DEFAULT_JUDGMENT_TOKENS = 1024;

const FLAGS: FlagSpec[] = [
  ...MODEL_FLAGS.slice(0, 1),
  ADAPTER_FLAG,
  { name: 'judge', value: 'DIR|HUB-ID', help: 'the judge model, run by Tunelab in this process (e.g. Qwen/Qwen2.5-0.5B-Instruct)' },
  { name: 'judge-endpoint', value: 'URL', help: `instead of --judge: an OpenAI-compatible server (URL/chat/completions); key from $${JUDGE_API_KEY_ENV}` },
  { name: 'judge-endpoint-model', value: 'NAME', help: "with --judge-endpoint: the server's model name" },
  { name: 'questions', value: 'FILE', help: 'MT-Bench questions JSONL ({"question_id", "category", "turns"})' },
  { name: 'pairwise', help: 'compare the adapter with the base, both orders (default: grade each answer 1-10)' },
  { name: 'judge-prompts', value: 'FILE', help: "FastChat's judge_prompts.jsonl (default: judge_prompts.jsonl beside --questions)" },
  { name: 'judge-prompt', value: 'NAME', help: 'use this judge prompt for every question (default: FastChat\'s choice by category and turn)' },
  { name: 'reference-answers', value: 'FILE', help: 'reference answers JSONL: math, reasoning and coding questions are judged against them' },
  { name: 'turns', value: '1|2', help: '1 (default): answer and judge first turns; 2: both turns, turn 2 judged with the multi-turn prompts' },
  { name: 'limit', value: 'N', help: 'only the first N questions' },
  { name: 'max-new-tokens', value: 'N', help: `new tokens per answer (default ${DEFAULT_ANSWER_TOKENS}, as FastChat)` },
  { name: 'judge-max-new-tokens', value: 'N', help: `new tokens per judgment (default ${DEFAULT_JUDGMENT_TOKENS})` },
  { name: 'batch-size', value: 'B', help: 'sequences decoded together (default 8)' },
  { name: 'json', value: 'OUT', help: 'also write the JSON result to OUT' },
  ...MODEL_FLAGS.slice(1),
  ...COMMON_FLAGS,
];

export const JUDGE_HELP = formatHelp(
  'tunelab judge --model DIR|HUB-ID [--adapter DIR] --judge DIR|HUB-ID --questions FILE [--pairwise] [options]',
  'LLM-as-a-judge, MT-Bench style (FastChat\'s llm_judge). Generates the base\'s (and with --adapter the\n' +
    'adapter\'s) greedy answers to each question, then asks the judge with FastChat\'s judge prompts:\n' +
    'single-answer grading (a 1-10 rating per answer, mean and stderr over the parsed ratings) or, with\n' +
    '--pairwise, adapter against base in both orders (a win counts only if it survives the swap, else a tie).\n' +
    'Verdicts are read with the judge prompt\'s own format; unparsable ones are counted, never guessed.\n' +
    'The JSON result goes to stdout (and --json OUT); progress to stderr.',
  FLAGS,
);

function readJudgeSource(flags: ReturnType<typeof parseFlags>): JudgeSource {
  const model = stringFlag(flags, 'judge');
  const url = stringFlag(flags, 'judge-endpoint');
  const endpointModel = stringFlag(flags, 'judge-endpoint-model');
  if (model !== undefined && url !== undefined) throw new UsageError('--judge and --judge-endpoint exclude each other');
  if (url !== undefined) {
    if (!endpointModel) throw new UsageError('--judge-endpoint needs --judge-endpoint-model (the server\'s model name)');
    return { type: 'endpoint', url, model: endpointModel };
  }
  if (endpointModel !== undefined) throw new UsageError('--judge-endpoint-model goes with --judge-endpoint');
  return { type: 'model', model: requiredString(flags, 'judge', 'Qwen/Qwen2.5-0.5B-Instruct') };
}

export function parseJudgeArgs(argv: readonly string[]): JudgeArgs {
  const flags = parseFlags('judge', argv, FLAGS);
  const pairwise = hasSwitch(flags, 'pairwise');
  const model = readModelArgs(flags);
  if (pairwise && model.adapter === undefined) throw new UsageError('--pairwise compares an adapter with the base: give --adapter DIR');
  return {
    ...readCommonArgs(flags),
    ...model,
    judge: readJudgeSource(flags),
    questions: requiredString(flags, 'questions', 'question.jsonl'),
    pairwise,
    judgePrompts: stringFlag(flags, 'judge-prompts'),
    judgePrompt: stringFlag(flags, 'judge-prompt'),
    referenceAnswers: stringFlag(flags, 'reference-answers'),
    turns: Number(choiceFlag(flags, 'turns', ['1', '2'] as const) ?? '1') as 1 | 2,
    limit: integerFlag(flags, 'limit', { min: { value: 1 } }),
    maxNewTokens: integerFlag(flags, 'max-new-tokens', { min: { value: 1 } }) ?? DEFAULT_ANSWER_TOKENS,
    judgeMaxNewTokens: integerFlag(flags, 'judge-max-new-tokens', { min: { value: 1 } }) ?? DEFAULT_JUDGMENT_TOKENS,
    batchSize: integerFlag(flags, 'batch-size', { min: { value: 1 } }) ?? 8,
    json: stringFlag(flags, 'json'),
  };
}
