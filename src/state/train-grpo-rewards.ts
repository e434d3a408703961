// The Train page's reward list for GRPO: what each reward kind does and what its argument is (the engine's
// built-ins, src/engine/train/grpo/rewards/builtin-rewards.ts, and custom JavaScript run in the sandbox),
// the rows the user edits, and the check that names the first unusable one. Built-ins are compiled here,
// so a bad pattern is named before a run; custom code is compiled in the worker's sandbox ("Test on
// samples", or the start).

import { compileBuiltinReward, DEFAULT_FORMAT_PATTERN, type RewardKind } from '../engine/train/grpo/rewards';
import type { StoredRewardSpec } from '../storage/records';

export interface RewardKindInfo {
  kind: RewardKind;
  label: string;
  /** Whether the kind reads an argument, and whether it must have one. */
  arg: 'none' | 'optional' | 'required';
  /** What the argument is. */
  argLabel: string;
  placeholder: string;
  note: string;
}

export const REWARD_KINDS: readonly RewardKindInfo[] = [
  {
    kind: 'answer-match',
    label: 'Answer match',
    arg: 'optional',
    argLabel: 'extraction regex (optional)',
    placeholder: 'default: GSM8K’s #### N, else the last number',
    note: '1 when the completion’s final answer equals the example’s answer field (as numbers when both parse, else as normalised text).',
  },
  {
    kind: 'format',
    label: 'Format',
    arg: 'optional',
    argLabel: 'pattern (optional)',
    placeholder: DEFAULT_FORMAT_PATTERN,
    note: '1 when the completion contains the pattern (default: a GSM8K-style final answer line); use ^ and $ to cover all of it.',
  },
  { kind: 'regex', label: 'Regex', arg: 'required', argLabel: 'pattern', placeholder: '^Once upon a time', note: '1 when the pattern matches somewhere in the completion (/body/flags for flags).' },
  {
    kind: 'contains',
    label: 'Contains',
    arg: 'required',
    argLabel: 'text ({field} reads the example)',
    placeholder: 'The end.',
    note: '1 when the completion contains the text; {field} is replaced by the example’s field.',
  },
  { kind: 'not-contains', label: 'Does not contain', arg: 'required', argLabel: 'text ({field} reads the example)', placeholder: 'http', note: '1 when the completion does not contain the text.' },
  { kind: 'length', label: 'Length target', arg: 'required', argLabel: 'target words', placeholder: '60', note: '1 − |words − target| / target, clipped to [0, 1].' },
  { kind: 'json', label: 'Valid JSON', arg: 'none', argLabel: '', placeholder: '', note: '1 when the trimmed completion parses as JSON.' },
  {
    kind: 'custom',
    label: 'Custom JavaScript',
    arg: 'required',
    argLabel: 'a function (completion, example) => number',
    placeholder: "(completion, example) => (completion.includes('The end.') ? 1 : 0)",
    note: 'Runs in a sandbox with no network or storage and a time limit per call; a throw, a timeout or a non-number gives 0 and a counted error.',
  },
];

export const rewardKindInfo = (kind: string): RewardKindInfo | undefined => REWARD_KINDS.find((k) => k.kind === kind);

/** One reward row of the form. */
export interface RewardDraft {
  /** Stable key for the list. */
  id: number;
  kind: RewardKind;
  name: string;
  weight: number;
  arg: string;
}

/** A name not taken yet: the kind's, then kind_2, kind_3, ... */
export function freeRewardName(kind: string, taken: readonly string[]): string {
  const base = kind.replace(/-/g, '_');
  if (!taken.includes(base)) return base;
  for (let n = 2; ; n++) if (!taken.includes(`${base}_${n}`)) return `${base}_${n}`;
}

/** What is wrong with the rewards (the first problem, naming the reward), or null. */
export function rewardsProblem(rewards: readonly RewardDraft[]): string | null {
  if (rewards.length === 0) return 'GRPO needs at least one reward function: add one to the reward list.';
  const seen = new Set<string>();
  for (const [i, r] of rewards.entries()) {
    const where = `Reward ${i + 1}${r.name.trim() ? ` “${r.name.trim()}”` : ''}`;
    const name = r.name.trim();
    if (!/^[A-Za-z_][\w-]*$/.test(name)) return `${where}: the name must start with a letter or _ and hold only letters, digits, _ and - (it becomes the metric rewards/<name>/mean).`;
    if (seen.has(name)) return `${where}: the name is used twice.`;
    seen.add(name);
    if (typeof r.weight !== 'number' || !Number.isFinite(r.weight)) return `${where}: the weight must be a number.`;
    if (r.kind === 'custom') {
      if (r.arg.trim() === '') return `${where}: write the function (completion, example) => number.`;
      continue;
    }
    try {
      compileBuiltinReward(r.kind, r.arg === '' ? undefined : r.arg);
    } catch (err) {
      return `${where}: ${(err as Error).message}.`;
    }
  }
  return null;
}

/** The stored specs of the rows (an empty argument is none). */
export function rewardSpecs(rewards: readonly RewardDraft[]): StoredRewardSpec[] {
  return rewards.map((r) => ({ kind: r.kind, name: r.name.trim(), weight: r.weight, ...(r.arg !== '' && { arg: r.arg }) }));
}
