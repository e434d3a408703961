// `tunelab export` flags.

import { choiceFlag, formatHelp, numberFlag, parseFlags, requiredString, stringFlag, UsageError, type FlagSpec } from '../args';
import { ADAPTER_FLAG, COMMON_FLAGS, MODEL_FLAGS, readCommonArgs, readModelArgs, type CommonArgs, type ModelArgs } from './common';

export type ExportFormat = 'hf' | 'onnx' | 'trl';
export type ExportDtypeFlag = 'f32' | 'f16' | 'bf16';

export interface ExportArgs extends CommonArgs {
  format: ExportFormat;
  /** hf and onnx: the base model and the adapter to merge. */
  model?: ModelArgs;
  /** trl: the `tunelab train --out` folder to turn into a TRL project. */
  run?: string;
  out: string;
  dtype: ExportDtypeFlag;
  /** hf: bytes of weights per shard. */
  maxShardBytes?: number;
}

const FLAGS: FlagSpec[] = [
  { name: 'format', value: 'hf|onnx|trl', help: 'hf: merged Hugging Face folder; onnx: decoder with KV cache for onnxruntime / transformers.js; trl: a TRL project of a run' },
  ...MODEL_FLAGS.slice(0, 1),
  ADAPTER_FLAG,
  { name: 'run', value: 'DIR', help: 'trl: the folder `tunelab train --out DIR` wrote (run.json, the data it names)' },
  { name: 'out', value: 'DIR', help: 'the folder to write (created; files of the same names are replaced)' },
  { name: 'dtype', value: 'f32|f16|bf16', help: 'hf: f32 (default), f16 or bf16 weights; onnx: f32 (model.onnx) or f16 (model_fp16.onnx)' },
  { name: 'max-shard-size', value: 'GB', help: 'hf: split the weights into shards of at most this many GB (default 5)' },
  ...MODEL_FLAGS.slice(1),
  ...COMMON_FLAGS,
];

export const EXPORT_HELP = formatHelp(
  'tunelab export --format hf|onnx --model DIR|HUB-ID [--adapter DIR] --out DIR [--dtype f16] [options]\n' +
    '       tunelab export --format trl --run DIR --out DIR',
  'Writes the model with the adapter merged (W + scale B A) as a Hugging Face folder (config.json,\n' +
    'model.safetensors or shards, tokenizer, generation_config.json, a model card) or as ONNX\n' +
    '(onnx/model.onnx beside the same files, for onnxruntime and transformers.js), or a run as a TRL project\n' +
    '(train.py, the data in TRL\'s format, an accelerate config) to train the same on GPUs elsewhere.',
  FLAGS,
);

export function parseExportArgs(argv: readonly string[]): ExportArgs {
  const flags = parseFlags('export', argv, FLAGS);
  const format = choiceFlag(flags, 'format', ['hf', 'onnx', 'trl'] as const);
  if (!format) throw new UsageError('tunelab export needs --format hf, onnx or trl');
  const out = requiredString(flags, 'out', 'exported');
  const dtype = choiceFlag(flags, 'dtype', ['f32', 'f16', 'bf16'] as const) ?? 'f32';
  const shardGb = numberFlag(flags, 'max-shard-size', { min: { value: 0, exclusive: true } });
  const common = readCommonArgs(flags);
  if (format === 'trl') {
    const run = requiredString(flags, 'run', 'runs/my-run');
    for (const name of ['model', 'adapter', 'dtype', 'max-shard-size']) {
      if (flags.values.has(name)) throw new UsageError(`--${name} does not apply to --format trl (the run's run.json names the model and settings)`);
    }
    return { ...common, format, run, out, dtype };
  }
  if (flags.values.has('run')) throw new UsageError(`--run applies to --format trl only; for ${format} give --model and --adapter`);
  if (format === 'onnx' && dtype === 'bf16') throw new UsageError('--format onnx takes --dtype f32 or f16 (transformers.js has no bf16 ONNX files)');
  if (format === 'onnx' && shardGb !== undefined) throw new UsageError('--max-shard-size applies to --format hf (ONNX moves weights above 2 GB to external data files)');
  return { ...common, format, model: readModelArgs(flags), out, dtype, maxShardBytes: shardGb === undefined ? undefined : shardGb * 1e9 };
}
