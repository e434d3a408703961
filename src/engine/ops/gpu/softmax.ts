import source from '../../../../shaders/softmax.wgsl?raw';
import { defineKernel, grid1d, packParams } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';

const FORWARD = defineKernel('softmax.forward', source, 'softmax_forward', ['read', 'write', 'uniform']);
const BACKWARD = defineKernel('softmax.backward', source, 'softmax_backward', ['read', 'read', 'write', 'uniform']);

export interface SoftmaxDims {
  rows: number;
  cols: number;
  /** Multiplies the logits before the softmax (inverse temperature); default 1. */
  scale?: number;
}

export interface SoftmaxOptions {
  /** Invocations per row (a power of two); default chosen from the row length. */
  workgroupSize?: number;
}

/** Short rows leave most of a wide workgroup idle and still pay its reduction barriers. */
function pickWorkgroupSize(cols: number, forced?: number): number {
  const wg = forced ?? (cols >= 2048 ? 256 : 64);
  if (!Number.isInteger(wg) || wg < 1 || (wg & (wg - 1)) !== 0) {
    throw new RangeError(`softmax: workgroup size must be a power of two, got ${wg}`);
  }
  return wg;
}

function params(dims: SoftmaxDims): ArrayBuffer {
  if (!Number.isInteger(dims.rows) || !Number.isInteger(dims.cols) || dims.rows < 0 || dims.cols < 1) {
    throw new RangeError(`softmax: bad shape (${dims.rows}, ${dims.cols})`);
  }
  return packParams([
    ['u32', dims.rows],
    ['u32', dims.cols],
    ['f32', dims.scale ?? 1],
  ]);
}

/** y (N, V) = softmax(scale * x) over each row. y must not alias x. */
export function softmaxForward(step: StepEncoder, y: Binding, x: Binding, dims: SoftmaxDims, options: SoftmaxOptions = {}): void {
  const WG = pickWorkgroupSize(dims.cols, options.workgroupSize);
  step.dispatch(FORWARD, [x, y], grid1d(dims.rows), params(dims), { WG });
}

/** dx (N, V) = scale * y * (dy - rowsum(dy * y)), from the forward's output y. Writes dx (no accumulation). */
export function softmaxBackward(
  step: StepEncoder,
  dx: Binding,
  y: Binding,
  dy: Binding,
  dims: SoftmaxDims,
  options: SoftmaxOptions = {},
): void {
  const WG = pickWorkgroupSize(dims.cols, options.workgroupSize);
  step.dispatch(BACKWARD, [y, dy, dx], grid1d(dims.rows), params(dims), { WG });
}
