// `tunelab eval`: held-out loss and perplexity (the same token accounting as training), and for
// prompt-completion data the exact-match and regex-match rates of greedy generations. One JSON object on
// stdout; progress on stderr.

import { planAdapter, type LoraAdapter } from '../../engine/lora/adapter';
import { ChatTemplate } from '../../engine/model/chat-template';
import type { ModelConfig } from '../../engine/model/config';
import type { SftExample } from '../../engine/data/sft-examples';
import { tokenizeSftDataset } from '../../engine/data/tokenize-sft';
import { ModelTokenizer } from '../../engine/model/tokenizer';
import type { ModelWeights } from '../../engine/model/weights';
import { evaluate } from '../../engine/train/sft-loop';
import { readModel } from '../load-model';
import type { EvalArgs } from '../options/eval';
import { Progress } from '../progress';
import type { CliStreams } from '../streams';
import { readSftFile } from '../train-data';
import { startTraining } from '../train-session';

interface GenerationCase {
  prompt: string;
  promptIds: number[];
  reference: string;
  referenceTokens: number;
}

/**
 * Without --adapter the loss runs through the trainer with a one-module adapter whose B is 0: its output
 * is bit-equal to the base model's (tests/gpu/lora-inference.test.ts).
 */
function neutralAdapter(config: ModelConfig, weights: ModelWeights): LoraAdapter {
  const target = config.architecture === 'gpt2' ? 'c_attn' : 'q_proj';
  return planAdapter(config.architecture, weights, { r: 1, alpha: 1, dropout: 0, targets: [target], useRslora: false });
}

function generationCase(e: SftExample, tokenizer: ModelTokenizer): GenerationCase | undefined {
  if (e.kind === 'prompt-completion') {
    return { prompt: e.prompt, promptIds: tokenizer.encode(e.prompt), reference: e.completion, referenceTokens: tokenizer.encode(e.completion, { addSpecialTokens: false }).length };
  }
  if (e.kind === 'chat-prompt-completion') {
    const prompt = new ChatTemplate(tokenizer.tokenizerConfig).render(e.prompt, { addGenerationPrompt: true });
    const reference = e.completion.map((m) => m.content).join('\n');
    return { prompt, promptIds: tokenizer.encode(prompt, { addSpecialTokens: false }), reference, referenceTokens: tokenizer.encode(reference, { addSpecialTokens: false }).length };
  }
  return undefined;
}

export async function runEval(args: EvalArgs, io: CliStreams): Promise<void> {
  const progress = new Progress(io.stderr, args.quiet);
  const disk = await readModel(args, progress);
  const { files, weights } = disk;
  const tokenizer = new ModelTokenizer(files);
  const dataset = await readSftFile(args.data);
  const maxLength = Math.min(args.maxLength ?? 512, files.config.maxPositions);
  const tokenized = tokenizeSftDataset(dataset, tokenizer, { maxLength });
  if (tokenized.examples.length === 0) throw new Error(`${args.data}: no usable ${dataset.format} records`);
  const skipped = dataset.errors.length + tokenized.errors.length;
  if (skipped) progress.line(`${args.data}: skipped ${skipped} records (run tunelab train on it to see which)`);

  const adapter = disk.adapter ?? neutralAdapter(files.config, weights);
  const session = await startTraining(disk, { backend: args.backend, weights: args.weights, recompute: false, seed: 0 }, adapter, tokenizer);
  try {
    const { loss, tokens } = await evaluate(session.backend, tokenized.examples, args.batchSize);
    progress.line(`loss ${loss.toFixed(4)} over ${tokens} tokens of ${tokenized.examples.length} examples`);
    const result: Record<string, unknown> = {
      model: args.model,
      adapter: args.adapter ?? null,
      data: args.data,
      format: dataset.format,
      examples: tokenized.examples.length,
      tokens,
      loss,
      perplexity: Math.exp(loss),
    };

    const cases = dataset.examples.map((r) => generationCase(r.example, tokenizer)).filter((c): c is GenerationCase => c !== undefined);
    if (cases.length > 0) {
      const generations: string[] = [];
      for (let i = 0; i < cases.length; i += args.batchSize) {
        const chunk = cases.slice(i, i + args.batchSize);
        const maxNew = args.maxNewTokens ?? Math.max(...chunk.map((c) => c.referenceTokens)) + 16;
        generations.push(...(await session.samples(chunk.map((c) => c.promptIds), maxNew)));
        progress.line(`generated ${generations.length}/${cases.length}`);
      }
      const exact = cases.filter((c, i) => generations[i].trim() === c.reference.trim()).length;
      const generation: Record<string, unknown> = { examples: cases.length, exact_match: exact / cases.length };
      if (args.regex) {
        const regex = args.regex;
        const matched = cases.filter((c, i) => regex.test(args.regexTarget === 'completion' ? generations[i] : c.prompt + generations[i])).length;
        generation.regex = { pattern: regex.source, target: args.regexTarget, match_rate: matched / cases.length, matched };
      }
      generation.samples = cases.slice(0, args.samples).map((c, i) => ({ prompt: c.prompt, reference: c.reference, generated: generations[i] }));
      result.generation = generation;
    } else if (args.regex) {
      throw new Error(`${args.data}: --regex needs prompt-completion data (this is ${dataset.format})`);
    }
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    session.dispose();
  }
}
