import { describe, expect, it } from 'vitest';
import { attentionBackward as attentionBackwardCpu } from '../../src/engine/ops/cpu/attention';
import { attentionBackward, attentionForward } from '../../src/engine/ops/gpu/attention';
import {
  attentionBackwardTolerance,
  attentionChecks,
  runAttentionBackwardCase,
  runAttentionForwardCase,
  type AttentionCase,
} from '../../src/engine/selftest/checks/attention';
import { Rng } from '../../src/engine/util/rng';
import { expectClose, expectOutcomes, runCheck } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';

// Head dims are pipeline constants: each distinct D compiles its own kernels (slow on SwiftShader), so the
// cases below reuse a few (5, 16, 64, 128).
const groups: Record<string, AttentionCase[]> = {
  'T = 1 and tiny odd shapes': [
    { dims: { batch: 2, tq: 1, tk: 1, hq: 6, hkv: 2, headDim: 16 } },
    { dims: { batch: 2, tq: 7, tk: 7, hq: 3, hkv: 3, headDim: 5 } },
  ],
  'sequences spanning several workgroups and key tiles (T = 130, D = 64, GQA)': [
    { dims: { batch: 2, tq: 130, tk: 130, hq: 6, hkv: 2, headDim: 64 } },
  ],
  'the largest head dim (D = 128)': [{ dims: { batch: 1, tq: 33, tk: 33, hq: 2, hkv: 1, headDim: 128 } }],
  'non-causal attention with a custom scale, and sharp softmax rows': [
    { dims: { batch: 1, tq: 33, tk: 33, hq: 4, hkv: 1, headDim: 16, causal: false, scale: 0.3 } },
    // Scores up to ~36 * 16 / 4 = 144: exp overflows without the running max.
    { dims: { batch: 2, tq: 33, tk: 33, hq: 2, hkv: 2, headDim: 16 }, amplitude: 6 },
  ],
  'KV-cached decode and chunked prefill (Tq < Tk, k/v inside a larger cache)': [
    { dims: { batch: 2, tq: 1, tk: 17, hq: 6, hkv: 2, headDim: 16 }, kvCapacity: 24 },
    { dims: { batch: 2, tq: 5, tk: 40, hq: 6, hkv: 2, headDim: 16 }, kvCapacity: 48 },
  ],
  "GPT-2's fused qkv buffer (strided q, k, v and dq, dk, dv)": [
    { dims: { batch: 2, tq: 19, tk: 19, hq: 4, hkv: 2, headDim: 16 }, fusedQkv: true },
  ],
  'other workgroup and tile sizes': [
    { dims: { batch: 2, tq: 33, tk: 33, hq: 6, hkv: 2, headDim: 5 }, tuning: { rows: 4, tile: 3 } },
    { dims: { batch: 1, tq: 33, tk: 33, hq: 6, hkv: 2, headDim: 5 }, tuning: { rows: 256, tile: 64 } },
    { dims: { batch: 1, tq: 33, tk: 33, hq: 6, hkv: 2, headDim: 5 }, tuning: { rows: 1, tile: 1 } },
  ],
  'more than 65535 workgroups (folded grid)': [
    { dims: { batch: 70000, tq: 1, tk: 1, hq: 1, hkv: 1, headDim: 5 }, tuning: { rows: 1 } },
  ],
};

describe('attention kernels on WebGPU', () => {
  for (const check of attentionChecks) {
    it(check.name, async () => runCheck(await testGpu(), check));
  }

  // The tiled variant's workgroup arrays make SwiftShader compile for seconds (about 1.5 s per 16 KiB), so
  // here D = 128 runs it with small tiles; its default tiles run in the other cases, in the self-test on real
  // GPUs, and on any adapter given TUNELAB_VK_ICD. The folded grid is variant-independent; 'matmul' gives
  // way to 'direct' there (more than 65535 (sequence, head) items).
  const tiledTile = (c: AttentionCase) => c.tuning?.tile ?? (c.dims.headDim >= 128 ? 8 : undefined);
  let seed = 900;
  for (const variant of ['direct', 'tiled', 'matmul'] as const) {
    for (const [name, cases] of Object.entries(groups)) {
      if (variant === 'tiled' && name.startsWith('more than 65535')) continue;
      it(`${variant}: ${name}`, async () => {
        const ctx = await testGpu();
        const results = [];
        for (const c of cases) {
          const tile = variant === 'tiled' ? tiledTile(c) : c.tuning?.tile;
          const forced = { ...c, tuning: { ...c.tuning, variant, tile } };
          results.push(...(await runAttentionForwardCase(ctx, forced, seed)));
          results.push(...(await runAttentionBackwardCase(ctx, forced, seed + 1)));
          seed += 2;
        }
        expectOutcomes(results);
      });
    }
  }

  it('rejects shapes and tunings it cannot serve, before recording anything', async () => {
    const ctx = await testGpu();
    const buf = ctx.createBuffer(64);
    const step = ctx.step();
    const dims = { batch: 1, tq: 4, tk: 4, hq: 2, hkv: 1, headDim: 64 };
    const run = (d: typeof dims, tuning = {}, layouts = {}) => () => attentionForward(step, buf, buf, buf, buf, buf, d, layouts, tuning);
    expect(run({ ...dims, headDim: 129 })).toThrow(/exceeds 128/);
    expect(run({ ...dims, hkv: 3 })).toThrow(/multiple/);
    expect(run({ ...dims, tq: 5 })).toThrow(/exceed/);
    expect(run(dims, { variant: 'tiled', tile: 64 })).toThrow(/workgroup memory/);
    expect(run(dims, { rows: 512 })).toThrow(/rows per workgroup/);
    expect(run(dims, {}, { q: { rowStride: 100 } })).toThrow(/rowStride/);
    expect(step.dispatchCount).toBe(0);
    buf.destroy();
  });

  it('trains end to end: the backward fed by the GPU forward matches the reference', async () => {
    const ctx = await testGpu();
    const dims = { batch: 2, tq: 21, tk: 21, hq: 6, hkv: 2, headDim: 16 };
    const rng = new Rng(77);
    const nq = dims.batch * dims.tq * dims.hq * dims.headDim;
    const nkv = dims.batch * dims.tk * dims.hkv * dims.headDim;
    const [q, k, v, dout] = [rng.f32(nq, -2, 2), rng.f32(nkv, -2, 2), rng.f32(nkv), rng.f32(nq)];
    const bufs = [q, k, v, dout].map((x) => ctx.upload(x));
    const [qb, kb, vb, doutb] = bufs;
    const [outb, lseb, dqb, dkb, dvb] = [nq, dims.batch * dims.hq * dims.tq, nq, nkv, nkv].map((n) => ctx.createBuffer(n * 4));
    const step = ctx.step();
    attentionForward(step, outb, lseb, qb, kb, vb, dims);
    attentionBackward(step, { dq: dqb, dk: dkb, dv: dvb }, doutb, { q: qb, k: kb, v: vb, out: outb, lse: lseb }, dims);
    await step.submit();
    const [dq, dk, dv] = [new Float64Array(nq), new Float64Array(nkv), new Float64Array(nkv)];
    const f64 = (x: Float32Array) => Float64Array.from(x);
    attentionBackwardCpu(dq, dk, dv, f64(dout), f64(q), f64(k), f64(v), dims);
    expectClose(await ctx.readF32(dqb, nq), dq, attentionBackwardTolerance, 'dq');
    expectClose(await ctx.readF32(dkb, nkv), dk, attentionBackwardTolerance, 'dk');
    expectClose(await ctx.readF32(dvb, nkv), dv, attentionBackwardTolerance, 'dv');
    for (const b of [...bufs, outb, lseb, dqb, dkb, dvb]) b.destroy();
  });
});
