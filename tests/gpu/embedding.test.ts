import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import { packF16, roundToF16 } from '../../src/engine/gpu/f16';
import { buildEmbeddingGradIndex, embeddingBackward, embeddingForward, sequencePositionIds } from '../../src/engine/ops/cpu/embedding';
import { embedding, embeddingBackward as gpuEmbeddingBackward, uploadEmbeddingGradIndex } from '../../src/engine/ops/gpu/embedding';
import { embeddingChecks } from '../../src/engine/selftest/checks/embedding';
import { Rng } from '../../src/engine/util/rng';
import { expectClose, runCheck } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';

const exact = { atol: 0, rtol: 0 };

async function backwardOnGpu(ctx: GpuContext, ids: Int32Array | Uint32Array, dout: Float32Array, dtable0: Float32Array, channels: number, vocab: number): Promise<Float32Array> {
  const index = uploadEmbeddingGradIndex(ctx, buildEmbeddingGradIndex(ids));
  const doutBuf = ctx.upload(dout);
  const dtableBuf = ctx.upload(dtable0);
  const step = ctx.step();
  gpuEmbeddingBackward(step, dtableBuf, doutBuf, index, { channels, vocab });
  await step.submit();
  const got = await ctx.readF32(dtableBuf, vocab * channels);
  for (const b of [index.buffer, doutBuf, dtableBuf]) b.destroy();
  return got;
}

describe('embedding kernels on WebGPU', () => {
  for (const check of embeddingChecks) {
    it(check.name, async () => runCheck(await testGpu(), check));
  }

  it('looks up an f16 table with odd C over many workgroups, i32 ids', async () => {
    const ctx = await testGpu();
    const [rows, channels, vocab] = [256, 77, 1000];
    const rng = new Rng(3);
    const values = rng.f32(vocab * channels);
    const ids = Int32Array.from({ length: rows }, () => rng.int(vocab));
    const buffers = [ctx.upload(ids), ctx.upload(packF16(values)), ctx.createBuffer(rows * channels * 4)];
    const step = ctx.step();
    embedding(step, buffers[2], buffers[0], buffers[1], { rows, channels, vocab }, { format: 'f16' });
    await step.submit();
    const got = await ctx.readF32(buffers[2], rows * channels);
    buffers.forEach((b) => b.destroy());
    const want = new Float32Array(rows * channels);
    embeddingForward(want, ids, roundToF16(values), channels);
    expectClose(got, want, exact, 'f16 lookup, 77 workgroups');
  });

  it('clamps out-of-range token and position ids instead of reading out of bounds', async () => {
    const ctx = await testGpu();
    const [channels, vocab, count] = [3, 4, 2];
    const tok = Float32Array.from({ length: vocab * channels }, (_, i) => i + 1);
    const pos = Float32Array.from({ length: count * channels }, (_, i) => 100 * (i + 1));
    const ids = Int32Array.of(0, 7, -1, 3); // 7 and -1 (0xffffffff as u32) clamp to V - 1 = 3
    const posIds = Uint32Array.of(0, 1, 5, 1); // 5 clamps to P - 1 = 1
    const rows = ids.length;
    const b = [ctx.upload(ids), ctx.upload(tok), ctx.upload(pos), ctx.upload(posIds), ctx.createBuffer(rows * channels * 4)];
    const step = ctx.step();
    embedding(step, b[4], b[0], b[1], { rows, channels, vocab }, { positions: { table: b[2], count, ids: b[3] } });
    await step.submit();
    const got = await ctx.readF32(b[4], rows * channels);
    b.forEach((x) => x.destroy());
    const want = new Float32Array(rows * channels);
    embeddingForward(want, [0, 3, 3, 3], tok, channels, pos, [0, 1, 1, 1]);
    expect([...got]).toEqual([...want]);
  });

  it('adds GPT-2 position rows for T=1 sequences', async () => {
    const ctx = await testGpu();
    const [rows, channels, vocab] = [5, 6, 9];
    const rng = new Rng(4);
    const tok = rng.f32(vocab * channels);
    const pos = rng.f32(3 * channels);
    const ids = Uint32Array.of(8, 0, 8, 2, 1);
    const b = [ctx.upload(ids), ctx.upload(tok), ctx.upload(pos), ctx.createBuffer(rows * channels * 4)];
    const step = ctx.step();
    embedding(step, b[3], b[0], b[1], { rows, channels, vocab }, { positions: { table: b[2], count: 3, seqLen: 1, start: 2 } });
    await step.submit();
    const got = await ctx.readF32(b[3], rows * channels);
    b.forEach((x) => x.destroy());
    const want = new Float32Array(rows * channels);
    embeddingForward(want, ids, tok, channels, pos, sequencePositionIds(rows, 1, 2));
    expectClose(got, want, exact, 'T=1, position 2');
  });

  it('a row part writes only the rows whose id it holds, and no clamping happens', async () => {
    const ctx = await testGpu();
    const [channels, vocab, first, count] = [5, 10, 4, 3]; // the part holds rows 4, 5, 6
    const full = Float32Array.from({ length: vocab * channels }, (_, i) => i + 1);
    const ids = Uint32Array.of(0, 4, 6, 7, 9, 5, 3);
    const rows = ids.length;
    const sentinel = new Float32Array(rows * channels).fill(-7);
    const b = [ctx.upload(ids), ctx.upload(packF16(full.subarray(first * channels, (first + count) * channels))), ctx.upload(sentinel)];
    const step = ctx.step();
    embedding(step, b[2], b[0], b[1], { rows, channels, vocab: count }, { format: 'f16', firstRow: first });
    await step.submit();
    const got = await ctx.readF32(b[2], rows * channels);
    b.forEach((x) => x.destroy());
    const want = Float32Array.from(sentinel);
    ids.forEach((id, i) => {
      if (id >= first && id < first + count) want.set(full.subarray(id * channels, (id + 1) * channels), i * channels);
    });
    expectClose(got, want, exact, 'rows 1, 2 and 5 written; 0, 3, 4, 6 untouched');
  });

  it('sums many repeated ids exactly in order and leaves untouched rows alone', async () => {
    const ctx = await testGpu();
    const [n, channels, vocab] = [2048, 64, 500];
    const rng = new Rng(6);
    const ids = Uint32Array.from({ length: n }, () => (rng.next() < 0.25 ? 7 : rng.int(vocab)));
    const dout = rng.normals(n * channels);
    const dtable0 = rng.f32(vocab * channels);
    const got = await backwardOnGpu(ctx, ids, dout, dtable0, channels, vocab);
    const want = Float32Array.from(dtable0);
    embeddingBackward(want, dout, ids, channels); // float32, the same order as the kernel
    expectClose(got, want, exact, 'dtable, ~500 repeats of id 7');
    const seen = new Set(ids);
    for (let v = 0; v < vocab; v++) {
      if (seen.has(v)) continue;
      expect([...got.subarray(v * channels, (v + 1) * channels)]).toEqual([...dtable0.subarray(v * channels, (v + 1) * channels)]);
    }
  });

  it('does nothing for an empty batch', async () => {
    const ctx = await testGpu();
    const dtable0 = new Rng(7).f32(12);
    const got = await backwardOnGpu(ctx, new Uint32Array(0), new Float32Array(0), dtable0, 3, 4);
    expect([...got]).toEqual([...dtable0]);
  });
});
