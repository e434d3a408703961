// `tunelab generate`: streams the generated text to stdout as tokens arrive, then one newline; everything
// else (loading, seed, speed, why it stopped) goes to stderr. Ctrl-C stops after the token in flight.

import { generate, promptIds } from '../../engine/model/generate';
import { resolveGenerateOptions } from '../../engine/model/generation-options';
import { ModelTokenizer } from '../../engine/model/tokenizer';
import { EXIT_INTERRUPTED } from '../errors';
import { formatSeconds } from '../format';
import { readModel, startModel } from '../load-model';
import type { GenerateArgs } from '../options/generate';
import { Progress } from '../progress';
import type { CliStreams } from '../streams';
import { generateBatch, readPromptRecords } from './generate-batch';

/** Exit status after Ctrl-C (128 + SIGINT), as shells report it. */

const FINISH_TEXT = {
  eos: 'the end-of-sequence token',
  'stop-string': 'a --stop string',
  length: '--max-new-tokens (or the context length)',
  aborted: 'Ctrl-C',
} as const;

export async function runGenerate(args: GenerateArgs, io: CliStreams): Promise<number> {
  const progress = new Progress(io.stderr, args.quiet);
  const disk = await readModel(args, progress);
  const { files } = disk;
  const tokenizer = new ModelTokenizer(files);
  const records = args.promptsFile ? await readPromptRecords(args.promptsFile) : undefined;
  const prompt = promptIds(tokenizer, files.config, args.prompt, { chat: args.chat });
  const options = resolveGenerateOptions(
    files,
    {
      maxNewTokens: args.maxNewTokens,
      temperature: args.temperature,
      topK: args.topK,
      topP: args.topP,
      repetitionPenalty: args.repetitionPenalty,
      seed: args.seed,
      stopStrings: args.stop,
    },
    (text) => tokenizer.tokenId(text),
  );
  // A sampled run names its seed on stderr, so it can be repeated with --seed.
  if (options.doSample) options.seed ??= Math.floor(Math.random() * 2 ** 32);

  const loaded = await startModel(disk, args, progress);
  if (records) {
    try {
      await generateBatch(loaded.model, files.config, tokenizer, records, options, args, io, progress);
      return 0;
    } finally {
      loaded.dispose();
    }
  }
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  process.once('SIGINT', onInterrupt);
  try {
    progress.line(
      `prompt: ${prompt.length} token${prompt.length === 1 ? '' : 's'}; ` +
        (options.doSample
          ? `sampling: temperature ${options.temperature}, top-k ${options.topK}, top-p ${options.topP}, seed ${options.seed}`
          : 'greedy') +
        (options.repetitionPenalty !== 1 ? `, repetition penalty ${options.repetitionPenalty}` : '') +
        `; up to ${options.maxNewTokens} new tokens`,
    );
    const started = performance.now();
    let firstTokenAt: number | undefined;
    const [result] = await generate(loaded.model, [prompt], options, {
      tokenizer,
      signal: abort.signal,
      onToken: (_index, _token, delta) => {
        firstTokenAt ??= performance.now();
        if (delta) io.stdout.write(delta);
      },
    });
    io.stdout.write('\n');
    const total = performance.now() - started;
    const n = result.tokens.length;
    const decodeMs = firstTokenAt === undefined ? 0 : performance.now() - firstTokenAt;
    const rate = n > 1 && decodeMs > 0 ? `, ${((n - 1) / (decodeMs / 1000)).toFixed(1)} tokens/s after the first` : '';
    progress.line(
      `generated ${n} token${n === 1 ? '' : 's'} in ${formatSeconds(total)}` +
        (firstTokenAt !== undefined ? ` (first after ${formatSeconds(firstTokenAt - started)}${rate})` : '') +
        `; stopped by ${FINISH_TEXT[result.finishReason]}`,
    );
    return result.finishReason === 'aborted' ? EXIT_INTERRUPTED : 0;
  } finally {
    process.off('SIGINT', onInterrupt);
    loaded.dispose();
  }
}
