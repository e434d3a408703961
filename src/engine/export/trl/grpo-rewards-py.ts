// rewards.py of a GRPO export: the run's reward functions as TRL's GRPOTrainer calls them, each with the
// semantics of Tunelab's reward of the same kind (the runtime in python-rewards-runtime.ts), their user
// patterns translated from JavaScript to Python (js-regex-to-python.ts) and checked here by compiling them
// with JavaScript first, so a spec Tunelab would refuse is refused here too, naming the reward.
//
// A custom JavaScript reward is exported, not refused: its source goes to rewards/<name>.cjs and a
// NodeReward runs it with `node` (JSON over stdin/stdout, the run's per-call time limit enforced by Python,
// a failed or late call scoring 0 as in Tunelab). That is sound because a reward is a pure function of
// (completion, example) that Tunelab already runs on a JavaScript engine (V8 in Node and Chromium): the same
// source on node gives the same numbers. What differs is the sandbox (node has network, files and require),
// which the README says, with node being needed on every machine that trains.

import { parsePatternArg, compileBuiltinReward, DEFAULT_FORMAT_PATTERN } from '../../train/grpo/rewards/builtin-rewards';
import { globalPattern } from '../../train/grpo/rewards/answer-match';
import { BUILTIN_REWARD_KINDS, type BuiltinRewardKind } from '../../train/grpo/rewards/reward-types';
import { jsRegexToPython } from './js-regex-to-python';
import { nodeRewardScript } from './node-reward-js';
import { pyString, pyValue } from './python-literal';
import { PYTHON_REWARDS_RUNTIME } from './python-rewards-runtime';
import { TrlExportError, type TrlGrpoSettings, type TrlRewardSpec } from './trl-spec';

export interface GrpoRewardFiles {
  /** rewards.py's text. */
  rewardsPy: string;
  /** rewards/<file>.cjs of each custom reward. */
  scripts: { reward: string; path: string; text: string }[];
  /** The reward names in REWARD_FUNCS order, and their weights (GRPOConfig.reward_weights). */
  names: string[];
  weights: number[];
  /** Whether any reward needs node. */
  needsNode: boolean;
}

const isBuiltin = (kind: string): kind is BuiltinRewardKind => (BUILTIN_REWARD_KINDS as readonly string[]).includes(kind);

/** A file name for a reward: its name with anything but letters, digits, "_" and "-" replaced, made unique. */
function scriptName(name: string, taken: Set<string>): string {
  const base = name.replace(/[^A-Za-z0-9_-]/g, '_') || 'reward';
  let file = base;
  for (let n = 2; taken.has(file.toLowerCase()); n++) file = `${base}_${n}`;
  taken.add(file.toLowerCase());
  return `rewards/${file}.cjs`;
}

/** `re.compile("...")` of a JavaScript pattern argument. */
function pythonPattern(reward: TrlRewardSpec, arg: string, global: boolean): string {
  const regex = parsePatternArg(arg, `reward "${reward.name}"`);
  try {
    return `re.compile(${pyString(jsRegexToPython(global ? globalPattern(regex) : regex).source)})`;
  } catch (err) {
    throw new TrlExportError(`reward "${reward.name}": ${(err as Error).message}`);
  }
}

/** The Python expression scoring one completion for a built-in reward. */
function builtinScorer(reward: TrlRewardSpec, kind: BuiltinRewardKind): string {
  const arg = reward.arg === '' ? undefined : reward.arg;
  switch (kind) {
    case 'answer-match':
      return `functools.partial(answer_match_reward, pattern=${arg === undefined ? 'None' : pythonPattern(reward, arg, true)})`;
    case 'format':
    case 'regex':
      return `functools.partial(regex_reward, pattern=${pythonPattern(reward, arg ?? DEFAULT_FORMAT_PATTERN, false)})`;
    case 'contains':
    case 'not-contains':
      return `functools.partial(contains_reward, template=${pyString(arg!)}, present=${kind === 'contains' ? '1.0' : '0.0'})`;
    case 'length':
      return `functools.partial(length_reward, target=${pyValue(Number(arg))})`;
    case 'json':
      return 'json_reward';
  }
}

export function grpoRewardFiles(grpo: TrlGrpoSettings, fieldColumns: Record<string, string>): GrpoRewardFiles {
  const taken = new Set<string>();
  const scripts: GrpoRewardFiles['scripts'] = [];
  const entries = grpo.rewards.map((reward) => {
    if (reward.kind === 'custom') {
      if (reward.arg === undefined || reward.arg.trim() === '') throw new TrlExportError(`reward "${reward.name}" is custom but has no JavaScript source`);
      const path = scriptName(reward.name, taken);
      scripts.push({ reward: reward.name, path, text: nodeRewardScript(reward.name, reward.arg) });
      return `    Reward(${pyString(reward.name)}, NodeReward(${pyString(path)}, time_limit_ms=${pyValue(grpo.rewardTimeLimitMs)})),`;
    }
    if (!isBuiltin(reward.kind)) throw new TrlExportError(`reward "${reward.name}" has an unknown kind "${String(reward.kind)}"`);
    try {
      compileBuiltinReward(reward.kind, reward.arg);
    } catch (err) {
      throw new TrlExportError(`reward "${reward.name}": ${(err as Error).message}`);
    }
    return `    Reward(${pyString(reward.name)}, ${builtinScorer(reward, reward.kind)}),`;
  });
  const columns = Object.entries(fieldColumns).map(([column, field]) => `    ${pyString(column)}: ${pyString(field)},`);
  const rewardsPy = [
    '"""GRPO rewards of a Tunelab run, in the form TRL\'s GRPOTrainer calls reward functions.',
    '',
    "Each scores a completion as Tunelab's reward of the same kind does (src/engine/train/grpo/rewards in Tunelab),",
    "with JavaScript's string and regex rules kept; a call that fails scores 0, as in Tunelab, and is counted in the",
    'metric reward_errors/<name>. Custom rewards are the run\'s JavaScript, run by node (rewards/*.cjs).',
    '"""',
    '',
    PYTHON_REWARDS_RUNTIME,
    '',
    "# ---- The run's rewards ----",
    '',
    '# Completions are cut before the first of these, as Tunelab stops generating at them (TRL does not stop there).',
    `STOP_STRINGS = ${pyValue(grpo.stopStrings)}`,
    '',
    '# Dataset column -> the field the rewards read as example[field].',
    columns.length ? `EXAMPLE_COLUMNS = {\n${columns.join('\n')}\n}` : 'EXAMPLE_COLUMNS = {}',
    '',
    'REWARD_FUNCS = [',
    ...entries,
    ']',
    '',
  ].join('\n');
  return {
    rewardsPy,
    scripts,
    names: grpo.rewards.map((r) => r.name),
    weights: grpo.rewards.map((r) => r.weight),
    needsNode: scripts.length > 0,
  };
}
