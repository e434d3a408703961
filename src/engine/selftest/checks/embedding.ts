// Self-checks of the embedding lookup and its backward against the CPU references run in float32.
// Both kernels are exact: the forward copies (f16 -> f32 is exact) and adds at most one f32 position row,
// and the backward adds each row's gradients in the same order as the reference. Tolerance is therefore 0.
// Table values keep |v| >= 1/64 so that no f16 subnormal (which a GPU may flush) makes "exact" adapter-
// dependent. Cases: odd C with f16 (rows not word-aligned, the table's last half-word), both position
// modes, repeated ids, a padding token repeated many times, position-table gradients, and a table split by
// rows into parts (one lookup per part, each writing only the rows whose id it holds).

import type { GpuContext } from '../../gpu/context';
import { packF16, roundToF16 } from '../../gpu/f16';
import { buildEmbeddingGradIndex, embeddingBackward, embeddingForward, sequencePositionIds } from '../../ops/cpu/embedding';
import { embedding, embeddingBackward as gpuEmbeddingBackward, uploadEmbeddingGradIndex, type TableFormat } from '../../ops/gpu/embedding';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { CheckOutcome, KernelCheck } from '../types';

const exact = { atol: 0, rtol: 0 };

/** Values with 1/64 <= |v| < 1 and a random sign. */
function tableValues(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(1 / 64, 1);
  return out;
}

/** A table as the GPU stores it and as the reference sees it. */
function table(rng: Rng, rows: number, channels: number, format: TableFormat): { gpu: Uint32Array | Float32Array; ref: Float32Array } {
  const values = tableValues(rng, rows * channels);
  return format === 'f16' ? { gpu: packF16(values), ref: roundToF16(values) } : { gpu: values, ref: values };
}

/** Ids in [0, vocab) with the last row included (the table's final word when V * C is odd). */
function randomIds(rng: Rng, n: number, vocab: number): Uint32Array {
  const ids = new Uint32Array(n);
  for (let i = 0; i < n; i++) ids[i] = rng.int(vocab);
  ids[n - 1] = vocab - 1;
  return ids;
}

interface ForwardCase {
  rows: number;
  channels: number;
  vocab: number;
  format: TableFormat;
  /** 'sequence': GPT-2 style t = start + i mod seqLen; 'explicit': a positions buffer. */
  positions?: { mode: 'sequence' | 'explicit'; count: number; format: TableFormat; seqLen?: number; start?: number };
  /** Split the table into this many row ranges (uneven: the last is shorter), one lookup per part. */
  parts?: number;
}

const FORWARD_CASES: ForwardCase[] = [
  { rows: 1, channels: 1, vocab: 3, format: 'f32' },
  { rows: 13, channels: 37, vocab: 50, format: 'f32' },
  { rows: 13, channels: 37, vocab: 51, format: 'f16' },
  { rows: 18, channels: 33, vocab: 40, format: 'f16', positions: { mode: 'sequence', count: 12, format: 'f32', seqLen: 9 } },
  { rows: 20, channels: 64, vocab: 30, format: 'f32', positions: { mode: 'explicit', count: 25, format: 'f16' } },
  { rows: 64, channels: 101, vocab: 300, format: 'f16', positions: { mode: 'sequence', count: 40, format: 'f16', seqLen: 32, start: 5 } },
  { rows: 40, channels: 33, vocab: 70, format: 'f16', parts: 3, positions: { mode: 'explicit', count: 16, format: 'f32' } },
  { rows: 24, channels: 20, vocab: 50, format: 'f32', parts: 4 },
];

function forwardLabel(c: ForwardCase): string {
  const p = c.positions;
  const pos = p ? ` + ${p.format} positions (${p.mode}${p.start ? ` from ${p.start}` : ''})` : '';
  const parts = c.parts ? ` in ${c.parts} row parts` : '';
  return `N=${c.rows} C=${c.channels} V=${c.vocab} ${c.format}${parts}${pos}`;
}

async function runForward(ctx: GpuContext, c: ForwardCase, rng: Rng): Promise<CheckOutcome> {
  const tok = table(rng, c.vocab, c.channels, c.format);
  const ids = randomIds(rng, c.rows, c.vocab);
  const p = c.positions;
  const pos = p ? table(rng, p.count, c.channels, p.format) : undefined;
  const posIds = p ? (p.mode === 'explicit' ? randomIds(rng, c.rows, p.count) : sequencePositionIds(c.rows, p.seqLen!, p.start)) : undefined;

  const buffers = [ctx.upload(ids), ctx.createBuffer(c.rows * c.channels * 4)];
  const [idsBuf, outBuf] = buffers;
  const parts = c.parts ? tableParts(ctx, tok.ref, c.vocab, c.channels, c.format, c.parts) : [{ buffer: ctx.upload(tok.gpu), first: 0, count: c.vocab }];
  const posBuf = pos ? ctx.upload(pos.gpu) : undefined;
  const posIdsBuf = p?.mode === 'explicit' ? ctx.upload(posIds!) : undefined;
  try {
    const step = ctx.step();
    const positions = p && posBuf ? { table: posBuf, count: p.count, format: p.format, seqLen: p.seqLen, start: p.start, ids: posIdsBuf } : undefined;
    for (const part of parts) {
      const firstRow = c.parts ? part.first : undefined;
      embedding(step, outBuf, idsBuf, part.buffer, { rows: c.rows, channels: c.channels, vocab: part.count }, { format: c.format, positions, firstRow });
    }
    await step.submit();
    const got = await ctx.readF32(outBuf, c.rows * c.channels);
    const want = new Float32Array(c.rows * c.channels);
    embeddingForward(want, ids, tok.ref, c.channels, pos?.ref, posIds);
    return outcome(forwardLabel(c), got, want, exact);
  } finally {
    for (const b of [...buffers, ...parts.map((x) => x.buffer), posBuf, posIdsBuf]) b?.destroy();
  }
}

/** The table's rows split into `count` consecutive ranges, each uploaded on its own (packed anew if f16). */
function tableParts(ctx: GpuContext, values: Float32Array, vocab: number, channels: number, format: TableFormat, count: number) {
  const rowsPerPart = Math.ceil(vocab / count);
  const parts: { buffer: GPUBuffer; first: number; count: number }[] = [];
  for (let first = 0; first < vocab; first += rowsPerPart) {
    const rows = Math.min(rowsPerPart, vocab - first);
    const slice = values.subarray(first * channels, (first + rows) * channels);
    parts.push({ buffer: ctx.upload(format === 'f16' ? packF16(slice) : slice), first, count: rows });
  }
  return parts;
}

interface BackwardCase {
  label: string;
  channels: number;
  vocab: number;
  ids: (rng: Rng) => Uint32Array;
}

const BACKWARD_CASES: BackwardCase[] = [
  { label: 'one lookup', channels: 1, vocab: 2, ids: () => Uint32Array.of(1) },
  { label: 'N=40 over V=10 (many repeats)', channels: 37, vocab: 10, ids: (rng) => randomIds(rng, 40, 10) },
  {
    label: 'N=96 V=1000, padding id 0 repeated 30 times',
    channels: 129,
    vocab: 1000,
    ids: (rng) => {
      const ids = randomIds(rng, 96, 1000);
      for (let i = 66; i < 96; i++) ids[i] = 0;
      return ids;
    },
  },
  { label: 'position table, B=3 T=7', channels: 20, vocab: 7, ids: () => sequencePositionIds(21, 7) },
];

async function runBackward(ctx: GpuContext, c: BackwardCase, rng: Rng): Promise<CheckOutcome> {
  const ids = c.ids(rng);
  const n = ids.length;
  const dout = tableValues(rng, n * c.channels);
  const dtable0 = tableValues(rng, c.vocab * c.channels); // the kernel accumulates into existing gradients
  const index = uploadEmbeddingGradIndex(ctx, buildEmbeddingGradIndex(ids));
  const doutBuf = ctx.upload(dout);
  const dtableBuf = ctx.upload(dtable0);
  try {
    const step = ctx.step();
    gpuEmbeddingBackward(step, dtableBuf, doutBuf, index, { channels: c.channels, vocab: c.vocab });
    await step.submit();
    const got = await ctx.readF32(dtableBuf, c.vocab * c.channels);
    const want = Float32Array.from(dtable0);
    embeddingBackward(want, dout, ids, c.channels);
    return outcome(`${c.label} C=${c.channels}`, got, want, exact);
  } finally {
    for (const b of [index.buffer, doutBuf, dtableBuf]) b.destroy();
  }
}

export const embeddingChecks: KernelCheck[] = [
  {
    name: 'embedding.forward',
    tolerance: exact,
    async run(ctx) {
      const rng = new Rng(41);
      const results: CheckOutcome[] = [];
      for (const c of FORWARD_CASES) results.push(await runForward(ctx, c, rng));
      return results;
    },
  },
  {
    name: 'embedding.backward',
    tolerance: exact,
    async run(ctx) {
      const rng = new Rng(43);
      const results: CheckOutcome[] = [];
      for (const c of BACKWARD_CASES) results.push(await runBackward(ctx, c, rng));
      return results;
    },
  },
];
