// The GPU memory a LoRA run would need, checked against the adapter's buffer limits before it starts. The
// estimate is a pure formula of the model config (engine/model/memory-estimate.ts), so the page computes it
// itself for the exact module names chosen (the worker's estimateMemory call only knows all-linear or
// attention).

import type { BufferLimits, MemoryEstimate } from '../engine/model/memory-estimate';
import { estimateMemory } from '../engine/model/memory-estimate';
import type { LoadedModelInfo } from '../worker/protocol';

export type TrainMemory = { estimate: MemoryEstimate; limits: BufferLimits } | { error: string };

/**
 * GPT-2's two c_proj modules are one name to the estimate: either dotted path counts both, so the estimate
 * is an upper bound when only one of them is trained.
 */
function estimateTargets(targets: readonly string[]): string[] {
  return [...new Set(targets.map((t) => (t === 'attn.c_proj' || t === 'mlp.c_proj' ? 'c_proj' : t)))];
}

export function trainMemory(
  model: LoadedModelInfo,
  shape: { seqLen: number; batch: number; rank: number; targets: readonly string[] },
  limits: BufferLimits,
): TrainMemory {
  try {
    const estimate = estimateMemory(
      model.config,
      {
        seqLen: shape.seqLen,
        batch: shape.batch,
        weightFormat: model.weightFormat,
        training: { loraRank: shape.rank, targets: estimateTargets(shape.targets) },
      },
      { maxBufferSize: limits.maxBufferSize, maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize },
    );
    return { estimate, limits };
  } catch (err) {
    return { error: (err as Error).message };
  }
}
