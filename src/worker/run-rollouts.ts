// GRPO rollouts as the studio keeps and shows them: a generation's scored completions cut to what a table
// needs (whole groups up to a row limit, the prompt's end and the completion's start up to a few hundred
// characters, the first failures with their count), so storing them with the run and posting them to the
// page stays small whatever the generation's size; and a throttle that posts at most one report per
// interval to the page (the latest wins), so rollouts streaming in never crowd the page's main thread.

import type { RolloutReport } from '../engine/train/grpo/rollout-feed';
import type { StoredRollouts } from '../storage/records';

/** Characters kept of a prompt (its end) and of a completion (its start). */
export const ROLLOUT_TEXT_CHARS = 400;
/** Rows kept of a generation (whole groups; at least one group). */
export const ROLLOUT_ROWS = 64;
/** Failures kept of a generation (all are counted). */
export const ROLLOUT_FAILURES = 20;
const FAILURE_CHARS = 300;

const head = (text: string, n: number) => (text.length <= n ? text : `${text.slice(0, n)}…`);
const tail = (text: string, n: number) => (text.length <= n ? text : `…${text.slice(text.length - n)}`);

/** The stored view of a report; `names` are the run's reward functions in order (a failed function still has a column). */
export function compactRollouts(report: RolloutReport, names: readonly string[]): StoredRollouts {
  const perGroup = report.rows.filter((r) => r.group === 0).length || 1;
  const keep = Math.max(perGroup, Math.floor(ROLLOUT_ROWS / perGroup) * perGroup);
  const total = report.rows.reduce((sum, r) => sum + r.reward, 0);
  return {
    step: report.step,
    generation: report.generation,
    names: [...names],
    rows: report.rows.slice(0, keep).map((r) => ({
      group: r.group,
      prompt: tail(r.prompt, ROLLOUT_TEXT_CHARS),
      completion: head(r.completion, ROLLOUT_TEXT_CHARS),
      tokens: r.tokens,
      truncated: r.truncated,
      reward: r.reward,
      rewards: { ...r.rewards },
      advantage: r.advantage,
    })),
    totalRows: report.rows.length,
    meanReward: report.rows.length > 0 ? total / report.rows.length : 0,
    failures: report.failures.slice(0, ROLLOUT_FAILURES).map((f) => ({ ...f, message: head(f.message, FAILURE_CHARS) })),
    failureCount: report.failures.length,
    tokensPerSecond: report.tokensPerSecond,
  };
}

/** Posts the latest value at most once per `intervalMs`: the first at once, later ones at the interval's end. */
export class LatestThrottle<T> {
  private last = -Infinity;
  private pending: { value: T } | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly post: (value: T) => void,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(value: T): void {
    this.pending = { value };
    if (this.timer !== null) return;
    const wait = this.last + this.intervalMs - this.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Posts what is pending now. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const pending = this.pending;
    this.pending = null;
    if (!pending) return;
    this.last = this.now();
    this.post(pending.value);
  }
}
