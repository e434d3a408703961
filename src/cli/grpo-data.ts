// What a `tunelab train --method grpo` run samples from: the prompts of --data (and --eval-data or a seeded
// --eval-split), tokenized as TRL does, each with its record's other fields for the rewards; or the fixed
// groups of a --rollouts file (ids and rewards used exactly as given), split the same way.

import { detectFormat } from '../engine/data/detect';
import { toPromptDataset } from '../engine/data/prompt-examples';
import { parseRecords } from '../engine/data/read-records';
import { parseRolloutsFile, type RolloutGroupRecord } from '../engine/data/rollouts-file';
import { tokenizePrompts, type PromptExample } from '../engine/data/tokenize-prompts';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import type { RolloutPrompt } from '../engine/train/grpo/rollouts';
import type { TrainArgs } from './options/train';
import type { Progress } from './progress';
import { readBytes, reportSkipped, skippedLines, splitExamples } from './train-data';

export type GrpoData =
  | { kind: 'prompts'; train: RolloutPrompt[]; eval: RolloutPrompt[] }
  | { kind: 'rollouts'; train: RolloutGroupRecord[]; eval: RolloutGroupRecord[] };

async function loadPrompts(file: string, tokenizer: ModelTokenizer, progress: Progress): Promise<PromptExample[]> {
  const dataset = toPromptDataset(detectFormat(parseRecords(await readBytes(file), file), 'grpo'));
  const tokenized = tokenizePrompts(dataset, tokenizer);
  const skipped = skippedLines(dataset, tokenized.errors);
  reportSkipped(file, skipped, progress);
  if (tokenized.examples.length === 0) throw new Error(`${file}: no usable prompts (${skipped.errorCount} skipped)`);
  progress.line(`${file}: ${tokenized.examples.length} ${dataset.format} prompts`);
  return tokenized.examples;
}

function split<T>(args: TrainArgs, all: T[], held: T[] | undefined): { train: T[]; eval: T[] } {
  return held ? { train: all, eval: held } : args.evalSplit > 0 ? splitExamples(all, args.evalSplit, args.seed) : { train: all, eval: [] };
}

const asRollout = (p: PromptExample): RolloutPrompt => ({ prompt: p.prompt, promptText: p.promptText, fields: p.fields });

export async function loadGrpoData(args: TrainArgs, tokenizer: ModelTokenizer, vocabSize: number, progress: Progress): Promise<GrpoData> {
  const file = args.grpo.rollouts;
  if (file !== undefined) {
    const groups = parseRolloutsFile(await readBytes(file), file, vocabSize);
    const held = args.evalData ? parseRolloutsFile(await readBytes(args.evalData), args.evalData, vocabSize) : undefined;
    progress.line(`${file}: ${groups.length} groups of ${groups[0].completions.length} fixed completions`);
    return { kind: 'rollouts', ...split(args, groups, held) };
  }
  const all = (await loadPrompts(args.data, tokenizer, progress)).map(asRollout);
  const held = args.evalData ? (await loadPrompts(args.evalData, tokenizer, progress)).map(asRollout) : undefined;
  return { kind: 'prompts', ...split(args, all, held) };
}
