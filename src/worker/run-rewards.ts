// A GRPO run's reward functions in this worker: the stored specs compiled by the engine (built-ins in this
// thread, custom JavaScript in the browser's code sandbox, started only when a custom reward needs it), with
// one dispose (safe to call twice) that frees both. A spec that cannot be used is refused here, before a run is stored.

import type { CodeSandbox } from '../engine/eval/sandbox';
import { createRewardSet, type RewardKind, type RewardSet, type RewardSpec } from '../engine/train/grpo/rewards';
import type { StoredRewardSpec } from '../storage/records';

export interface OpenRewardSet {
  set: RewardSet;
  dispose(): void;
}

/** The engine's spec of a stored one (the kind is checked by createRewardSet). */
export function rewardSpecOf(s: StoredRewardSpec): RewardSpec {
  return { kind: s.kind as RewardKind, name: s.name, weight: s.weight, ...(s.arg !== undefined && { arg: s.arg }) };
}

export async function openRewardSet(specs: readonly StoredRewardSpec[], timeLimitMs: number, sandbox: () => CodeSandbox): Promise<OpenRewardSet> {
  if (specs.length === 0) throw new Error('GRPO needs at least one reward function: add one in the reward list.');
  const box = specs.some((s) => s.kind === 'custom') ? sandbox() : undefined;
  try {
    const set = await createRewardSet(specs.map(rewardSpecOf), { sandbox: box, timeLimitMs });
    let disposed = false;
    return {
      set,
      dispose: () => {
        if (disposed) return;
        disposed = true;
        set.dispose();
        box?.dispose();
      },
    };
  } catch (err) {
    box?.dispose();
    throw new Error(`Reward functions: ${err instanceof Error ? err.message : String(err)}`);
  }
}
