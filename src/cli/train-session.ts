// The backend a `tunelab train` run computes on, with a way to generate samples from the adapter as
// trained so far: the GPU (GpuBackend, the adapter attached to the model) or the float64 CPU reference
// (CpuBackend; samples from the merged weights).

import type { LoraAdapter } from '../engine/lora/adapter';
import { mergeAdapter } from '../engine/lora/merge-weights';
import type { CausalLm } from '../engine/model/causal-lm';
import { CpuCausalLm } from '../engine/model/cpu-model';
import { generate } from '../engine/model/generate';
import { GpuCausalLm } from '../engine/model/gpu/gpu-model';
import type { ModelTokenizer } from '../engine/model/tokenizer';
import { CpuBackend } from '../engine/train/cpu/cpu-backend';
import { buildCpuTrainModel } from '../engine/train/cpu/cpu-train-model';
import { GpuBackend } from '../engine/train/gpu/gpu-backend';
import type { TrainerBackend } from '../engine/train/trainer-backend';
import { acquireForCli, type ModelOnDisk } from './load-model';

export interface TrainingSession {
  backend: TrainerBackend;
  /** Greedy continuations of the prompts with the adapter as trained so far. */
  samples(prompts: readonly number[][], maxNewTokens: number): Promise<string[]>;
  /** The model with the adapter as trained so far, for sampling (GRPO's rollouts). */
  policy(): Promise<CausalLm>;
  /** "GPU (SwiftShader ..., f16 weights)" or "CPU reference". */
  description: string;
  dispose(): void;
}

async function greedy(model: CausalLm, tokenizer: ModelTokenizer, prompts: readonly number[][], maxNewTokens: number): Promise<string[]> {
  const results = await generate(model, prompts, { maxNewTokens, temperature: 0 }, { tokenizer });
  return results.map((r) => r.text ?? '');
}

export async function startTraining(
  disk: ModelOnDisk,
  options: { backend: 'gpu' | 'cpu'; weights: 'f16' | 'f32'; recompute: boolean; seed: number; reference?: LoraAdapter; log?: (line: string) => void },
  adapter: LoraAdapter,
  tokenizer: ModelTokenizer,
): Promise<TrainingSession> {
  const { config } = disk.files;
  if (options.backend === 'cpu') {
    const backend = new CpuBackend(buildCpuTrainModel(config, disk.weights), adapter, { reference: options.reference });
    return {
      backend,
      samples: async (prompts, n) => greedy(new CpuCausalLm(config, mergeAdapter(disk.weights, await backend.snapshot())), tokenizer, prompts, n),
      policy: async () => new CpuCausalLm(config, mergeAdapter(disk.weights, await backend.snapshot())),
      description: 'the float64 CPU reference',
      dispose: () => {},
    };
  }
  const ctx = await acquireForCli(options.log);
  try {
    const model = await GpuCausalLm.create(ctx, config, disk.weights, { weightFormat: options.weights });
    const backend = new GpuBackend(model, adapter, { recompute: options.recompute, seed: options.seed, reference: options.reference });
    backend.attach(true);
    const name = ctx.adapter.description || [ctx.adapter.vendor, ctx.adapter.architecture].filter(Boolean).join(' ') || 'unnamed adapter';
    return {
      backend,
      samples: (prompts, n) => greedy(model, tokenizer, prompts, n),
      policy: async () => model,
      description: `the GPU (${name}, ${model.weightFormat} base weights)`,
      dispose: () => {
        backend.dispose();
        model.dispose();
        ctx.destroy();
      },
    };
  } catch (err) {
    ctx.destroy();
    throw err;
  }
}
