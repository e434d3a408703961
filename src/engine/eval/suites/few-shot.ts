// Few-shot example selection shared by the suites: k examples drawn without replacement from a pool,
// seeded per item (the seed mixed with the item's id), so an item gets the same examples whatever the
// order, the --limit or the other items; the item itself is never one of its own examples.
//
// lm-evaluation-harness draws with Python's random.Random(1234) in document order (lm_eval/api/samplers.py
// ContextSampler.sample: rnd.sample(pool, n + 1), then drops the eval doc); we keep its rules (without
// replacement, k + 1 drawn so that dropping the item still leaves k) but not its exact random stream.

import { Rng } from '../../util/rng';

/** FNV-1a over UTF-16 code units: a stable 32-bit hash of an item id. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * `k` distinct examples from `pool` for the item `itemId`, none for which `isItem` is true (the item itself,
 * when the pool is its own split). Throws when the pool cannot supply `k` other examples.
 */
export function sampleFewShot<T>(pool: readonly T[], k: number, seed: number, itemId: string, isItem: (candidate: T) => boolean): T[] {
  if (!Number.isInteger(k) || k < 0) throw new Error(`few-shot count must be a whole number >= 0, got ${k}`);
  if (k === 0) return [];
  const rng = new Rng((hashString(itemId) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0);
  const wanted = Math.min(k + 1, pool.length);
  const picked = new Set<number>();
  const order: number[] = [];
  while (order.length < wanted) {
    const index = rng.int(pool.length);
    if (picked.has(index)) continue;
    picked.add(index);
    order.push(index);
  }
  const examples = order.map((i) => pool[i]).filter((candidate) => !isItem(candidate));
  if (examples.length < k) throw new Error(`few-shot: ${k} examples asked for item ${itemId} but the pool has only ${examples.length} other examples`);
  return examples.slice(0, k);
}
