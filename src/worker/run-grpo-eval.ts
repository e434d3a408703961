// How many held-out prompts a GRPO evaluation samples. The engine samples every held-out prompt's
// num_generations completions in one batched decode, each sequence with its own KV cache, so the count is
// bounded by the sequences that may decode together; the worker takes that many prompts and the Train
// page's memory estimate counts their KV caches. (No heavy imports: the page's bundle reads this too.)

/** Most held-out prompts an evaluation samples: a mean reward, not a benchmark. */
export const GRPO_EVAL_PROMPTS = 32;
/** Most sequences an evaluation decodes together (each holds a KV cache), unless a training generation has more. */
export const GRPO_EVAL_SEQUENCES = 64;

/**
 * Held-out prompts each evaluation samples, G completions each: at most GRPO_EVAL_PROMPTS, and no more
 * sequences at once than GRPO_EVAL_SEQUENCES or a training generation's batch x accumulation.
 */
export function grpoEvalPrompts(heldOut: number, numGenerations: number, generationSequences: number): number {
  const sequences = Math.max(GRPO_EVAL_SEQUENCES, generationSequences);
  return Math.min(heldOut, GRPO_EVAL_PROMPTS, Math.max(1, Math.floor(sequences / numGenerations)));
}
