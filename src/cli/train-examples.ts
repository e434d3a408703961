// What `tunelab train` trains on, per method: SFT examples or preference pairs from --data, held-out ones
// from --eval-data or a seeded --eval-split, the objective that reads them, and what run.json records
// about the data. One shape for both families, so the command itself does not branch on the method.

import { DEFAULT_MAX_PROMPT_LENGTH } from '../engine/data/tokenize-preference';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import type { TrainingObjective } from '../engine/train/objective';
import { isPreferenceMethod, makeObjective } from '../engine/train/objectives/make-objective';
import type { TrainArgs } from './options/train';
import type { Progress } from './progress';
import { loadPreferenceData, loadSftData, splitExamples } from './train-data';

export interface TrainExamples<E> {
  objective: TrainingObjective<E, unknown>;
  train: E[];
  eval: E[];
  /** Fields of run.json about the data. */
  record: Record<string, unknown>;
}

/** Erased to unknown examples: the objective and its examples always come together. */
export type MethodExamples = TrainExamples<unknown>;

function split<E>(args: TrainArgs, all: E[], held: E[] | undefined): { train: E[]; eval: E[] } {
  return held ? { train: all, eval: held } : splitExamples(all, args.evalSplit, args.seed);
}

export async function loadTrainExamples(args: TrainArgs, tokenizer: ModelTokenizer, maxLength: number, progress: Progress): Promise<MethodExamples> {
  if (!isPreferenceMethod(args.method)) {
    const options = { maxLength, completionOnly: !args.trainPrompt };
    const data = await loadSftData(args.data, tokenizer, options, progress);
    const held = args.evalData ? (await loadSftData(args.evalData, tokenizer, options, progress)).tokenized.examples : undefined;
    const { train, eval: evalSet } = split(args, data.tokenized.examples, held);
    const objective = makeObjective('sft');
    return { objective, train, eval: evalSet, record: { truncated: data.tokenized.truncated, completion_only: options.completionOnly } };
  }
  const maxPromptLength = Math.min(args.maxPromptLength ?? DEFAULT_MAX_PROMPT_LENGTH, maxLength - 1);
  const options = { maxLength, maxPromptLength };
  const data = await loadPreferenceData(args.data, tokenizer, options, progress);
  const held = args.evalData ? (await loadPreferenceData(args.evalData, tokenizer, options, progress)).pairs : undefined;
  const { train, eval: evalSet } = split(args, data.pairs, held);
  const objective = makeObjective(args.method, args.preference);
  const c = objective.config;
  const settings =
    c.method === 'dpo'
      ? { beta: c.beta, loss_type: c.lossType, label_smoothing: c.labelSmoothing }
      : c.method === 'simpo'
        ? { beta: c.beta, simpo_gamma: c.simpoGamma, label_smoothing: c.labelSmoothing }
        : { orpo_lambda: c.orpoLambda };
  return {
    objective,
    train,
    eval: evalSet,
    record: { truncated: data.truncated, prompt_truncated: data.promptTruncated, max_prompt_length: maxPromptLength, ...settings },
  };
}
