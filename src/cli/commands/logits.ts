// `tunelab logits`: one sequence through the model; input_ids (I32 [T]) and logits (F32 [T, V]) at every
// position go to a safetensors file, for comparing against another implementation.

import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../args';
import { writeSafetensors } from '../../engine/model/safetensors';
import { ModelTokenizer } from '../../engine/model/tokenizer';
import type { ModelFiles } from '../../engine/model/model-files';
import { formatBytes, formatSeconds } from '../format';
import { readModel, startModel } from '../load-model';
import type { LogitsArgs, LogitsInput } from '../options/logits';
import { Progress } from '../progress';
import type { CliStreams } from '../streams';

/** The token ids to score, checked against the model's vocabulary and context length. */
export function inputIds(input: LogitsInput, files: ModelFiles): number[] {
  const { vocabSize, maxPositions } = files.config;
  const flag = input.kind === 'ids' ? '--ids' : '--text';
  const ids = input.kind === 'ids' ? input.ids : new ModelTokenizer(files).encode(input.text);
  if (ids.length === 0) throw new UsageError(`${flag} gives no tokens (the tokenizer adds no BOS for empty text)`);
  if (ids.length > maxPositions) {
    throw new UsageError(`${flag} gives ${ids.length} tokens, more than the model's ${maxPositions} positions (max_position_embeddings)`);
  }
  const bad = ids.find((id) => id >= vocabSize);
  if (bad !== undefined) throw new UsageError(`${flag}: token id ${bad} is outside the vocabulary (vocab_size ${vocabSize})`);
  return ids;
}

export async function runLogits(args: LogitsArgs, io: CliStreams): Promise<void> {
  const progress = new Progress(io.stderr, args.quiet);
  const disk = await readModel(args, progress);
  const ids = inputIds(args.input, disk.files);
  const loaded = await startModel(disk, args, progress);
  try {
    const { model } = loaded;
    const started = performance.now();
    const sequence = model.createSequence(ids.length);
    const [logits] = await model.extend([{ sequence, tokens: ids }], 'all'); // (T, V)
    model.releaseSequence(sequence);
    const elapsed = performance.now() - started;

    const T = ids.length;
    const V = model.config.vocabSize;
    const bytes = writeSafetensors(
      {
        input_ids: { dtype: 'I32', shape: [T], data: ids },
        logits: { dtype: 'F32', shape: [T, V], data: logits },
      },
      { model: loaded.files.source, backend: args.backend, weights: args.backend === 'gpu' ? args.weights : 'f32' },
    );
    const out = resolve(args.out);
    try {
      await writeFile(out, bytes);
    } catch (err) {
      throw new Error(`cannot write --out ${out}: ${(err as Error).message}`);
    }
    progress.line(`wrote ${out}: logits [${T}, ${V}] (${formatBytes(bytes.byteLength)}), forward in ${formatSeconds(elapsed)}`);
  } finally {
    loaded.dispose();
  }
}
