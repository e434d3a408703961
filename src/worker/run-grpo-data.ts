// A GRPO run's data: the saved dataset's prompts, split as the run's settings say, read as TRL's
// GRPOTrainer reads a dataset (the prompt column sampled from, every other field handed to the reward
// functions: a prompt-completion record's completion becomes the field "completion"), tokenized with the
// loaded model's tokenizer (conversations through its chat template). A prompt that leaves no room for
// max_completion_length tokens within the run's max length is left out and counted. The held-out prompts
// sampled at each evaluation are the split's first few: the engine samples all of them (num_generations each)
// in one batched decode, so their count is bounded by the sequences that may decode together
// (grpoEvalPrompts), which the Train page's memory estimate counts too.

import type { ChatMessage } from '../engine/data/messages';
import type { PromptRecord } from '../engine/data/prompt-examples';
import { tokenizePrompts, type PromptExample, type TokenizedPrompts } from '../engine/data/tokenize-prompts';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import type { GrpoConfig } from '../engine/train/grpo/grpo-config';
import type { GrpoObjective } from '../engine/train/grpo/grpo-objective';
import { makeGrpoObjective } from '../engine/train/objectives/make-objective';
import type { DatasetRecord, StoredChatMessage, StoredGrpoSettings } from '../storage/records';
import { engineFormat, promptRecords as savedPrompts } from './dataset-records';
import { runSplit, splitDataset, type DatasetSplit } from './dataset-split';
import { grpoEvalPrompts } from './run-grpo-eval';
import { datasetMismatch } from './run-method';

export interface GrpoRunData {
  kind: 'grpo';
  objective: GrpoObjective;
  train: readonly PromptExample[];
  /** The held-out prompts each evaluation samples (grpoEvalPrompts). */
  eval: readonly PromptExample[];
  /** Prompts left out because prompt + max_completion_length exceeds the max length. */
  tooLong: number;
}

/** The engine's GRPO config of a run's stored settings. */
export function grpoConfigOf(s: StoredGrpoSettings): Partial<GrpoConfig> {
  return {
    numGenerations: s.numGenerations,
    maxCompletionLength: s.maxCompletionLength,
    temperature: s.temperature,
    topP: s.topP,
    topK: s.topK,
    stopStrings: s.stopStrings,
    beta: s.beta,
    numIterations: s.numIterations,
    epsilon: s.epsilon,
    epsilonHigh: s.epsilonHigh,
    lossType: s.lossType,
    scaleRewards: s.scaleRewards,
    maskTruncatedCompletions: s.maskTruncatedCompletions,
  };
}

const messages = (list: readonly StoredChatMessage[]): ChatMessage[] => list.map((m) => ({ role: m.role, content: m.content, train: m.train }));

type SftRecord = Extract<DatasetRecord, { method: 'sft' }>;

/** A saved record's examples as GRPO prompt records (an SFT prompt-completion record's completion becomes a field). */
function promptRecords(record: SftRecord, examples: SftRecord['examples']): PromptRecord[] {
  return examples.map(({ line, example }) => {
    switch (example.kind) {
      case 'prompt-completion':
        return { line, prompt: example.prompt, fields: { completion: example.completion } };
      case 'chat-prompt-completion':
        return { line, prompt: messages(example.prompt), fields: { completion: example.completion.map((m) => ({ role: m.role, content: m.content })) } };
      default:
        throw new Error(`The dataset "${record.name}" has a ${example.kind} example on line ${line}: GRPO needs a prompt column.`);
    }
  });
}

/**
 * The dataset's training and held-out prompts, tokenized (records the tokenizer refuses are listed as errors);
 * with `limit`, only the first that many of each split are tokenized. `split`: a run's own (the dataset's by default).
 */
export function grpoPrompts(
  record: DatasetRecord,
  tokenizer: ModelTokenizer,
  limit = Infinity,
  split: DatasetSplit = record.split,
): { train: TokenizedPrompts; eval: TokenizedPrompts } {
  const mismatch = datasetMismatch(record, 'grpo');
  if (mismatch) throw new Error(mismatch);
  if (record.method === 'dpo') throw new Error(`The dataset "${record.name}" holds preference pairs, which GRPO cannot read: it needs prompts.`);
  const format = engineFormat(record);
  const tokenize = (examples: PromptRecord[]) => tokenizePrompts({ file: record.name, format, examples, errors: [], errorCount: 0 }, tokenizer);
  // A prompt dataset (prompt-only, question-answer) holds GRPO's records as they are; SFT data is read for its prompts.
  const prompts = record.method === 'grpo' ? savedPrompts(record.examples) : promptRecords(record, record.examples);
  const parts = splitDataset({ examples: prompts, split });
  return { train: tokenize(parts.train.slice(0, limit)), eval: tokenize(parts.eval.slice(0, limit)) };
}

/** Splits, tokenizes and length-checks the prompts; refuses a dataset with none usable, naming its first bad line. */
export function prepareGrpoData(
  record: DatasetRecord,
  tokenizer: ModelTokenizer,
  settings: { maxLength: number; grpo?: StoredGrpoSettings; loop?: { batchSize: number; gradAccum: number }; split?: DatasetSplit },
): GrpoRunData {
  if (!settings.grpo) throw new Error('A GRPO run needs its GRPO settings (reward functions, generations, ...).');
  const objective = makeGrpoObjective(grpoConfigOf(settings.grpo));
  const room = settings.maxLength - objective.config.maxCompletionLength;
  if (room < 1) {
    throw new Error(`The max length (${settings.maxLength} tokens) leaves no room for a prompt before max_completion_length (${objective.config.maxCompletionLength}) tokens.`);
  }
  const prompts = grpoPrompts(record, tokenizer, Infinity, runSplit(settings, record));
  const fitting = (t: TokenizedPrompts) => t.examples.filter((e) => e.prompt.length <= room);
  const train = fitting(prompts.train);
  const held = fitting(prompts.eval);
  if (train.length === 0) {
    const error = prompts.train.errors[0];
    const first = error
      ? `line ${error.line}: ${error.message}`
      : `every prompt is longer than the ${room} tokens the max length of ${settings.maxLength} leaves beside ${objective.config.maxCompletionLength} completion tokens`;
    throw new Error(`The dataset "${record.name}" has no usable training prompt for this model (${first}).`);
  }
  const tooLong = prompts.train.examples.length - train.length + prompts.eval.examples.length - held.length;
  const generation = settings.loop ? settings.loop.batchSize * settings.loop.gradAccum : 0;
  const evalPrompts = grpoEvalPrompts(held.length, objective.config.numGenerations, generation);
  return { kind: 'grpo', objective, train, eval: held.slice(0, evalPrompts), tooLong };
}
