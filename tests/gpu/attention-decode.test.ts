import { describe, expect, it } from 'vitest';
import { digestF32 } from '../../src/engine/selftest/expect';
import { attentionForward, preferredAttentionTuning } from '../../src/engine/ops/gpu/attention';
import { attentionDecode, decodeSplits, decodeWorkspaceBytes, type DecodeAttentionDims } from '../../src/engine/ops/gpu/attention-decode';
import {
  attentionDecodeChecks,
  decodeReference,
  randomDecodeInputs,
  runDecodeCase,
  runDecodeOnGpu,
  type DecodeCase,
} from '../../src/engine/selftest/checks/attention-decode';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { Rng } from '../../src/engine/util/rng';
import { expectOutcomes, runCheck, worstRowError } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';

// Head dims are pipeline constants (each compiles its own pair of kernels on SwiftShader): 64, 128 and the odd 37.
const HEAD_DIMS = [64, 128, 37];
const KEY_COUNTS = [1, 5, 63, 64, 65, 300, 1000];
const HEADS = [
  { hq: 2, hkv: 2 },
  { hq: 6, hkv: 2 },
];

describe('decode attention (Tq = 1, split over the keys) on WebGPU', () => {
  for (const check of attentionDecodeChecks) {
    it(`self-check ${check.name}, twice with equal bits`, async () => runCheck(await testGpu(), check));
  }

  let seed = 1300;
  for (const headDim of HEAD_DIMS) {
    for (const { hq, hkv } of HEADS) {
      it(`D = ${headDim}, Hq = ${hq}, Hkv = ${hkv}: Tk = ${KEY_COUNTS.join(', ')} within 1e-5 of the float64 reference`, async () => {
        const ctx = await testGpu();
        const results = [];
        for (const tk of KEY_COUNTS) {
          const c: DecodeCase = { dims: { batch: 1, tk, hq, hkv, headDim }, kvCapacity: tk + 3 };
          const x = randomDecodeInputs(c, seed++);
          const got = await runDecodeOnGpu(ctx, c, x);
          const want = decodeReference(c, x);
          // Relative to each head's largest |out|: the brief's 1e-5, met with room to spare.
          expect(worstRowError(got.out, want.out, headDim), `Tk = ${tk}`).toBeLessThan(1e-5);
          results.push(...(await runDecodeCase(ctx, c, seed++)));
        }
        expectOutcomes(results);
      });
    }
  }

  // Each group reuses the head dims above, so most of its pipelines are compiled already (lavapipe spends a
  // minute or more on each new one).
  const groups: Record<string, DecodeCase[]> = {
    'sharp rows, a custom scale, spaced requests (f32 reads)': [
      // Scores up to ~36 * 64 / 8 = 288: exp overflows without the running max, in every chunk.
      { dims: { batch: 1, tk: 300, hq: 6, hkv: 2, headDim: 64 }, amplitude: 6 },
      { dims: { batch: 2, tk: 130, hq: 6, hkv: 2, headDim: 64, scale: 0.3 }, kvCapacity: 140, spaced: true },
    ],
    'odd and largest chunk, block and workgroup sizes': [
      { dims: { batch: 3, tk: 75, hq: 4, hkv: 1, headDim: 37 }, spaced: true, tuning: { chunk: 7, block: 3, workgroup: 1 } },
      { dims: { batch: 1, tk: 1000, hq: 6, hkv: 2, headDim: 64 }, tuning: { chunk: 256, block: 32, workgroup: 256 } },
    ],
    'one head per invocation with f32 reads; four heads with a short last block (6 = 4 + 2) at odd D': [
      { dims: { batch: 2, tk: 150, hq: 6, hkv: 2, headDim: 64 }, tuning: { heads: 1, vec4Reads: false } },
      { dims: { batch: 1, tk: 150, hq: 12, hkv: 2, headDim: 37 }, tuning: { heads: 4 }, spaced: true },
    ],
  };
  for (const [name, cases] of Object.entries(groups)) {
    it(name, async () => {
      const ctx = await testGpu();
      const results = [];
      for (const c of cases) results.push(...(await runDecodeCase(ctx, c, seed++)));
      expectOutcomes(results);
    });
  }

  it('two requests with different Tk in one step (one dispatch each, as generation records them)', async () => {
    const ctx = await testGpu();
    const hq = 9;
    const hkv = 3;
    const D = 64;
    const a: DecodeCase = { dims: { batch: 1, tk: 300, hq, hkv, headDim: D } };
    const b: DecodeCase = { dims: { batch: 1, tk: 41, hq, hkv, headDim: D } };
    const xa = randomDecodeInputs(a, 41);
    const xb = randomDecodeInputs(b, 42);
    // Both queries in one (2, Hq * D) buffer, each request its own cache; one workspace for both.
    const row = hq * D;
    const q = new Float32Array(2 * row);
    q.set(xa.q, 0);
    q.set(xb.q, row);
    const bufs = [q, xa.k, xa.v, xb.k, xb.v].map((x) => ctx.upload(x));
    const [qBuf, kaBuf, vaBuf, kbBuf, vbBuf] = bufs;
    const outBuf = ctx.createBuffer(2 * row * 4);
    const need = decodeWorkspaceBytes(a.dims);
    const workspace = { acc: ctx.createBuffer(need.acc), stats: ctx.createBuffer(need.stats) };
    const step = ctx.step();
    attentionDecode(step, { out: outBuf }, qBuf, kaBuf, vaBuf, a.dims, { q: { offset: 0 }, out: { offset: 0 } }, {}, workspace);
    attentionDecode(step, { out: outBuf }, qBuf, kbBuf, vbBuf, b.dims, { q: { offset: row }, out: { offset: row } }, {}, workspace);
    await step.submit();
    const out = await ctx.readF32(outBuf, 2 * row);
    for (const buf of [...bufs, outBuf, workspace.acc, workspace.stats]) buf.destroy();
    expect(decodeSplits(a.dims.tk)).toBeGreaterThan(1);
    expect(worstRowError(out.subarray(0, row), decodeReference(a, xa).out, D)).toBeLessThan(1e-5);
    expect(worstRowError(out.subarray(row), decodeReference(b, xb).out, D)).toBeLessThan(1e-5);
  });

  it('is bitwise repeatable run to run, and one dispatch when the keys fit one chunk', async () => {
    const ctx = await testGpu();
    for (const tk of [40, 1000]) {
      const c: DecodeCase = { dims: { batch: 2, tk, hq: 14, hkv: 2, headDim: 64 } };
      const x = randomDecodeInputs(c, 7);
      const first = await runDecodeOnGpu(ctx, c, x);
      const second = await runDecodeOnGpu(ctx, c, x);
      expect(digestF32(second.out)).toBe(digestF32(first.out));
      expect(digestF32(second.lse)).toBe(digestF32(first.lse));
    }
    const buf = ctx.createBuffer(1 << 16);
    const step = ctx.step();
    attentionDecode(step, { out: buf, lse: buf }, buf, buf, buf, { batch: 1, tk: 64, hq: 2, hkv: 1, headDim: 64 });
    expect(step.dispatchCount).toBe(1);
    attentionDecode(step, { out: buf, lse: buf }, buf, buf, buf, { batch: 1, tk: 65, hq: 2, hkv: 1, headDim: 64 });
    expect(step.dispatchCount).toBe(3);
    buf.destroy();
  });

  it('rejects shapes, tunings and workspaces it cannot serve, before recording anything', async () => {
    const ctx = await testGpu();
    const buf = ctx.createBuffer(64);
    const step = ctx.step();
    const dims: DecodeAttentionDims = { batch: 1, tk: 300, hq: 2, hkv: 1, headDim: 64 };
    const run = (d: DecodeAttentionDims, tuning = {}, layouts = {}, workspace?: { acc: GPUBuffer; stats: GPUBuffer }) => () =>
      attentionDecode(step, { out: buf }, buf, buf, buf, d, layouts, tuning, workspace);
    expect(run({ ...dims, headDim: 129 })).toThrow(/exceeds 128/);
    expect(run({ ...dims, hkv: 3 })).toThrow(/multiple/);
    expect(run({ ...dims, tk: 0 })).toThrow(/tk must be a positive integer/);
    expect(run(dims, { chunk: 0 })).toThrow(/chunk/);
    expect(run(dims, { workgroup: 512 })).toThrow(/workgroup/);
    expect(run(dims, { block: 33 })).toThrow(/block/);
    expect(run(dims, { heads: 5 })).toThrow(/heads 5 out of 1\.\.4/);
    expect(run({ ...dims, headDim: 128 }, { heads: 3 })).toThrow(/heads 3 out of 1\.\.2/);
    expect(run(dims, { heads: 4, block: 32 })).toThrow(/heads 4 out of 1\.\.2/);
    expect(run(dims, {}, { k: { rowStride: 10 } })).toThrow(/k\.rowStride/);
    expect(run(dims, {}, {}, { acc: buf, stats: buf })).toThrow(/workspace/);
    expect(step.dispatchCount).toBe(0);
    buf.destroy();
  });

  it('equals the training forward at Tq = 1 (attentionForward, the adapter preferred variant) to f32 rounding', async () => {
    const ctx = await testGpu();
    const c: DecodeCase = { dims: { batch: 1, tk: 300, hq: 6, hkv: 2, headDim: 64 } };
    const x = randomDecodeInputs(c, 99);
    const mine = await runDecodeOnGpu(ctx, c, x);
    const bufs = [x.q, x.k, x.v].map((a) => ctx.upload(a));
    const outBuf = ctx.createBuffer(x.q.byteLength);
    const lseBuf = ctx.createBuffer(6 * 4);
    const step = ctx.step();
    attentionForward(step, outBuf, lseBuf, bufs[0], bufs[1], bufs[2], { ...c.dims, tq: 1 }, {}, preferredAttentionTuning(ctx.adapter, c.dims.headDim));
    await step.submit();
    const theirs = await ctx.readF32(outBuf, x.q.length);
    for (const b of [...bufs, outBuf, lseBuf]) b.destroy();
    expect(worstRowError(mine.out, theirs, 64)).toBeLessThan(2e-6);
  });

  it('generation: one-token steps past several chunks equal a one-pass prefill and the CPU reference (stories260K)', async () => {
    const ctx = await testGpu();
    const loaded = await loadModel(STORIES260K_DIR);
    const gpu = await GpuCausalLm.create(ctx, loaded.config, loaded.weights, { weightFormat: 'f32' });
    const cpu = new CpuCausalLm(loaded.config, loaded.weights);
    const V = loaded.config.vocabSize;
    const rng = new Rng(5);
    // Two sequences decoding together, 200 and 70 cached positions (4 and 2 chunks of 64 keys at the step).
    const texts = [200, 70].map((n) => Array.from({ length: n + 2 }, () => 3 + rng.int(V - 3)));
    try {
      const seqs = texts.map((t) => gpu.createSequence(t.length));
      await gpu.extend(seqs.map((sequence, i) => ({ sequence, tokens: texts[i].slice(0, -2) })), 'last');
      for (const back of [2, 1]) {
        const decoded = await gpu.extend(seqs.map((sequence, i) => ({ sequence, tokens: [texts[i].at(-back)!] })), 'last');
        for (const [i, t] of texts.entries()) {
          const prefix = t.slice(0, t.length - back + 1);
          const fresh = gpu.createSequence(prefix.length);
          const [onePass] = await gpu.extend([{ sequence: fresh, tokens: prefix }], 'last');
          gpu.releaseSequence(fresh);
          const cpuSeq = cpu.createSequence(prefix.length);
          const [reference] = await cpu.extend([{ sequence: cpuSeq, tokens: prefix }], 'last');
          cpu.releaseSequence(cpuSeq);
          expect(worstRowError(decoded[i], onePass, V), `request ${i} vs one pass`).toBeLessThan(1e-5);
          expect(worstRowError(decoded[i], reference, V), `request ${i} vs the CPU reference`).toBeLessThan(1e-4);
        }
      }
      for (const s of seqs) gpu.releaseSequence(s);
    } finally {
      gpu.dispose();
    }
  });
});
