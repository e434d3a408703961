// One real LoRA training step (GpuTrainer, f16 base weights by default, AdamW in the same submit) with the bytes the
// device held measured around it (ctx.memory, from before the model upload to after the step), beside the
// memory estimate for the same shape (estimateMemory, the sum of the trainer's allocation plan) and the plan
// the trainer itself allocated from. The workloads are the bench's (bench/core/train-workloads.ts): SFT on
// prompt + answer, or DPO with the reference's forward in the step (B pairs = 2B sequences).

import { randomPairs, makeWorkload } from '../../bench/core/train-workloads';
import type { GpuContext } from '../../src/engine/gpu/context';
import { initAdapter, planAdapter } from '../../src/engine/lora/adapter';
import type { LoraConfig } from '../../src/engine/lora/lora-config';
import type { ModelConfig } from '../../src/engine/model/config';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { estimateMemory } from '../../src/engine/model/memory-estimate';
import type { ModelWeights } from '../../src/engine/model/weights';
import { GpuLoraAdapter } from '../../src/engine/train/gpu/gpu-lora';
import { GpuTrainer, type OptimizerHyper } from '../../src/engine/train/gpu/gpu-train-step';
import { largestEntries, type PlannedBuffer, type TrainAllocationPlan } from '../../src/engine/train/gpu/train-allocation';
import { kernelTraits } from '../../src/engine/train/gpu/train-kernel-scratch';
import { Rng } from '../../src/engine/util/rng';

export interface MemoryCase {
  label: string;
  config: ModelConfig;
  weights: ModelWeights;
  lora: LoraConfig;
  objective: 'sft' | 'dpo-ref';
  /** B: sequences (SFT) or pairs (DPO). */
  batch: number;
  /** T */
  seqLen: number;
  recompute?: boolean;
  /** Default 'f16'. */
  weightFormat?: 'f16' | 'f32';
}

export interface MemoryMeasure {
  /** Peak bytes held from before the model upload to after the step. */
  measured: number;
  /** estimateMemory(...).total for the same shape and this device's kernels. */
  estimate: number;
  /** The plan the trainer allocated the step from. */
  plan: TrainAllocationPlan;
  /** Wall seconds of the step (record, submit, and the readback of its losses and gradient norm). */
  stepS: number;
  /** N */
  rows: number;
}

const HYPER: OptimizerHyper = { lr: 2e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };

export async function measureTrainingStep(ctx: GpuContext, c: MemoryCase): Promise<MemoryMeasure> {
  // Nothing of earlier work for this step to reuse: no free pooled buffer, no uniform arena.
  ctx.pool.trim();
  ctx.uniforms.trim();
  const base = ctx.memory.heldBytes;
  ctx.memory.resetPeak();
  const weightFormat = c.weightFormat ?? 'f16';
  const model = await GpuCausalLm.create(ctx, c.config, c.weights, { weightFormat });
  const adapter = initAdapter(planAdapter(c.config.architecture, c.weights, c.lora), new Rng(7));
  const gpuAdapter = GpuLoraAdapter.create(ctx, adapter);
  const trainer = GpuTrainer.create(model, gpuAdapter, { recompute: c.recompute });
  try {
    const workload = makeWorkload(c.objective);
    const prepared = await workload.prepare(trainer, randomPairs(0, c.batch, c.seqLen, c.config.vocabSize));
    const t0 = performance.now();
    await trainer.trainStep([prepared.batch], [prepared.rule], HYPER, prepared.referencePass);
    const stepS = (performance.now() - t0) / 1000;
    const measured = ctx.memory.peakBytes - base;
    const plan = trainer.allocationPlan(prepared.batch, prepared.rule, { optimizer: HYPER, referencePass: prepared.referencePass });
    const sequences = workload.sequences(c.batch);
    const training = {
      loraRank: c.lora.r,
      targets: c.lora.targets,
      recompute: c.recompute,
      referencePass: prepared.referencePass,
      objective: c.objective === 'sft' ? ('sft' as const) : ('preference' as const),
    };
    const limits = { maxBufferSize: ctx.limits.maxBufferSize, maxStorageBufferBindingSize: ctx.limits.maxStorageBufferBindingSize };
    const estimate = estimateMemory(c.config, { seqLen: c.seqLen, batch: sequences, weightFormat, training, kernels: kernelTraits(ctx) }, limits).total;
    return { measured, estimate, plan, stepS, rows: sequences * c.seqLen };
  } finally {
    trainer.dispose();
    gpuAdapter.dispose();
    model.dispose();
    ctx.pool.trim();
  }
}

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

/** One line per case, and the plan's largest entries. */
export function describeMeasure(label: string, m: MemoryMeasure, largest = 6): string {
  const diff = (m.measured - m.estimate) / m.estimate;
  const top = largestEntries(m.plan, largest).map((e: PlannedBuffer) => `${e.name} ${e.count > 1 ? `${e.count} x ` : ''}${MiB(e.heldBytes / e.count)}`);
  return (
    `${label}: measured peak ${MiB(m.measured)}, estimate ${MiB(m.estimate)} (${diff >= 0 ? '+' : ''}${(100 * diff).toFixed(2)}%), ` +
    `trainer's plan ${MiB(m.plan.totalBytes)}, step ${m.stepS.toFixed(1)} s; largest: ${top.join(', ')}`
  );
}
