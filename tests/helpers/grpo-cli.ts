// What the `tunelab train --method grpo` tests share: fixed rollout groups for --rollouts files, and the
// group-relative advantages written out from TRL's formula (GRPOTrainer._generate_and_score_completions:
// A = (r - mean(group)) / (std(group) + 1e-4), std with Bessel's correction as torch.std).

import { Rng } from '../../src/engine/util/rng';

/** One line of a --rollouts file. */
export interface RolloutGroupLine {
  prompt_input_ids: number[];
  completion_input_ids: number[][];
  rewards: number[];
}

/**
 * `groups` groups of G completions with random ids (3 .. vocab - 1), prompts of 2..5 tokens and completions
 * of 2..7; every other completion ends in `eos` (the rest count as truncated). Rewards are small integers
 * and halves, so groups have unequal spreads; the last group's rewards are all equal (zero std, advantage 0).
 */
export function fixedRolloutGroups(groups: number, G: number, vocab: number, eos: number, seed: number): RolloutGroupLine[] {
  const rng = new Rng(seed);
  const ids = (n: number) => Array.from({ length: n }, () => 3 + rng.int(vocab - 3));
  return Array.from({ length: groups }, (_, g) => ({
    prompt_input_ids: [1, ...ids(1 + rng.int(4))],
    completion_input_ids: Array.from({ length: G }, (_, k) => {
      const c = ids(2 + rng.int(6));
      if (k % 2 === 0) c[c.length - 1] = eos;
      return c;
    }),
    rewards: Array.from({ length: G }, () => (g === groups - 1 ? 0.5 : rng.int(5) / 2)),
  }));
}

export const toJsonl = (rows: readonly object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** TRL's advantages of one group's rewards (scale_rewards "group"). */
export function trlGroupAdvantages(rewards: readonly number[]): number[] {
  const n = rewards.length;
  const mean = rewards.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / (n - 1));
  return rewards.map((r) => (r - mean) / (std + 1e-4));
}
