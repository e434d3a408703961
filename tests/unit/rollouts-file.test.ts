// The rollouts file of `tunelab train --rollouts FILE`: groups read with ids exactly as written, and every
// malformed line refused with the file, the line and the field named.

import { describe, expect, test } from 'vitest';
import { parseRolloutsFile } from '../../src/engine/data/rollouts-file';
import { DatasetFileError } from '../../src/engine/data/read-records';

const VOCAB = 512;
const line = (g: object) => JSON.stringify(g);
const group = (over: Record<string, unknown> = {}) => ({ prompt_input_ids: [1, 403], completion_input_ids: [[407, 2], [261, 378, 2]], rewards: [1, 0], ...over });

function refusal(text: string, vocab = VOCAB): string {
  try {
    parseRolloutsFile(text, 'rollouts.jsonl', vocab);
  } catch (err) {
    expect(err).toBeInstanceOf(DatasetFileError);
    return (err as Error).message;
  }
  throw new Error('not refused');
}

describe('reading groups', () => {
  test('ids exactly as given, one reward per completion, the line of each group; blank lines and extra fields ignored', () => {
    const text = [
      line(group()),
      '',
      line({ prompt_input_ids: [5], completion_input_ids: [[0], [511, 511, 511]], rewards: [-0.5, 2.25], note: 'offline' }),
      '   ',
    ].join('\r\n');
    expect(parseRolloutsFile(text, 'rollouts.jsonl', VOCAB)).toEqual([
      { line: 1, prompt: [1, 403], completions: [[407, 2], [261, 378, 2]], rewards: [1, 0] },
      { line: 3, prompt: [5], completions: [[0], [511, 511, 511]], rewards: [-0.5, 2.25] },
    ]);
  });

  test('bytes are read as UTF-8 (a BOM skipped), invalid bytes refused with the file named', () => {
    const bytes = new TextEncoder().encode(`\uFEFF${line(group())}\n`);
    expect(parseRolloutsFile(bytes, 'r.jsonl', VOCAB)).toHaveLength(1);
    expect(() => parseRolloutsFile(new Uint8Array([0x7b, 0xff, 0x7d]), 'r.jsonl', VOCAB)).toThrow(/^r\.jsonl: is not UTF-8 text/);
  });
});

describe('refusals name the file, the line and the field', () => {
  test('empty file, bad JSON, not an object, a missing field', () => {
    expect(refusal('\n\n')).toBe('rollouts.jsonl: has no rollout groups (one JSON object a line)');
    expect(refusal(`${line(group())}\n{"prompt_input_ids": [1]`)).toMatch(/^rollouts\.jsonl: line 2: is not valid JSON \(/);
    expect(refusal('[1, 2]')).toBe('rollouts.jsonl: line 1: must be a JSON object');
    expect(refusal(line({ prompt_input_ids: [1], completion_input_ids: [[2], [3]], reward: [1, 0] }))).toBe('rollouts.jsonl: line 1: has no field "rewards"');
  });

  test('token ids: non-empty, integers inside the vocabulary, the offending index named', () => {
    expect(refusal(line(group({ prompt_input_ids: [] })))).toBe('rollouts.jsonl: line 1: field "prompt_input_ids" must be a non-empty list of token ids');
    expect(refusal(line(group({ prompt_input_ids: [1, 2.5] })))).toBe(
      'rollouts.jsonl: line 1: field "prompt_input_ids"[1] is 2.5, not a token id of this vocabulary (an integer from 0 to 511)',
    );
    expect(refusal(line(group({ completion_input_ids: [[4], [7, 512]] })))).toBe(
      'rollouts.jsonl: line 1: field "completion_input_ids"[1][1] is 512, not a token id of this vocabulary (an integer from 0 to 511)',
    );
    expect(refusal(line(group({ completion_input_ids: [[4], [-1]] })))).toMatch(/field "completion_input_ids"\[1\]\[0\] is -1, not a token id/);
    expect(refusal(line(group({ completion_input_ids: [[4], []] })))).toBe('rollouts.jsonl: line 1: field "completion_input_ids"[1] must be a non-empty list of token ids');
    expect(refusal(line(group({ completion_input_ids: [[4], ['7']] })))).toMatch(/"completion_input_ids"\[1\]\[0\] is "7", not a token id/);
    // The same ids pass a larger vocabulary.
    expect(parseRolloutsFile(line(group({ completion_input_ids: [[4], [7, 512]] })), 'r.jsonl', 513)[0].completions[1]).toEqual([7, 512]);
  });

  test('a group has at least 2 completions, one finite reward each', () => {
    expect(refusal(line(group({ completion_input_ids: [[4]], rewards: [1] })))).toBe(
      'rollouts.jsonl: line 1: field "completion_input_ids" must be a list of at least 2 completions (a group), each a list of token ids',
    );
    expect(refusal(line(group({ rewards: [1] })))).toBe('rollouts.jsonl: line 1: field "rewards" must hold one reward per completion (2), got 1');
    expect(refusal(line(group({ rewards: 1 })))).toBe('rollouts.jsonl: line 1: field "rewards" must hold one reward per completion (2), got not a list');
    expect(refusal(line(group({ rewards: [1, null] })))).toBe('rollouts.jsonl: line 1: field "rewards"[1] is null, not a finite number');
    expect(refusal(line(group({ rewards: ['1', 0] })))).toBe('rollouts.jsonl: line 1: field "rewards"[0] is "1", not a finite number');
    expect(refusal(line(group({ rewards: [1e400, 0] })))).toBe('rollouts.jsonl: line 1: field "rewards"[0] is null, not a finite number');
  });

  test('every group has the size of the first', () => {
    const three = group({ completion_input_ids: [[4], [5], [6]], rewards: [0, 1, 0] });
    expect(refusal([line(group()), '', line(group()), line(three)].join('\n'))).toBe(
      'rollouts.jsonl: line 4: field "completion_input_ids" has 3 completions, but the group of line 1 has 2: every group must have the same size',
    );
  });

  test('the vocabulary size must be a positive integer', () => {
    expect(() => parseRolloutsFile(line(group()), 'r.jsonl', 0)).toThrow(RangeError);
  });
});
