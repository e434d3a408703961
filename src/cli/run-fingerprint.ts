// A run's fingerprint (engine/train/checkpoint-meta.ts), recorded in its checkpoints and compared on
// --resume: a digest of the training examples exactly as the run trains on them (tokenized, truncated, after
// the held-out split, in file order; the seed shuffles them), their count and file, the seed and the method.

import { createHash } from 'node:crypto';
import type { RunFingerprint } from '../engine/train/checkpoint';

/** An example as hashed: its source line number left out, so blank or moved lines elsewhere change nothing. */
function withoutLine(example: unknown): unknown {
  if (typeof example !== 'object' || example === null || Array.isArray(example) || !('line' in example)) return example;
  const { line: _line, ...rest } = example as Record<string, unknown>;
  return rest;
}

/** sha256 (hex) over each example's JSON, one per line, in order. */
export function examplesDigest(examples: readonly unknown[]): string {
  const hash = createHash('sha256');
  for (const e of examples) hash.update(`${JSON.stringify(withoutLine(e))}\n`);
  return hash.digest('hex');
}

export function runFingerprint(examples: readonly unknown[], source: string, seed: number, method: string): RunFingerprint {
  return { data: { sha256: examplesDigest(examples), examples: examples.length, source }, seed, method };
}
