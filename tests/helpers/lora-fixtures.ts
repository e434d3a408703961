// Fixtures for LoRA training tests: an adapter with PEFT's A and a NON-zero B (with B = 0 the A gradient is
// trivially zero), and small packed batches of sequences of different lengths with ignored labels.

import { initAdapter, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import type { LoraConfig } from '../../src/engine/lora/lora-config';
import type { Architecture } from '../../src/engine/model/config';
import type { ModelWeights } from '../../src/engine/model/weights';
import { IGNORE_INDEX, shiftedLabels, type TrainBatch, type TrainSequence } from '../../src/engine/train/train-batch';
import { Rng } from '../../src/engine/util/rng';

export const ALL_LINEAR: Omit<LoraConfig, 'r'> = { alpha: 8, dropout: 0, targets: ['all-linear'], useRslora: false };

/** PEFT's initialisation, then B ~ U(-bRange, bRange) so every parameter has a non-trivial gradient. */
export function randomLoraAdapter(architecture: Architecture, weights: ModelWeights, config: LoraConfig, seed: number, bRange = 0.2): LoraAdapter {
  const rng = new Rng(seed);
  const adapter = initAdapter(planAdapter(architecture, weights, config), rng);
  for (const m of adapter.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = rng.uniform(-bRange, bRange);
  return adapter;
}

/** A sequence of random ids whose first `ignoredPrefix` targets (a "prompt") are not trained. */
export function randomSequence(rng: Rng, length: number, vocabSize: number, ignoredPrefix: number): TrainSequence {
  const inputIds = Int32Array.from({ length }, () => rng.int(vocabSize));
  const mask = Int32Array.from({ length }, (_, t) => (t > ignoredPrefix ? 1 : 0));
  return { inputIds, labels: shiftedLabels(inputIds, mask) };
}

/** Two sequences of lengths 7 and 4 with ignored prompt labels (and the ignored last position). */
export function twoSequenceBatch(vocabSize: number, seed: number): TrainBatch {
  const rng = new Rng(seed);
  const batch = { sequences: [randomSequence(rng, 7, vocabSize, 2), randomSequence(rng, 4, vocabSize, 1)] };
  for (const s of batch.sequences) {
    if (!s.labels.includes(IGNORE_INDEX) || s.labels.every((l) => l === IGNORE_INDEX)) throw new Error('fixture: want trained and ignored labels');
  }
  return batch;
}
