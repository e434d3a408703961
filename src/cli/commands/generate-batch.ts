// `tunelab generate --prompts-file FILE`: completes every {"prompt": ...} record of a JSONL file, --batch
// prompts at a time, and writes each record back with "completion" and "finish_reason" added (other fields
// kept). Prompt i is sampled with seed + i whatever the batching, so results do not depend on --batch.

import { readFile, writeFile } from 'node:fs/promises';
import { parseJsonl } from '../../engine/data/read-records';
import { generate, promptIds } from '../../engine/model/generate';
import type { GenerateOptions } from '../../engine/model/generation-options';
import type { ModelTokenizer } from '../../engine/model/tokenizer';
import type { CausalLm } from '../../engine/model/causal-lm';
import type { ModelConfig } from '../../engine/model/config';
import type { GenerateArgs } from '../options/generate';
import type { Progress } from '../progress';
import type { CliStreams } from '../streams';

export interface PromptRecord {
  line: number;
  record: Record<string, unknown>;
  prompt: string;
}

/** Reads the prompts file; any bad line stops the command with its line number. */
export async function readPromptRecords(file: string): Promise<PromptRecord[]> {
  const parsed = parseJsonl(await readFile(file, 'utf8'), file);
  if (parsed.errors.length) throw new Error(`${file}: line ${parsed.errors[0].line}: ${parsed.errors[0].message}`);
  if (parsed.records.length === 0) throw new Error(`${file}: has no records`);
  return parsed.records.map(({ line, value }) => {
    const record = value as Record<string, unknown>;
    if (!record || typeof record !== 'object' || typeof record.prompt !== 'string') {
      throw new Error(`${file}: line ${line}: expected an object with a "prompt" string`);
    }
    return { line, record, prompt: record.prompt };
  });
}

export async function generateBatch(
  model: CausalLm,
  config: ModelConfig,
  tokenizer: ModelTokenizer,
  records: readonly PromptRecord[],
  options: GenerateOptions,
  args: GenerateArgs,
  io: CliStreams,
  progress: Progress,
): Promise<void> {
  const lines: string[] = [];
  const seed = options.seed ?? 0;
  const started = performance.now();
  let tokens = 0;
  for (let start = 0; start < records.length; start += args.batch) {
    const chunk = records.slice(start, start + args.batch);
    const prompts = chunk.map((r) => promptIds(tokenizer, config, r.prompt, { chat: args.chat }));
    const results = await generate(model, prompts, { ...options, seed: (seed + start) >>> 0 }, { tokenizer });
    results.forEach((res, i) => {
      tokens += res.tokens.length;
      const line = JSON.stringify({ ...chunk[i].record, completion: res.text ?? '', finish_reason: res.finishReason });
      if (args.out) lines.push(line);
      else io.stdout.write(`${line}\n`);
    });
    const seconds = (performance.now() - started) / 1000;
    progress.line(`${Math.min(start + args.batch, records.length)}/${records.length} prompts, ${tokens} tokens, ${(tokens / seconds).toFixed(1)} tokens/s`);
  }
  if (args.out) await writeFile(args.out, lines.map((l) => `${l}\n`).join(''));
}
