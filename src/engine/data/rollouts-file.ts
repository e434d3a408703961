// Fixed GRPO rollouts from a file (`tunelab train --rollouts FILE`): groups of completions already sampled
// and scored, for testing the objective against its float64 reference and for offline RL. JSONL, one group
// a line:
//   {"prompt_input_ids": [1, 403], "completion_input_ids": [[407, 2], [261, 378, 2]], "rewards": [1, 0]}
// Ids are used exactly as given (no BOS or EOS added); each completion has one finite reward; every group
// has the same size G >= 2 (advantages are relative to the group). Other fields are ignored. The first bad
// line stops the read with an error naming the file, the line and the field: a run that silently skipped
// groups would not reproduce the reference.

import { DatasetFileError, decodeUtf8 } from './read-records';

export interface RolloutGroupRecord {
  /** 1-based line of the file. */
  line: number;
  /** (P) prompt ids. */
  prompt: number[];
  /** (G, L_i) completion ids after the prompt. */
  completions: number[][];
  /** (G) one reward per completion. */
  rewards: number[];
}

export const ROLLOUT_FIELDS = { prompt: 'prompt_input_ids', completions: 'completion_input_ids', rewards: 'rewards' } as const;

class LineError extends Error {}

/** A non-empty list of token ids of a vocabulary of `vocabSize`; `where` names the field for errors. */
function tokenIds(value: unknown, where: string, vocabSize: number): number[] {
  if (!Array.isArray(value) || value.length === 0) throw new LineError(`field ${where} must be a non-empty list of token ids`);
  value.forEach((id, i) => {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= vocabSize) {
      throw new LineError(`field ${where}[${i}] is ${JSON.stringify(id)}, not a token id of this vocabulary (an integer from 0 to ${vocabSize - 1})`);
    }
  });
  return value as number[];
}

function readGroup(value: unknown, vocabSize: number): Omit<RolloutGroupRecord, 'line'> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new LineError('must be a JSON object');
  const r = value as Record<string, unknown>;
  const { prompt: promptKey, completions: completionsKey, rewards: rewardsKey } = ROLLOUT_FIELDS;
  for (const key of Object.values(ROLLOUT_FIELDS)) if (r[key] === undefined) throw new LineError(`has no field "${key}"`);
  const prompt = tokenIds(r[promptKey], `"${promptKey}"`, vocabSize);
  const rawCompletions = r[completionsKey];
  if (!Array.isArray(rawCompletions) || rawCompletions.length < 2) {
    throw new LineError(`field "${completionsKey}" must be a list of at least 2 completions (a group), each a list of token ids`);
  }
  const completions = rawCompletions.map((c, i) => tokenIds(c, `"${completionsKey}"[${i}]`, vocabSize));
  const rewards = r[rewardsKey];
  if (!Array.isArray(rewards) || rewards.length !== completions.length) {
    const got = Array.isArray(rewards) ? `${rewards.length}` : 'not a list';
    throw new LineError(`field "${rewardsKey}" must hold one reward per completion (${completions.length}), got ${got}`);
  }
  rewards.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new LineError(`field "${rewardsKey}"[${i}] is ${JSON.stringify(x)}, not a finite number`);
  });
  return { prompt, completions, rewards: rewards as number[] };
}

/** The groups of a rollouts file (bytes as read, or text), checked against a vocabulary of `vocabSize` ids. */
export function parseRolloutsFile(source: Uint8Array | string, file: string, vocabSize: number): RolloutGroupRecord[] {
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new RangeError(`vocabulary size must be a positive integer, got ${vocabSize}`);
  const text = typeof source === 'string' ? source : decodeUtf8(source, file);
  const groups: RolloutGroupRecord[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '') continue;
    const line = i + 1;
    try {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (err) {
        throw new LineError(`is not valid JSON (${(err as Error).message})`);
      }
      const group = { line, ...readGroup(value, vocabSize) };
      const first = groups[0];
      if (first && group.completions.length !== first.completions.length) {
        throw new LineError(
          `field "${ROLLOUT_FIELDS.completions}" has ${group.completions.length} completions, but the group of line ${first.line} has ${first.completions.length}: every group must have the same size`,
        );
      }
      groups.push(group);
    } catch (err) {
      if (err instanceof LineError) throw new DatasetFileError(file, `line ${line}: ${err.message}`);
      throw err;
    }
  }
  if (groups.length === 0) throw new DatasetFileError(file, 'has no rollout groups (one JSON object a line)');
  return groups;
}
