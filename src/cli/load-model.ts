// `--model X --backend B --weights W` -> a running CausalLm, in two phases: readModel resolves the source
// (folder or Hub id), reads and checks every file and maps the weights; startModel takes the GPU and
// uploads, or builds the CPU reference. Commands check their own inputs (tokenizer, prompt, ids) between
// the two, so every mistake in the files or the flags is reported before the GPU is touched.

import type { GpuContext } from '../engine/gpu/context';
import { GpuUnavailableError } from '../engine/gpu/errors';
import type { CausalLm } from '../engine/model/causal-lm';
import { CpuCausalLm } from '../engine/model/cpu-model';
import { GpuCausalLm } from '../engine/model/gpu/gpu-model';
import { loadModelFiles, type ModelFiles } from '../engine/model/model-files';
import { countParameters, mapWeights, type ModelWeights } from '../engine/model/weights';
import { mergeAdapter } from '../engine/lora/merge-weights';
import type { LoraAdapter } from '../engine/lora/adapter';
import { GpuLoraAdapter } from '../engine/train/gpu/gpu-lora';
import { importAdapterDir } from '../node/adapter-files';
import { acquireNodeGpu } from '../node/node-gpu';
import { resolveModelSource } from '../node/resolve-model-source';
import { formatBytes, formatCount, formatSeconds } from './format';
import { applyMatmulTuning } from './matmul-tuning';
import type { ModelArgs } from './options/common';
import type { Progress } from './progress';
import type { ModelSource } from '../engine/model/source';
import type { Architecture } from '../engine/model/config';

/** The checked files and weights, before any backend is touched. */
export interface ModelOnDisk {
  /** Where the files came from (a folder or the Hub), to read more of them (the model card). */
  source: ModelSource;
  files: ModelFiles;
  weights: ModelWeights;
  /** "<source>: llama, 5 layers, ..." for the progress line. */
  summary: string;
  started: number;
  /** The --adapter, checked against the model, when given. */
  adapter?: LoraAdapter;
}

export interface LoadedModel {
  files: ModelFiles;
  model: CausalLm;
  /** Frees the model and the GPU device. */
  dispose(): void;
}

/** The GPU device, with the CPU reference offered when there is none; no matmul tuning applied. */
export async function acquireGpuOnly(): Promise<GpuContext> {
  try {
    return await acquireNodeGpu();
  } catch (err) {
    if (err instanceof GpuUnavailableError) {
      throw new GpuUnavailableError(err.reason, `${err.message} Or run on the CPU reference with --backend cpu (slow).`);
    }
    throw err;
  }
}

/** The GPU device with this adapter's matmul tuning (measured on first use; `log` hears about it). */
export async function acquireForCli(log?: (line: string) => void): Promise<GpuContext> {
  const ctx = await acquireGpuOnly();
  await applyMatmulTuning(ctx, log);
  return ctx;
}

/** Reads a PEFT adapter folder and says on stderr what the import applied (rank_pattern, alpha_pattern) and
 * corrected or ignored, as PEFT would say it. */
export async function readAdapterReporting(dir: string, architecture: Architecture, weights: ModelWeights, progress: Pick<Progress, 'line'>): Promise<LoraAdapter> {
  const imported = await importAdapterDir(dir, architecture, weights);
  for (const note of imported.notes) progress.line(`adapter ${dir}: ${note}`);
  for (const warning of imported.warnings) progress.line(`warning: ${warning}`);
  return imported.adapter;
}

/** Resolves the source (download with progress) and checks config, tensor names and shapes. */
export async function readModel(args: ModelArgs, progress: Progress): Promise<ModelOnDisk> {
  const started = performance.now();
  const source = await resolveModelSource(args.model, {
    endpoint: args.hubEndpoint,
    revision: args.revision,
    cacheDir: args.cacheDir,
  });
  const files = await loadModelFiles(source, progress.download);
  const weights = mapWeights(files.config, files.weights);
  const c = files.config;
  const adapter = args.adapter ? await readAdapterReporting(args.adapter, c.architecture, weights, progress) : undefined;
  const summary =
    `${source.id}: ${c.architecture}, ${c.numLayers} layers, hidden ${c.hiddenSize}, vocab ${c.vocabSize}, ` +
    `${formatCount(countParameters(weights))} parameters, ${formatBytes(files.bytes)}` +
    (adapter ? `, LoRA r=${adapter.config.r} on ${adapter.modules.length} modules from ${args.adapter}` : '');
  return { source, files, weights, summary, started, adapter };
}

/** Builds the CPU reference, or takes the GPU and uploads the weights. */
export async function startModel(disk: ModelOnDisk, args: ModelArgs, progress: Progress): Promise<LoadedModel> {
  const { files, weights, summary, started, adapter } = disk;
  const c = files.config;
  if (args.backend === 'cpu') {
    // The float64 reference runs an adapter as merged weights: W + scale B A.
    const model = new CpuCausalLm(c, adapter ? mergeAdapter(weights, adapter) : weights);
    progress.line(`loaded ${summary} on the CPU reference in ${formatSeconds(performance.now() - started)}`);
    return { files, model, dispose: () => model.dispose() };
  }

  const ctx = await acquireForCli((line) => progress.line(line));
  try {
    const model = await GpuCausalLm.create(ctx, c, weights, { weightFormat: args.weights });
    const lora = adapter ? GpuLoraAdapter.create(ctx, adapter, { inferenceOnly: true }) : undefined;
    if (lora) model.setAdapter(lora);
    const adapterName = ctx.adapter.description || [ctx.adapter.vendor, ctx.adapter.architecture].filter(Boolean).join(' ');
    progress.line(
      `loaded ${summary} on the GPU (${adapterName || 'unnamed adapter'}, ${model.weightFormat} weights, ` +
        `${formatBytes(model.weightBytes)}) in ${formatSeconds(performance.now() - started)}`,
    );
    return {
      files,
      model,
      dispose: () => {
        model.dispose();
        lora?.dispose();
        ctx.destroy();
      },
    };
  } catch (err) {
    ctx.destroy();
    throw err;
  }
}
