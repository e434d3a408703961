// A layer's f16 weights as f32 copies in the step's widening scratch, made by one dispatch, for the passes
// whose every product would widen its weight anyway (software adapters' register kernels, N >= 16 rows).
// matmul() would otherwise record one matmul.widen per product: 7 per layer and pass, a fifth of a
// SmolLM2-135M training step's dispatches. The layer's weights share one buffer (gpu-weights.ts), so the
// whole buffer widens as one range. The copy lives in the scratch every widening shares
// (WIDEN_SCRATCH_KEY): it holds until the next widening, so callers use the view within one layer's pass.

import type { StepEncoder } from '../../gpu/step-encoder';
import { widen, widensB } from '../../ops/gpu/matmul';
import { LAYER_MATRIX_SLOTS, type GpuLayerWeights, type GpuMatrix, type LayerMatrixSlot } from './gpu-weights';

/** The layer's linear weights in buffer order (gate absent for GELU MLPs). */
function layerMatrices(w: GpuLayerWeights): [LayerMatrixSlot, GpuMatrix][] {
  return LAYER_MATRIX_SLOTS.flatMap((slot): [LayerMatrixSlot, GpuMatrix][] => (w[slot] ? [[slot, w[slot]!]] : []));
}

/**
 * w with every linear weight replaced by its f32 copy in the step's widening scratch, when they are f16 in
 * one buffer and matmul() would widen each of them both as y = x W^T and as dx = dy W over `rows` rows
 * (else w itself, and matmul widens per product as before). One dispatch.
 */
export function widenLayer(step: StepEncoder, w: GpuLayerWeights, rows: number): GpuLayerWeights {
  const span = widenedSpan(step, w, rows);
  if (span === 0) return w;
  const scratch = widen(step, w.q.parts[0].weight, 0, span);
  // The same scratch comes back step after step (the pool's order): so does the view over it.
  const known = views.get(w);
  if (known?.scratch === scratch) return known.view;
  const view: GpuLayerWeights = { ...w };
  for (const [slot, m] of layerMatrices(w)) view[slot] = { ...m, format: 'f32', parts: [{ ...m.parts[0], weight: scratch }] };
  views.set(w, { scratch, view });
  return view;
}

/** The last view made per layer, with the scratch it points into. */
const views = new WeakMap<GpuLayerWeights, { scratch: GPUBuffer; view: GpuLayerWeights }>();

/** The last decision per layer: every layer of a pass asks again with the same rows (checked per product). */
const decisions = new WeakMap<GpuLayerWeights, { rows: number; tuning: unknown; span: number }>();

/** Elements of the layer's buffer to widen (through its last matrix), or 0 when it does not widen as one. */
function widenedSpan(step: StepEncoder, w: GpuLayerWeights, rows: number): number {
  const tuning = step.ctx.matmulTuning;
  const known = decisions.get(w);
  if (known && known.rows === rows && known.tuning === tuning) return known.span;
  const matrices = layerMatrices(w);
  const buffer = matrices[0][1].parts[0].weight;
  let span = 0;
  for (const [, m] of matrices) {
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
  decisions.set(w, { rows, tuning, span });
  return span;
}
