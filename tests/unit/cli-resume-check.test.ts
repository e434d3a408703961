// --resume against the checkpoint's fingerprint and metadata (src/cli/resume-check.ts, run-fingerprint.ts):
// other data (file, split, length or tokenizer), another seed or method, a step at or past the run's end and
// a data position beyond the data are refused naming the difference; an older checkpoint without a
// fingerprint resumes with a warning.

import { describe, expect, it } from 'vitest';
import { checkResume, fingerprintDifferences, ResumeMismatchError } from '../../src/cli/resume-check';
import { examplesDigest, runFingerprint } from '../../src/cli/run-fingerprint';
import type { RunFingerprint } from '../../src/engine/train/checkpoint';

const CKPT = 'runs/a/checkpoints/step-20';
const examples = (n: number, offset = 0) => Array.from({ length: n }, (_, i) => ({ line: i + 1, inputIds: [1, 5 + i + offset, 9], trainMask: [0, 1, 1] }));

function fingerprint(n = 1000, o: Partial<RunFingerprint> = {}, offset = 0): RunFingerprint {
  return { ...runFingerprint(examples(n, offset), 'train.jsonl', 3, 'sft'), ...o };
}

function refusal(saved: Parameters<typeof checkResume>[0], now: RunFingerprint, steps = 100): string {
  try {
    checkResume(saved, { checkpoint: CKPT, steps, fingerprint: now });
  } catch (err) {
    expect(err).toBeInstanceOf(ResumeMismatchError);
    return (err as Error).message;
  }
  return expect.fail('expected a ResumeMismatchError');
}

describe('the data fingerprint', () => {
  it('is the same for the same examples in the same order, whatever their line numbers', () => {
    const a = examples(5);
    const b = a.map((e) => ({ ...e, line: e.line + 10 }));
    expect(examplesDigest(a)).toBe(examplesDigest(b));
    expect(examplesDigest(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with one token, one mask value, the order, or one example fewer', () => {
    const a = examples(5);
    const digest = examplesDigest(a);
    const token = structuredClone(a);
    token[3].inputIds[1] += 1;
    const mask = structuredClone(a);
    mask[0].trainMask[0] = 1;
    for (const other of [token, mask, [a[1], a[0], ...a.slice(2)], a.slice(0, 4)]) expect(examplesDigest(other)).not.toBe(digest);
  });

  it('a fingerprint records the digest, the count, the file, the seed and the method', () => {
    expect(runFingerprint(examples(2), 'd.jsonl', 9, 'dpo')).toEqual({ data: { sha256: examplesDigest(examples(2)), examples: 2, source: 'd.jsonl' }, seed: 9, method: 'dpo' });
  });
});

describe('a resume', () => {
  /** A checkpoint's metadata; null: written before fingerprints were recorded. */
  const at = (step: number, position: number, fp: RunFingerprint | null = fingerprint()) => ({ step, cursor: { epoch: 0, position }, fingerprint: fp ?? undefined });

  it('with the same data, seed and method continues, with no warning', () => {
    expect(checkResume(at(20, 160), { checkpoint: CKPT, steps: 100, fingerprint: fingerprint() })).toEqual([]);
  });

  it('with other data is refused, naming both digests, files and counts', () => {
    const now = { ...fingerprint(998, {}, 1), data: { ...fingerprint(998, {}, 1).data, source: 'train-v2.jsonl' } };
    const saved = fingerprint();
    expect(refusal(at(20, 160, saved), now)).toBe(
      `${CKPT}: cannot continue this run: data differs: the checkpoint was made with sha256 ${saved.data.sha256.slice(0, 12)}… of train.jsonl (1,000 training examples), ` +
        `this run has ${now.data.sha256.slice(0, 12)}… of train-v2.jsonl (998); the file, the held-out split, the length limits and the tokenizer all shape the examples`,
    );
  });

  it('with the same count but one changed example (a changed split or tokenizer) is refused too', () => {
    expect(refusal(at(20, 160), fingerprint(1000, {}, 7))).toMatch(/data differs: .* of train\.jsonl \(1,000 training examples\), this run has .* of train\.jsonl \(1,000\)/);
  });

  it('with another seed or method is refused, naming the flags and both values; every difference at once', () => {
    expect(refusal(at(20, 160), fingerprint(1000, { seed: 4 }))).toBe(`${CKPT}: cannot continue this run: seed differs: the checkpoint was made with --seed 3, this run has --seed 4`);
    expect(refusal(at(20, 160), fingerprint(1000, { method: 'dpo' }))).toBe(`${CKPT}: cannot continue this run: method differs: the checkpoint was made with --method sft, this run has --method dpo`);
    expect(fingerprintDifferences(fingerprint(), fingerprint(10, { seed: 0, method: 'orpo' }))).toHaveLength(3);
  });

  it('at or past the run\'s last step is refused', () => {
    expect(refusal(at(100, 160), fingerprint())).toBe(`${CKPT}: the checkpoint is at step 100, the run has 100 steps`);
  });

  it('with a data position beyond the data is refused naming the field', () => {
    expect(refusal(at(20, 1001, null), fingerprint())).toBe(`${CKPT}: checkpoint metadata field "cursor.position" is 1001, beyond the 1,000 training examples of this run`);
    // The end of an epoch is a position the data order itself stops at.
    expect(checkResume(at(20, 1000), { checkpoint: CKPT, steps: 100, fingerprint: fingerprint() })).toEqual([]);
  });

  it('from an older checkpoint without a fingerprint continues, with a warning that data and seed are unchecked', () => {
    expect(checkResume(at(20, 160, null), { checkpoint: CKPT, steps: 100, fingerprint: fingerprint() })).toEqual([
      `${CKPT} was written by an older Tunelab without a data and seed fingerprint: it is not checked that this run has the same data and --seed`,
    ]);
  });
});
