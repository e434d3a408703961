// Matrices too large for one storage binding are split by rows into parts (Qwen2.5-0.5B's 151936 x 896 f16
// embedding is 272 MB, over a 128 MiB binding limit). A tiny model with maxBindingBytes forced down to 1 KiB
// splits every matrix (embedding, position table, every linear, LM head) and must give the logits of the
// unsplit model.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CausalLm } from '../../src/engine/model/causal-lm';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import type { GpuModelWeights } from '../../src/engine/model/gpu/gpu-weights';
import { relativeError } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel } from '../helpers/tiny-models';

/** Splitting changes which rows a matmul sees together, not what it sums: expect (near) equality. */
const SPLIT_TOL = 1e-5;
const LIMIT = 1024;

const PROMPT = Array.from({ length: 30 }, (_, i) => (i * 37 + 1) % 512);
const SCHEDULE: { tokens: number[]; wanted: 'all' | 'last' }[] = [
  { tokens: PROMPT, wanted: 'all' },
  { tokens: [400], wanted: 'last' },
  { tokens: [8, 90, 2], wanted: 'all' },
  { tokens: [511], wanted: 'last' },
];

async function runSchedule(model: CausalLm): Promise<Float32Array[]> {
  const sequence = model.createSequence(40);
  const out: Float32Array[] = [];
  for (const s of SCHEDULE) out.push((await model.extend([{ sequence, tokens: s.tokens }], s.wanted))[0]);
  return out;
}


function partCounts(w: GpuModelWeights): Record<string, number> {
  return {
    tokenEmbedding: w.tokenEmbedding.parts.length,
    positionEmbedding: w.positionEmbedding?.parts.length ?? 0,
    lmHead: w.lmHead.parts.length,
    q: w.layers[0].q.parts.length,
    down: w.layers[0].down.parts.length,
  };
}

let tmp: string;
const models = new Map<string, LoadedModel>();

beforeAll(async () => {
  tmp = await makeTempDir();
  for (const kind of ['llama', 'gpt2'] as const) {
    await writeTinyModel(join(tmp, kind), kind, { seed: 7 });
    models.set(kind, await loadModel(join(tmp, kind)));
  }
});

afterAll(async () => {
  await removeTempDir(tmp);
});

describe('GpuCausalLm with matrices split by rows', () => {
  const cases = [
    // C = 48 f16: 10 rows per part, so the LM head's 30-row output comes back in blocks of 25 and 5 rows.
    { kind: 'llama', format: 'f16', label: 'tiny Llama (untied head, GQA), f16' },
    // Tied head (one set of parts for lookup and LM head) and a split learned-position table.
    { kind: 'gpt2', format: 'f32', label: 'tiny GPT-2 (tied, learned positions), f32' },
  ] as const;
  for (const c of cases) {
    it(`${c.label}: a ${LIMIT}-byte binding limit splits every matrix and changes no logit`, async () => {
      const { config, weights } = models.get(c.kind)!;
      const ctx = await testGpu();
      const whole = await GpuCausalLm.create(ctx, config, weights, { weightFormat: c.format });
      const split = await GpuCausalLm.create(ctx, config, weights, { weightFormat: c.format, maxBindingBytes: LIMIT });
      try {
        const parts = partCounts(split.weights);
        console.log(`${c.label}: parts ${JSON.stringify(parts)}`);
        expect(Object.values(partCounts(whole.weights)).every((n) => n <= 1)).toBe(true);
        expect(parts.tokenEmbedding).toBeGreaterThan(1);
        expect(parts.lmHead).toBeGreaterThan(1);
        expect(parts.q).toBeGreaterThan(1);
        expect(parts.down).toBeGreaterThan(1);
        if (c.kind === 'gpt2') expect(parts.positionEmbedding).toBeGreaterThan(1);
        for (const b of split.weights.buffers) expect(b.size).toBeLessThanOrEqual(LIMIT);
        expect(split.weightBytes).toBe(whole.weightBytes);

        const want = await runSchedule(whole);
        const got = await runSchedule(split);
        SCHEDULE.forEach((s, i) => {
          const err = relativeError(got[i], want[i]);
          console.log(`${c.label}: extend ${i} (${s.tokens.length} tokens, '${s.wanted}') split vs whole: ${err.toExponential(2)}`);
          expect(err).toBeLessThanOrEqual(SPLIT_TOL);
        });
      } finally {
        whole.dispose();
        split.dispose();
      }
    });
  }

  it('refuses a binding limit that cannot hold one row', async () => {
    const { config, weights } = models.get('llama')!;
    const ctx = await testGpu();
    // One f32 row of the (V, 48) embedding is 192 bytes.
    await expect(GpuCausalLm.create(ctx, config, weights, { weightFormat: 'f32', maxBindingBytes: 128 })).rejects.toThrow(
      /model\.embed_tokens\.weight: one row of 48 values does not fit a binding of 128 bytes/,
    );
  });
});
