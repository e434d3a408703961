// The GPU memory a LoRA run would need, checked against the adapter's buffer limits before it starts. The
// estimate is a pure formula of the model config (engine/model/memory-estimate.ts), so the page computes it
// itself for the exact module names chosen (the worker's estimateMemory call only knows all-linear or
// attention), the method's sequences per example, DPO's reference pass, and GRPO's sampling: every
// completion of a generation batch decodes together, each with its own KV cache.

import type { BufferLimits, MemoryEstimate } from '../engine/model/memory-estimate';
import { estimateMemory } from '../engine/model/memory-estimate';
import type { LoadedModelInfo } from '../worker/protocol';
import { isPreferenceMethod, type TrainMethod } from './train-defaults';

export type TrainMemory =
  | {
      estimate: MemoryEstimate;
      limits: BufferLimits;
      /** GRPO: the KV caches of the sequences sampled together (inference's estimate at that batch). */
      rollouts?: { sequences: number; kvCache: number };
      /** Everything together. */
      total: number;
    }
  | { error: string };

/**
 * GPT-2's two c_proj modules are one name to the estimate: either dotted path counts both, so the estimate
 * is an upper bound when only one of them is trained.
 */
function estimateTargets(targets: readonly string[]): string[] {
  return [...new Set(targets.map((t) => (t === 'attn.c_proj' || t === 'mlp.c_proj' ? 'c_proj' : t)))];
}

/** What the estimate needs of the Train page's settings. */
export interface TrainShape {
  seqLen: number;
  /** Examples per micro-batch (preference methods: pairs, two sequences each). */
  batch: number;
  rank: number;
  targets: readonly string[];
  method: TrainMethod;
  /** DPO: reference log-probabilities computed once before training, so no reference pass in the step. */
  precomputeRef?: boolean;
  /** DPO from a saved adapter: the frozen reference's rank and targets. */
  referenceLora?: { rank: number; targets: readonly string[] };
  /** GRPO: completions sampled together (batch x accumulation), each up to seqLen tokens. */
  rolloutSequences?: number;
}

export function trainMemory(model: LoadedModelInfo, shape: TrainShape, limits: BufferLimits): TrainMemory {
  const pairs = isPreferenceMethod(shape.method);
  // Only DPO reads a reference (SimPO and ORPO are reference-free).
  const dpo = shape.method === 'dpo';
  const referenceLora = dpo && shape.referenceLora ? { rank: shape.referenceLora.rank, targets: estimateTargets(shape.referenceLora.targets) } : undefined;
  try {
    const estimate = estimateMemory(
      model.config,
      {
        seqLen: shape.seqLen,
        // A pair is packed as two sequences (chosen and rejected) in the same micro-batch.
        batch: pairs ? 2 * shape.batch : shape.batch,
        weightFormat: model.weightFormat,
        training: { loraRank: shape.rank, targets: estimateTargets(shape.targets), referencePass: dpo && !shape.precomputeRef, referenceLora },
      },
      { maxBufferSize: limits.maxBufferSize, maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize },
    );
    const sampled = shape.method === 'grpo' ? shape.rolloutSequences : undefined;
    if (!sampled) return { estimate, limits, total: estimate.total };
    // The inference estimate at that batch and length: its KV cache is what sampling adds.
    const { kvCache } = estimateMemory(model.config, { seqLen: shape.seqLen, batch: sampled, weightFormat: model.weightFormat });
    return { estimate, limits, rollouts: { sequences: sampled, kvCache }, total: estimate.total + kvCache };
  } catch (err) {
    return { error: (err as Error).message };
  }
}
