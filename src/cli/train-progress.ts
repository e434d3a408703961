// The training progress bar on stderr: one redrawn line on a terminal, about twenty plain lines on a pipe.

import type { EvalMetrics, StepMetrics } from '../engine/train/train-loop';
import type { TextSink } from './streams';

const WIDTH = 24;

export class TrainProgress {
  private readonly started = performance.now();
  private readonly startStep: number;
  private open = false;

  constructor(
    private readonly stderr: TextSink,
    private readonly quiet: boolean,
    private readonly totalSteps: number,
    startStep: number,
  ) {
    this.startStep = startStep;
  }

  step(m: StepMetrics): void {
    if (this.quiet) return;
    const done = m.step / this.totalSteps;
    const filled = Math.round(done * WIDTH);
    const elapsed = (performance.now() - this.started) / 1000;
    const perStep = elapsed / Math.max(1, m.step - this.startStep);
    const eta = Math.round(perStep * (this.totalSteps - m.step));
    const margins = m.objective['rewards/margins'];
    const reward = m.objective.reward;
    const preference =
      margins !== undefined
        ? `margin ${margins.toFixed(4)} acc ${(m.objective['rewards/accuracies'] * 100).toFixed(0)}% `
        : reward !== undefined
          ? `reward ${reward.toFixed(3)} `
          : '';
    const text =
      `step ${m.step}/${this.totalSteps} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ` +
      `loss ${m.loss.toFixed(4)} ${preference}lr ${m.lr.toExponential(2)} grad-norm ${m.grad_norm.toFixed(3)} ` +
      `${Math.round(m.tokens_per_s)} tok/s ETA ${eta} s`;
    if (this.stderr.isTTY) {
      this.stderr.write(`\r\x1b[K${text}`);
      this.open = true;
      if (m.step === this.totalSteps) this.endLine();
      return;
    }
    const every = Math.max(1, Math.round(this.totalSteps / 20));
    if (m.step % every === 0 || m.step === this.totalSteps || m.step === this.startStep + 1) this.stderr.write(`${text}\n`);
  }

  /** The reference pass before training (precomputed reference log-probabilities). */
  reference(done: number, total: number): void {
    if (this.quiet) return;
    if (this.stderr.isTTY) {
      this.stderr.write(`\r\x1b[Kreference log-probabilities: ${done}/${total} examples`);
      this.open = done < total;
      if (done === total) this.stderr.write('\n');
    } else if (done === total) {
      this.stderr.write(`reference log-probabilities: ${total} examples\n`);
    }
  }

  evaluation(m: EvalMetrics, samples: readonly string[]): void {
    const perplexity = m.eval_perplexity === undefined ? '' : `, perplexity ${m.eval_perplexity.toFixed(3)}`;
    const o = m.objective;
    const preference = o['eval_rewards/margins'] === undefined ? '' : `, reward margin ${o['eval_rewards/margins'].toFixed(4)}, reward accuracy ${(o['eval_rewards/accuracies'] * 100).toFixed(1)}%`;
    const reward = o.eval_reward === undefined ? '' : `, held-out reward ${o.eval_reward.toFixed(4)} (std ${o.eval_reward_std.toFixed(4)})`;
    this.line(`eval at step ${m.step}: loss ${m.eval_loss.toFixed(4)}${perplexity}${preference}${reward} (${m.eval_tokens} tokens)`);
    for (const s of samples) this.line(`  sample: ${JSON.stringify(s)}`);
  }

  line(text: string): void {
    if (this.quiet) return;
    this.endLine();
    this.stderr.write(`${text}\n`);
  }

  private endLine(): void {
    if (!this.open) return;
    this.stderr.write('\n');
    this.open = false;
  }
}
