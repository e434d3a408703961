// A layer's linear weights share one buffer (gpu-weights.ts) and, where every product would widen its f16
// weight (software adapters, N >= 16 rows), widen together in one dispatch (widened-layer.ts). The products
// over the widened view must equal matmul's own per-product widening bit for bit, forward and backward.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/engine/gpu/context';
import { linear, linearBackwardInput } from '../../src/engine/model/gpu/gpu-linear';
import { LINEAR_SLOTS } from '../../src/engine/lora/lora-config';
import { layerMatrixLayout, uploadWeights, type GpuModelWeights } from '../../src/engine/model/gpu/gpu-weights';
import { widenLayer } from '../../src/engine/model/gpu/widened-layer';
import { Rng } from '../../src/engine/util/rng';
import { testGpu } from '../helpers/gpu';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel } from '../helpers/tiny-models';

let ctx: GpuContext;
let dir: string;
let model: LoadedModel;
let weights: GpuModelWeights;

beforeAll(async () => {
  ctx = await testGpu();
  dir = await makeTempDir();
  await writeTinyModel(dir, 'llama');
  model = await loadModel(dir);
  weights = await uploadWeights(ctx, model.config, model.weights, { weightFormat: 'f16' });
});

afterAll(async () => {
  for (const b of weights.buffers) b.destroy();
  await removeTempDir(dir);
});

/** Dispatches recorded by `body` into a fresh step (then submitted), by kernel name. */
async function countDispatches(body: (step: ReturnType<GpuContext['step']>) => void): Promise<Map<string, number>> {
  const step = ctx.step();
  const counts = new Map<string, number>();
  const dispatch = step.dispatch.bind(step);
  step.dispatch = (def, ...rest) => {
    counts.set(def.name, (counts.get(def.name) ?? 0) + 1);
    dispatch(def, ...rest);
  };
  body(step);
  await step.submit();
  return counts;
}

describe('widened layer', () => {
  it('stores the seven linear weights of a layer in one buffer at layerMatrixLayout offsets', () => {
    const layer = weights.layers[1];
    const matrices = LINEAR_SLOTS.map((slot) => layer[slot]!);
    const { offsets } = layerMatrixLayout(matrices.map((m) => m.rows * m.cols));
    expect(new Set(matrices.map((m) => m.parts[0].weight)).size).toBe(1);
    expect(matrices.map((m) => m.parts[0].offset)).toEqual(offsets);
    // q, k and v are consecutive: rows of one (Q + 2K, C) matrix.
    expect(offsets[1]).toBe(layer.q.rows * layer.q.cols);
    expect(offsets[2]).toBe(offsets[1] + layer.k.rows * layer.k.cols);
  });

  it('widens a layer in one dispatch and gives every product of matmul per-product widening, bit for bit', async () => {
    const N = 24;
    const layer = weights.layers[0];
    const rng = new Rng(5);
    let widened = layer;
    const oneDispatch = await countDispatches((step) => (widened = widenLayer(step, layer, N)));
    expect([...oneDispatch]).toEqual([['matmul.widen', 1]]);
    for (const slot of LINEAR_SLOTS) {
      const w = layer[slot]!;
      expect(widened[slot]!.format).toBe('f32');
      const x = ctx.upload(rng.f32(N * w.cols));
      const dy = ctx.upload(rng.f32(N * w.rows));
      const outs = [0, 1, 2, 3].map(() => ctx.createBuffer(N * Math.max(w.rows, w.cols) * 4));
      const step = ctx.step();
      const view = widenLayer(step, layer, N);
      linear(step, outs[0], x, view[slot]!, N);
      linearBackwardInput(step, outs[1], dy, view[slot]!, N);
      linear(step, outs[2], x, w, N);
      linearBackwardInput(step, outs[3], dy, w, N);
      await step.submit();
      const [yWide, dxWide, y, dx] = await Promise.all(outs.map((b, i) => ctx.readF32(b, N * (i % 2 ? w.cols : w.rows))));
      expect(yWide).toEqual(y);
      expect(dxWide).toEqual(dx);
      expect(y.some((v) => v !== 0)).toBe(true);
      for (const b of [x, dy, ...outs]) b.destroy();
    }
  });

  it('leaves the weights as they are where a product would not widen (fewer than 16 rows)', async () => {
    const layer = weights.layers[0];
    let view = layer;
    const counts = await countDispatches((step) => (view = widenLayer(step, layer, 8)));
    expect(counts.size).toBe(0);
    expect(view).toBe(layer);
  });
});
