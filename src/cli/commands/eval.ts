// `tunelab eval`: the held-out objective on --data with the training's own accounting — SFT: loss and
// perplexity of the trained tokens; DPO, SimPO, ORPO: the objective's loss, the preference accuracy, the
// mean reward margin and TRL's reward metrics against the base model — and, for prompt-completion or
// preference data, the exact-match and --regex rates of greedy generations from the prompts. One JSON
// object on stdout; progress on stderr.

import { planAdapter, type LoraAdapter } from '../../engine/lora/adapter';
import type { ModelConfig } from '../../engine/model/config';
import { ModelTokenizer } from '../../engine/model/tokenizer';
import type { ModelWeights } from '../../engine/model/weights';
import { DEFAULT_MAX_PROMPT_LENGTH, tokenizePreferenceDataset } from '../../engine/data/tokenize-preference';
import { tokenizeSftDataset } from '../../engine/data/tokenize-sft';
import { isPreferenceMethod, makeObjective } from '../../engine/train/objectives/make-objective';
import { evaluateSet } from '../../engine/train/train-loop';
import { generationCases, generationReport } from '../eval-generation';
import { readModel } from '../load-model';
import type { EvalArgs } from '../options/eval';
import { Progress } from '../progress';
import type { CliStreams } from '../streams';
import { readPreferenceFile, readSftFile } from '../train-data';
import { startTraining, type TrainingSession } from '../train-session';

/**
 * Without --adapter the model runs through the trainer with a one-module adapter whose B is 0: its output
 * is bit-equal to the base model's (tests/gpu/lora-inference.test.ts).
 */
function neutralAdapter(config: ModelConfig, weights: ModelWeights): LoraAdapter {
  const target = config.architecture === 'gpt2' ? 'c_attn' : 'q_proj';
  return planAdapter(config.architecture, weights, { r: 1, alpha: 1, dropout: 0, targets: [target], useRslora: false });
}

/** SFT: loss and perplexity over the trained tokens. */
async function sftScores(args: EvalArgs, session: TrainingSession, tokenizer: ModelTokenizer, maxLength: number, progress: Progress) {
  const dataset = await readSftFile(args.data);
  const tokenized = tokenizeSftDataset(dataset, tokenizer, { maxLength });
  if (tokenized.examples.length === 0) throw new Error(`${args.data}: no usable ${dataset.format} records`);
  const skipped = dataset.errorCount + tokenized.errors.length;
  if (skipped) progress.line(`${args.data}: skipped ${skipped} records (run tunelab train on it to see which)`);
  const fields = await evaluateSet(session.backend, makeObjective('sft'), tokenized.examples, args.batchSize);
  progress.line(`loss ${fields.eval_loss.toFixed(4)} over ${fields.eval_tokens} tokens of ${tokenized.examples.length} examples`);
  return {
    scores: { format: dataset.format, examples: tokenized.examples.length, tokens: fields.eval_tokens, loss: fields.eval_loss, perplexity: fields.eval_perplexity },
    cases: generationCases(dataset.examples.map((r) => r.example), tokenizer),
  };
}

/** DPO, SimPO, ORPO on pairs: the objective's loss and metrics, the policy against the base. */
async function preferenceScores(args: EvalArgs, session: TrainingSession, tokenizer: ModelTokenizer, maxLength: number, progress: Progress) {
  const dataset = await readPreferenceFile(args.data);
  const maxPromptLength = Math.min(args.maxPromptLength ?? DEFAULT_MAX_PROMPT_LENGTH, maxLength - 1);
  const tokenized = tokenizePreferenceDataset(dataset, tokenizer, { maxLength, maxPromptLength });
  if (tokenized.pairs.length === 0) throw new Error(`${args.data}: no usable ${dataset.format} pairs`);
  const skipped = dataset.errorCount + tokenized.errors.length + dataset.identical + tokenized.identical;
  if (skipped) progress.line(`${args.data}: skipped ${skipped} pairs (run tunelab train on it to see which)`);
  if (!isPreferenceMethod(args.method)) throw new Error(`--method ${args.method} does not read preference pairs`);
  const objective = makeObjective(args.method, args.preference);
  const fields = await evaluateSet(session.backend, objective, tokenized.pairs, args.batchSize);
  const metric = (name: string) => fields.objective[`eval_${name}`];
  progress.line(`preference accuracy ${(metric('logps/accuracy') * 100).toFixed(1)}%, mean reward margin ${metric('rewards/margins').toFixed(4)} over ${tokenized.pairs.length} pairs`);
  const metrics = Object.fromEntries(Object.entries(fields.objective).map(([name, value]) => [name.replace(/^eval_/, ''), value]));
  return {
    scores: {
      format: dataset.format,
      method: args.method,
      pairs: tokenized.pairs.length,
      tokens: fields.eval_tokens,
      loss: fields.eval_loss,
      preference_accuracy: metric('logps/accuracy'),
      mean_margin: metric('rewards/margins'),
      ...metrics,
    },
    cases: generationCases(dataset.examples.map((r) => r.example), tokenizer),
  };
}

export async function runEval(args: EvalArgs, io: CliStreams): Promise<void> {
  const progress = new Progress(io.stderr, args.quiet);
  const disk = await readModel(args, progress);
  const { files, weights } = disk;
  const tokenizer = new ModelTokenizer(files);
  const maxLength = Math.min(args.maxLength ?? 512, files.config.maxPositions);
  const adapter = disk.adapter ?? neutralAdapter(files.config, weights);
  // The reference of DPO's metrics is the base model: the adapter switched off.
  const session = await startTraining(disk, { backend: args.backend, weights: args.weights, recompute: false, seed: 0, log: (line) => progress.line(line) }, adapter, tokenizer);
  try {
    const scored = args.method === 'sft' ? await sftScores(args, session, tokenizer, maxLength, progress) : await preferenceScores(args, session, tokenizer, maxLength, progress);
    const result: Record<string, unknown> = { model: args.model, adapter: args.adapter ?? null, data: args.data, ...scored.scores };
    if (scored.cases.length > 0) result.generation = await generationReport(args, scored.cases, session, progress);
    else if (args.regex) throw new Error(`${args.data}: --regex needs prompt-completion or preference data (this is ${String(scored.scores.format)})`);
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    session.dispose();
  }
}
