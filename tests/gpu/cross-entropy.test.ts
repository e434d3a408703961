import { describe, expect, it } from 'vitest';
import { roundToF16 } from '../../src/engine/gpu/f16';
import { DEFAULT_CHUNK_BUDGET_BYTES, vocabChunkColumns } from '../../src/engine/ops/gpu/lm-head-loss';
import {
  crossEntropyChecks,
  crossEntropyReference,
  lmHeadReference,
  makeCrossEntropyCase,
  makeLmHeadCase,
  runChunkedCrossEntropy,
  runLmHead,
  type LmHeadCase,
} from '../../src/engine/selftest/checks/cross-entropy';
import { Rng } from '../../src/engine/util/rng';
import { expectClose, runCheck } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';

const lossTol = { atol: 1e-5, rtol: 1e-5 };
const gradTol = { atol: 1e-7, rtol: 1e-5 };

/** Loss, row losses, dh and dW of a GPU run against the float64 full-vocabulary reference. */
function expectMatchesReference(
  got: Awaited<ReturnType<typeof runLmHead>>,
  c: LmHeadCase,
  initial?: Parameters<typeof lmHeadReference>[1],
  tol = { loss: lossTol, grad: gradTol },
): void {
  const want = lmHeadReference(c, initial);
  expectClose(got.result, want.result, tol.loss, `${c.label}: mean, sum, count, 1/count`);
  expectClose(got.rowLoss, want.rowLoss, tol.loss, `${c.label}: row losses`);
  expectClose(got.dHidden, want.dHidden, tol.grad, `${c.label}: dh`);
  expectClose(got.dWeight, want.dWeight, tol.grad, `${c.label}: dW`);
}

describe('cross-entropy kernels on WebGPU', () => {
  for (const check of crossEntropyChecks) {
    it(check.name, async () => runCheck(await testGpu(), check));
  }

  it('chunk kernels cover a 50257-token vocabulary whatever the chunk size', async () => {
    const ctx = await testGpu();
    const losses: number[] = [];
    for (const chunk of [50257, 4096, 1000]) {
      const c = makeCrossEntropyCase(41, `V=50257 Vc=${chunk}`, 3, 50257, chunk, { ignore: [1] });
      const got = await runChunkedCrossEntropy(ctx, c);
      const want = crossEntropyReference(c);
      expectClose(got.rowLoss, want.rowLoss, { atol: 1e-5, rtol: 2e-6 }, `${c.label}: row losses`);
      expectClose(got.dlogits, want.dlogits, { atol: 1e-9, rtol: 2e-5 }, `${c.label}: dlogits`);
      losses.push(got.result[0]);
    }
    expectClose(losses, [losses[0], losses[0], losses[0]], { atol: 1e-5, rtol: 0 }, 'mean loss across chunk sizes');
  });
});

describe('LM-head loss on WebGPU', () => {
  it('picks chunks under the byte budget, aligned so W chunks bind as sub-ranges', () => {
    // Qwen2-0.5B: C = 896, V = 151936; a batch of 4 x 1024 tokens.
    const qwen = { rows: 4096, channels: 896, vocab: 151936 };
    expect(vocabChunkColumns(qwen)).toBe(4096);
    const single = { rows: 1, channels: 896, vocab: 151936 };
    const cols = vocabChunkColumns(single);
    expect(cols % 128).toBe(0);
    expect(cols * 896 * 4).toBeLessThanOrEqual(DEFAULT_CHUNK_BUDGET_BYTES);
    expect(vocabChunkColumns({ rows: 4, channels: 8, vocab: 300 })).toBe(300);
    expect(vocabChunkColumns({ rows: 1 << 20, channels: 8, vocab: 300 }, 1 << 22)).toBe(1);
  });

  it('gives the same loss and gradients for every chunk size, V no multiple of any', async () => {
    const ctx = await testGpu();
    const first = await runLmHead(ctx, makeLmHeadCase(51, 'Vc=1003', { rows: 6, channels: 16, vocab: 1003 }, {}, [2]));
    for (const chunkColumns of [256, 100, 37, 7]) {
      const c = makeLmHeadCase(51, `Vc=${chunkColumns}`, { rows: 6, channels: 16, vocab: 1003 }, { chunkColumns }, [2]);
      const got = await runLmHead(ctx, c);
      expectMatchesReference(got, c);
      expectClose(got.result, first.result, lossTol, `${c.label} vs one chunk: loss`);
      expectClose(got.dHidden, first.dHidden, gradTol, `${c.label} vs one chunk: dh`);
    }
  });

  it('handles f32 heads at unaligned chunk offsets and f16 heads at aligned ones', async () => {
    const ctx = await testGpu();
    for (const c of [
      makeLmHeadCase(32, 'f32 N=5 C=13 V=333 Vc=100', { rows: 5, channels: 13, vocab: 333 }, { chunkColumns: 100 }),
      makeLmHeadCase(33, 'f16 N=4 C=10 V=500 Vc=128', { rows: 4, channels: 10, vocab: 500 }, {
        weightFormat: 'f16',
        chunkColumns: 128,
      }),
    ]) {
      expectMatchesReference(await runLmHead(ctx, c), c);
    }
  });

  it('handles T = 1 (a single row) with several chunks', async () => {
    const ctx = await testGpu();
    const c = makeLmHeadCase(52, 'N=1 Vc=33', { rows: 1, channels: 12, vocab: 250 }, { chunkColumns: 33 });
    expectMatchesReference(await runLmHead(ctx, c), c);
  });

  it('masks ignored targets, and an all-ignored batch gives loss 0 and overwrites the gradients with 0', async () => {
    const ctx = await testGpu();
    const dims = { rows: 5, channels: 8, vocab: 300 };
    const some = makeLmHeadCase(53, 'rows 0, 3, 4 ignored', dims, { chunkColumns: 128 }, [0, 3, 4]);
    const got = await runLmHead(ctx, some);
    expectMatchesReference(got, some);
    expect(got.result[2]).toBe(2);
    expect([got.rowLoss[0], got.rowLoss[3], got.rowLoss[4]]).toEqual([0, 0, 0]);

    const none = makeLmHeadCase(54, 'all ignored', dims, { chunkColumns: 128 }, [0, 1, 2, 3, 4]);
    // Stale NaNs in the gradient buffers: the non-accumulating backward must overwrite them.
    const stale = { dHidden: new Float32Array(5 * 8).fill(NaN), dWeight: new Float32Array(300 * 8).fill(NaN) };
    const zero = await runLmHead(ctx, none, stale);
    expect([...zero.result]).toEqual([0, 0, 0, 0]);
    expect([...zero.rowLoss]).toEqual([0, 0, 0, 0, 0]);
    expect(zero.dHidden.every((x) => x === 0)).toBe(true);
    expect(zero.dWeight.every((x) => x === 0)).toBe(true);
  });

  it('keeps large logits (near +-3e4) finite and exact', async () => {
    const ctx = await testGpu();
    // Every input is a multiple of 1/8 and W[:, 0] = 234.375, so h[:, 0] = +-128 or 64 shifts a row's logits by
    // +-30000 or 15000 and every partial sum (a multiple of 1/64 below 2^18) is exact in f32: the logits are exact.
    const [rows, channels, vocab] = [4, 8, 500];
    const rng = new Rng(55);
    const eighth = () => Math.round(rng.uniform(-8, 8)) / 8;
    const hidden = new Float32Array(rows * channels).map(eighth);
    const weight = new Float32Array(vocab * channels).map(eighth);
    [128, -128, 64, 0].forEach((h0, i) => (hidden[i * channels] = h0));
    for (let v = 0; v < vocab; v++) weight[v * channels] = 234.375;
    const targets = Int32Array.of(17, 499, 256, 0);
    const options = { chunkColumns: 128 };
    const c: LmHeadCase = { label: 'logits near +-3e4', rows, channels, vocab, hidden, weight, targets, options };
    const got = await runLmHead(ctx, c);
    expect(got.result.every(Number.isFinite)).toBe(true);
    expect(got.dHidden.every(Number.isFinite)).toBe(true);
    // dh[:, 0] = 234.375 * sum_j (p_j - y_j) is 0 up to the f32 rounding of sum_j p_j, scaled by 234.375 / 4.
    expectMatchesReference(got, c, undefined, { loss: lossTol, grad: { atol: 2e-5, rtol: 1e-4 } });
  });

  it('covers a 50257-token vocabulary with small C in many chunks (f32 and f16 weights)', async () => {
    const ctx = await testGpu();
    const dims = { rows: 4, channels: 8, vocab: 50257 };
    // A 64 KiB budget gives 2048-column chunks: 25 of them, the last one short.
    expect(vocabChunkColumns(dims, 1 << 16)).toBe(2048);
    for (const weightFormat of ['f32', 'f16'] as const) {
      const c = makeLmHeadCase(56, `V=50257 ${weightFormat}`, dims, { budgetBytes: 1 << 16, weightFormat }, [1]);
      if (weightFormat === 'f16') expect(c.weight).toEqual(roundToF16(c.weight));
      expectMatchesReference(await runLmHead(ctx, c), c);
    }
  });

  it('accumulates into existing gradients with an explicit scale (gradient accumulation)', async () => {
    const ctx = await testGpu();
    const dims = { rows: 5, channels: 8, vocab: 400 };
    const options = { chunkColumns: 128, accumulate: true, gradScale: 1 / 12 };
    const c = makeLmHeadCase(57, 'accumulate, scale 1/12', dims, options, [3]);
    const rng = new Rng(58);
    const initial = { dHidden: rng.f32(dims.rows * dims.channels), dWeight: rng.f32(dims.vocab * dims.channels) };
    expectMatchesReference(await runLmHead(ctx, c, initial), c, initial);
  });
});
