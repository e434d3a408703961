// A layer's f16 weights as f32 copies in the step's widening scratch, made by one dispatch, for the passes
// whose every product would widen its weight anyway (software adapters' register kernels, N >= 16 rows).
// matmul() would otherwise record one matmul.widen per product: 7 per layer and pass, a fifth of a
// SmolLM2-135M training step's dispatches. The layer's weights share one buffer (gpu-weights.ts), so the
// whole buffer widens as one range. The copy lives in the scratch every widening shares
// (WIDEN_SCRATCH_KEY): it holds until the next widening, so callers use the view within one layer's pass.

import type { StepEncoder } from '../../gpu/step-encoder';
import { widen, widensB } from '../../ops/gpu/matmul';
import { presentSlots, withFusedViews, type GpuLayerWeights } from './gpu-weights';

/**
 * Per layer: the last decision (for these rows and this matmul tuning: checked product by product, once)
 * and the last view made, with the scratch it points into (the pool hands the same scratch back each step).
 */
interface LayerWidening {
  rows: number;
  tuning: unknown;
  /** Elements of the layer's buffer to widen, through its last matrix; 0: the layer does not widen as one. */
  span: number;
  view?: { scratch: GPUBuffer; weights: GpuLayerWeights };
}
const widenings = new WeakMap<GpuLayerWeights, LayerWidening>();

/**
 * w with every linear weight replaced by its f32 copy in the step's widening scratch, when they are f16 in
 * one buffer and matmul() would widen each of them both as y = x W^T and as dx = dy W over `rows` rows
 * (else w itself, and matmul widens per product as before). One dispatch.
 */
export function widenLayer(step: StepEncoder, w: GpuLayerWeights, rows: number): GpuLayerWeights {
  const widening = wideningOf(step, w, rows);
  if (widening.span === 0) return w;
  const scratch = widen(step, w.q.parts[0].weight, 0, widening.span);
  if (widening.view?.scratch !== scratch) {
    const weights: GpuLayerWeights = { ...w };
    for (const [slot, m] of presentSlots(w)) weights[slot] = { ...m, format: 'f32', parts: [{ ...m.parts[0], weight: scratch }] };
    widening.view = { scratch, weights: withFusedViews(weights) };
  }
  return widening.view.weights;
}

function wideningOf(step: StepEncoder, w: GpuLayerWeights, rows: number): LayerWidening {
  const tuning = step.ctx.matmulTuning;
  const known = widenings.get(w);
  if (known && known.rows === rows && known.tuning === tuning) return known;
  const buffer = w.q.parts[0].weight;
  let span = 0;
  for (const [, m] of presentSlots(w)) {
    const part = m.parts[0];
    const widens =
      m.format === 'f16' &&
      m.parts.length === 1 &&
      part.weight === buffer &&
      part.offset !== undefined &&
      widensB(step.ctx, { m: rows, k: m.cols, n: m.rows, transB: true }) &&
      widensB(step.ctx, { m: rows, k: m.rows, n: m.cols });
    if (!widens) {
      span = 0;
      break;
    }
    span = Math.max(span, part.offset! + m.rows * m.cols);
  }
  if (span * 4 > step.ctx.limits.maxStorageBufferBindingSize) span = 0;
  const widening: LayerWidening = { rows, tuning, span };
  widenings.set(w, widening);
  return widening;
}
