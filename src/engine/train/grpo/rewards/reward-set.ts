// Several rewards with weights, scored together: the built-ins in the host (pure functions), the custom
// ones in the sandbox, all of them on every completion. A call that fails scores 0 and adds a RewardError;
// nothing that one reward does stops the others or the run. Totals follow TRL's GRPOTrainer
// (trl/trainer/grpo_trainer.py, _generate_and_score_completions): sum over functions of weight * reward,
// where a missing reward counts as nothing (nansum).

import type { CodeSandbox } from '../../../eval/sandbox';
import { compileBuiltinReward, type BuiltinReward } from './builtin-rewards';
import { moduleExportDefinition, parseRewardModule, type ParsedRewardModule } from './reward-module';
import {
  BUILTIN_REWARD_KINDS,
  RewardCallError,
  RewardSpecError,
  type RewardError,
  type RewardInput,
  type RewardScores,
  type RewardSet,
  type RewardSpec,
} from './reward-types';
import { REWARD_ROLE, SandboxedReward, customRewardDefinition } from './sandboxed-reward';

export const DEFAULT_REWARD_TIME_LIMIT_MS = 1000;

export interface RewardModuleSource {
  /** The file's name, for messages. */
  name: string;
  source: string;
}

export interface RewardSetOptions {
  /** Runs the custom rewards; needed when there are any. Owned by the caller. */
  sandbox?: CodeSandbox;
  /** Per call of a custom reward, in ms (default 1000). */
  timeLimitMs?: number;
  /** Reward modules: each export becomes a reward named after it (weight 1 unless a spec names it). */
  customModules?: RewardModuleSource[];
  /** Most completions in one sandbox job (default 64). */
  maxChunk?: number;
}

type Scorer = { kind: 'builtin'; reward: BuiltinReward } | { kind: 'sandbox'; reward: SandboxedReward };

interface Entry {
  name: string;
  weight: number;
  scorer: Scorer;
}

interface PendingCustom {
  name: string;
  weight: number;
  definition: string;
}

const isBuiltinKind = (kind: string): boolean => (BUILTIN_REWARD_KINDS as readonly string[]).includes(kind);

function checkSpec(spec: RewardSpec, index: number): void {
  const where = `reward ${index + 1}${typeof spec.name === 'string' && spec.name !== '' ? ` "${spec.name}"` : ''}`;
  if (typeof spec.name !== 'string' || spec.name.trim() === '') throw new RewardSpecError(`${where}: needs a name`);
  if (!isBuiltinKind(spec.kind) && spec.kind !== 'custom') throw new RewardSpecError(`${where}: unknown kind "${String(spec.kind)}"`);
  if (typeof spec.weight !== 'number' || !Number.isFinite(spec.weight)) throw new RewardSpecError(`${where}: the weight must be a finite number, got ${String(spec.weight)}`);
}

/**
 * Builds the set: checks every spec, compiles the built-ins, parses the modules and checks in the sandbox
 * that every custom reward is a function. Throws RewardSpecError naming the reward (or file and line).
 */
export async function createRewardSet(specs: readonly RewardSpec[], options: RewardSetOptions = {}): Promise<RewardSet> {
  const timeLimitMs = options.timeLimitMs ?? DEFAULT_REWARD_TIME_LIMIT_MS;
  if (!(timeLimitMs > 0) || !Number.isFinite(timeLimitMs)) throw new RewardSpecError(`the reward time limit must be a positive number of ms, got ${timeLimitMs}`);
  specs.forEach(checkSpec);
  const modules = (options.customModules ?? []).map((m) => parseRewardModule(m.source, m.name));
  const exported = new Map<string, { module: ParsedRewardModule; local: string }>();
  for (const module of modules) {
    for (const e of module.exports) {
      const other = exported.get(e.name);
      if (other) throw new RewardSpecError(`${module.file}:${e.line}: "${e.name}" is also exported by ${other.module.file}: reward names must differ`);
      exported.set(e.name, { module, local: e.local });
    }
  }

  const names = new Set<string>();
  const slots: (Entry | PendingCustom)[] = [];
  const used = new Set<string>();
  specs.forEach((spec, i) => {
    if (names.has(spec.name)) throw new RewardSpecError(`reward ${i + 1}: the name "${spec.name}" is used twice`);
    names.add(spec.name);
    if (spec.kind !== 'custom') {
      if (exported.has(spec.name)) {
        const { module } = exported.get(spec.name)!;
        throw new RewardSpecError(`${module.file} exports "${spec.name}", which is also the built-in reward "${spec.name}": rename the export`);
      }
      let reward: BuiltinReward;
      try {
        reward = compileBuiltinReward(spec.kind, spec.arg);
      } catch (err) {
        throw new RewardSpecError(`reward "${spec.name}": ${(err as Error).message}`);
      }
      slots.push({ name: spec.name, weight: spec.weight, scorer: { kind: 'builtin', reward } });
    } else if (spec.arg !== undefined) {
      if (spec.arg.trim() === '') throw new RewardSpecError(`reward "${spec.name}" has no code: write a function ${REWARD_ROLE.signature}`);
      slots.push({ name: spec.name, weight: spec.weight, definition: customRewardDefinition(spec.arg) });
    } else {
      const target = exported.get(spec.name);
      if (!target) {
        const from = modules.length > 0 ? `the reward module${modules.length > 1 ? 's' : ''} (${modules.map((m) => m.file).join(', ')})` : 'a reward module (none given: --reward-module FILE)';
        throw new RewardSpecError(`"${spec.name}" is not a built-in reward (${BUILTIN_REWARD_KINDS.join(', ')}) nor an export of ${from}`);
      }
      used.add(spec.name);
      slots.push({ name: spec.name, weight: spec.weight, definition: moduleExportDefinition(target.module, target.local, REWARD_ROLE.binding) });
    }
  });
  for (const [name, { module, local }] of exported) {
    if (!used.has(name)) slots.push({ name, weight: 1, definition: moduleExportDefinition(module, local, REWARD_ROLE.binding) });
  }
  if (slots.length === 0) throw new RewardSpecError('no reward functions: GRPO needs at least one');

  const { sandbox } = options;
  const customs = slots.filter((s): s is PendingCustom => 'definition' in s);
  if (customs.length > 0 && sandbox === undefined) throw new RewardSpecError(`custom rewards (${customs.map((c) => c.name).join(', ')}) run in the code sandbox, and none was given`);
  const loaded = await Promise.all(
    customs.map((c) => SandboxedReward.load(sandbox!, c.name, c.definition, { timeLimitMs, maxChunk: options.maxChunk })),
  );
  const entries: Entry[] = slots.map((s) =>
    'definition' in s ? { name: s.name, weight: s.weight, scorer: { kind: 'sandbox', reward: loaded[customs.indexOf(s)] } } : s,
  );
  return new WeightedRewardSet(entries);
}

/** A built-in on every input; an error becomes that input's 0 and message. */
function scoreBuiltin(reward: BuiltinReward, inputs: readonly RewardInput[]): { values: Float64Array; errors: (string | undefined)[] } {
  const values = new Float64Array(inputs.length);
  const errors: (string | undefined)[] = new Array(inputs.length).fill(undefined);
  inputs.forEach((input, i) => {
    try {
      values[i] = reward(input);
    } catch (err) {
      errors[i] = err instanceof RewardCallError ? err.message : `${(err as Error).name ?? 'Error'}: ${(err as Error).message ?? String(err)}`;
    }
  });
  return { values, errors };
}

class WeightedRewardSet implements RewardSet {
  readonly names: string[];
  readonly weights: number[];
  private disposed = false;

  constructor(private readonly entries: readonly Entry[]) {
    this.names = entries.map((e) => e.name);
    this.weights = entries.map((e) => e.weight);
  }

  async score(inputs: readonly RewardInput[], signal?: AbortSignal): Promise<RewardScores> {
    if (this.disposed) throw new Error('the reward set was disposed');
    signal?.throwIfAborted();
    const calls = inputs.map((input) => ({ completion: input.completion, example: input.example }));
    const results = await Promise.all(
      this.entries.map((e) => (e.scorer.kind === 'builtin' ? scoreBuiltin(e.scorer.reward, inputs) : e.scorer.reward.score(calls, signal))),
    );
    const total = new Float64Array(inputs.length);
    const perFunction: Record<string, Float64Array> = {};
    const errors: RewardError[] = [];
    results.forEach(({ values, errors: messages }, f) => {
      const { name, weight } = this.entries[f];
      perFunction[name] = values;
      for (let i = 0; i < inputs.length; i++) {
        total[i] += weight * values[i];
        const message = messages[i];
        if (message !== undefined) errors.push({ name, index: i, message });
      }
    });
    return { perFunction, total, errors };
  }

  dispose(): void {
    this.disposed = true;
  }
}

export interface RewardTestRow {
  /** Per function, in set order. */
  values: number[];
  total: number;
  /** Per function, in set order: the call's error, or undefined. */
  errors: (string | undefined)[];
}

export interface RewardTestResult {
  names: string[];
  weights: number[];
  rows: RewardTestRow[];
  errorCount: number;
}

/** The studio's "test on a few samples": every function's value and error per sample, before a run. */
export async function testRewards(set: RewardSet, samples: readonly RewardInput[], signal?: AbortSignal): Promise<RewardTestResult> {
  const scores = await set.score(samples, signal);
  const rows: RewardTestRow[] = samples.map((_, i) => ({
    values: set.names.map((name) => scores.perFunction[name][i]),
    total: scores.total[i],
    errors: set.names.map(() => undefined),
  }));
  for (const e of scores.errors) rows[e.index].errors[set.names.indexOf(e.name)] = e.message;
  return { names: [...set.names], weights: [...set.weights], rows, errorCount: scores.errors.length };
}
