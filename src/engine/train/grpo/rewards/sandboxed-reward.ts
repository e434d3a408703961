// A custom reward run in the CodeSandbox (src/engine/eval/sandbox.ts), which has no network, storage or
// host objects; the programs are the custom metric's (src/engine/eval/custom-metric.ts) with the reward's
// words. A whole chunk of completions is one job, because each job costs a fresh realm (a node:vm context
// in Node); the chunk's time limit is ONE call's limit, so a chunk that finishes kept every call under it.
// A chunk that does not finish (a call loops, or the calls together are slow) or whose worker dies is run
// again one job per completion, each with the per-call limit: the looping call gets 0 and "timed out after
// N ms", the others their values. Chunks then shrink to what fits half a limit at the measured speed, so a
// slow but finite reward stops paying for failed chunks.

import { bindScoringFunction, scoreCheckLines, scoringFunctionCheckLines, type ScoringFunctionRole } from '../../../eval/custom-metric';
import type { CodeSandbox, SandboxOutcome } from '../../../eval/sandbox';
import { RewardSpecError } from './reward-types';

export const REWARD_ROLE: ScoringFunctionRole = { binding: 'reward', label: 'the reward', signature: '(completion, example) => number' };

/** The statement that binds a studio reward's source to `reward`. */
export function customRewardDefinition(source: string): string {
  return bindScoringFunction(REWARD_ROLE.binding, source);
}

/** The job that defines the reward and checks it is a function (once, before any completion). */
export function rewardCheckProgram(definition: string): string {
  return [definition, ...scoringFunctionCheckLines(REWARD_ROLE), `return ${REWARD_ROLE.binding}.length;`].join('\n');
}

/**
 * The job for a chunk: input.calls is [completion, example][]; the value is one entry per call, the score
 * (a finite number) or the error as "Name: message".
 */
export function rewardBatchProgram(definition: string): string {
  return [
    definition,
    ...scoringFunctionCheckLines(REWARD_ROLE),
    'const calls = input.calls;',
    'const results = new Array(calls.length);',
    'for (let i = 0; i < calls.length; i++) {',
    '  try {',
    `    const score = ${REWARD_ROLE.binding}(calls[i][0], calls[i][1]);`,
    ...scoreCheckLines(REWARD_ROLE, 'score').map((l) => '    ' + l),
    '    results[i] = score;',
    '  } catch (error) {',
    '    let message;',
    "    try { message = error !== null && typeof error === 'object' && typeof error.message === 'string' ? String(error.name || 'Error') + ': ' + error.message : 'Uncaught ' + String(error); }",
    "    catch { message = 'Uncaught exception (it could not be described)'; }",
    "    results[i] = message.length > 2000 ? message.slice(0, 2000) + '...' : message;",
    '  }',
    '}',
    'return results;',
  ].join('\n');
}

export interface RewardCall {
  completion: string;
  example: Record<string, unknown>;
}

export interface SandboxedScores {
  /** (n) the scores, 0 where a call failed. */
  values: Float64Array;
  /** (n) why a call failed, or undefined. */
  errors: (string | undefined)[];
}

export interface SandboxedRewardOptions {
  timeLimitMs: number;
  /** Most completions in one job (default 64). */
  maxChunk?: number;
}

export class SandboxedReward {
  private readonly program: string;
  private readonly maxChunk: number;
  /** Measured ms per call (0 until a chunk finished), for the chunk size. */
  private msPerCall = 0;

  private constructor(
    private readonly sandbox: CodeSandbox,
    readonly name: string,
    definition: string,
    private readonly timeLimitMs: number,
    maxChunk: number,
    /** Set when the sandbox refuses this code outright (it names import): every call fails with it. */
    private readonly refusal: string | undefined,
  ) {
    this.program = rewardBatchProgram(definition);
    this.maxChunk = maxChunk;
  }

  /**
   * Checks that the definition compiles to a function (RewardSpecError otherwise). Code the sandbox refuses
   * on principle (the word import) is not an error here: as for a call that throws, the run goes on and
   * every completion gets 0 with the sandbox's message.
   */
  static async load(sandbox: CodeSandbox, name: string, definition: string, options: SandboxedRewardOptions): Promise<SandboxedReward> {
    const { timeLimitMs } = options;
    const maxChunk = options.maxChunk ?? 64;
    if (!(timeLimitMs > 0) || !Number.isFinite(timeLimitMs)) throw new RangeError(`the reward time limit must be a positive number of ms, got ${timeLimitMs}`);
    if (!Number.isInteger(maxChunk) || maxChunk < 1) throw new RangeError(`maxChunk must be a positive integer, got ${maxChunk}`);
    const outcome = await sandbox.run({ code: rewardCheckProgram(definition), timeLimitMs });
    let refusal: string | undefined;
    if (!outcome.ok) {
      const error = outcome.error ?? 'unknown error';
      if (outcome.timedOut) throw new RewardSpecError(`reward "${name}": defining it took longer than the ${timeLimitMs} ms limit`);
      if (!error.startsWith('SandboxError: ')) throw new RewardSpecError(`reward "${name}" does not compile: ${error}`);
      refusal = error;
    }
    return new SandboxedReward(sandbox, name, definition, timeLimitMs, maxChunk, refusal);
  }

  /** Scores every call; failures are per call. Stops between chunks once `signal` aborts (then throws its reason). */
  async score(calls: readonly RewardCall[], signal?: AbortSignal): Promise<SandboxedScores> {
    const values = new Float64Array(calls.length);
    const errors: (string | undefined)[] = new Array(calls.length).fill(undefined);
    if (this.refusal !== undefined) {
      errors.fill(this.refusal);
      return { values, errors };
    }
    let start = 0;
    while (start < calls.length) {
      signal?.throwIfAborted();
      const end = Math.min(calls.length, start + this.chunkSize());
      const results = await this.scoreChunk(calls.slice(start, end));
      results.forEach((r, k) => {
        if (typeof r === 'number') values[start + k] = r;
        else errors[start + k] = r;
      });
      start = end;
    }
    signal?.throwIfAborted();
    return { values, errors };
  }

  private chunkSize(): number {
    if (this.msPerCall <= 0) return this.maxChunk;
    return Math.max(1, Math.min(this.maxChunk, Math.floor((0.5 * this.timeLimitMs) / this.msPerCall)));
  }

  private job(chunk: readonly RewardCall[]): Promise<SandboxOutcome> {
    return this.sandbox.run({ code: this.program, timeLimitMs: this.timeLimitMs, input: { calls: chunk.map((c) => [c.completion, c.example]) } });
  }

  /** Per call: the score, or the error message. */
  private async scoreChunk(chunk: readonly RewardCall[]): Promise<(number | string)[]> {
    const whole = await this.job(chunk);
    const results = readResults(whole, chunk.length);
    if (results !== undefined) {
      this.msPerCall = whole.ms / chunk.length;
      return results;
    }
    if (chunk.length === 1) return [whole.error ?? 'the sandbox returned no result'];
    const single = await Promise.all(chunk.map((call) => this.job([call])));
    const finished = single.filter((o) => o.ok);
    // None finished: every call runs to its limit, so later chunks go one call per job at once.
    this.msPerCall = finished.length > 0 ? Math.max(...finished.map((o) => o.ms)) : this.timeLimitMs;
    return single.map((o) => readResults(o, 1)?.[0] ?? o.error ?? 'the sandbox returned no result');
  }
}

/** The job's per-call results, or undefined when the job failed or returned something else. */
function readResults(outcome: SandboxOutcome, count: number): (number | string)[] | undefined {
  if (!outcome.ok || !Array.isArray(outcome.value) || outcome.value.length !== count) return undefined;
  const results = outcome.value as unknown[];
  return results.every((r) => (typeof r === 'number' && Number.isFinite(r)) || typeof r === 'string') ? (results as (number | string)[]) : undefined;
}
