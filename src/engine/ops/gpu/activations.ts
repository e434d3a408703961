// Dispatchers for the MLP activations: SiLU, GELU (tanh approximation) and the SwiGLU product, forward
// and backward. All are elementwise over f32 buffers, one invocation per element, grids folded by grid1d
// so n may run to tens of millions.

import forwardSource from '../../../../shaders/activations.wgsl?raw';
import backwardSource from '../../../../shaders/activations_backward.wgsl?raw';
import swigluSource from '../../../../shaders/swiglu.wgsl?raw';
import swigluBackwardSource from '../../../../shaders/swiglu_backward.wgsl?raw';
import swigluBackwardCommonSource from '../../../../shaders/swiglu_backward_common.wgsl?raw';
import swigluBackwardFusedSource from '../../../../shaders/swiglu_backward_fused.wgsl?raw';
import { ceilDiv, defineKernel, grid1d, joinWgsl, packParams } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';

const WG = 256;

const SILU = defineKernel('activations.silu', forwardSource, 'silu_forward', ['read', 'write', 'uniform']);
const GELU = defineKernel('activations.gelu', forwardSource, 'gelu_forward', ['read', 'write', 'uniform']);
const SILU_BACKWARD = defineKernel('activations.silu_backward', backwardSource, 'silu_backward', ['read', 'read', 'write', 'uniform']);
const GELU_BACKWARD = defineKernel('activations.gelu_backward', backwardSource, 'gelu_backward', ['read', 'read', 'write', 'uniform']);
const SWIGLU = defineKernel('swiglu.forward', swigluSource, 'swiglu_forward', ['read', 'read', 'write', 'uniform']);
const SWIGLU_BACKWARD_COMMON = { file: 'swiglu_backward_common.wgsl', source: swigluBackwardCommonSource };
const SWIGLU_BACKWARD = defineKernel('swiglu.backward', joinWgsl(SWIGLU_BACKWARD_COMMON, { file: 'swiglu_backward.wgsl', source: swigluBackwardSource }), 'swiglu_backward', [
  'read',
  'read',
  'read',
  'write',
  'write',
  'uniform',
]);
const SWIGLU_BACKWARD_FUSED = defineKernel('swiglu.backward_fused', joinWgsl(SWIGLU_BACKWARD_COMMON, { file: 'swiglu_backward_fused.wgsl', source: swigluBackwardFusedSource }), 'swiglu_backward_fused', [
  'read',
  'read',
  'read',
  'write',
  'uniform',
]);

export interface BackwardOptions {
  /** Add into the gradient buffer instead of overwriting it (default false). */
  accumulate?: boolean;
}

function elementGrid(n: number): [number, number, number] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`element count must be a non-negative integer, got ${n}`);
  return grid1d(ceilDiv(n, WG));
}

/** out = x * sigmoid(x) over n f32 elements. */
export function silu(step: StepEncoder, out: Binding, x: Binding, n: number): void {
  step.dispatch(SILU, [x, out], elementGrid(n), packParams([['u32', n]]), { WG });
}

/** out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) over n f32 elements (GPT-2's gelu_new). */
export function gelu(step: StepEncoder, out: Binding, x: Binding, n: number): void {
  step.dispatch(GELU, [x, out], elementGrid(n), packParams([['u32', n]]), { WG });
}

/** dx = dout * silu'(x) (or += with accumulate). */
export function siluBackward(step: StepEncoder, dx: Binding, x: Binding, dout: Binding, n: number, options: BackwardOptions = {}): void {
  const params = packParams([
    ['u32', n],
    ['u32', options.accumulate ? 1 : 0],
  ]);
  step.dispatch(SILU_BACKWARD, [x, dout, dx], elementGrid(n), params, { WG });
}

/** dx = dout * gelu'(x) (or += with accumulate). */
export function geluBackward(step: StepEncoder, dx: Binding, x: Binding, dout: Binding, n: number, options: BackwardOptions = {}): void {
  const params = packParams([
    ['u32', n],
    ['u32', options.accumulate ? 1 : 0],
  ]);
  step.dispatch(GELU_BACKWARD, [x, dout, dx], elementGrid(n), params, { WG });
}

/** SwiGLU inputs: two (N, F) buffers, or one (N, 2F) buffer whose rows are [gate | up]. */
export type SwigluInput = { gate: Binding; up: Binding } | { gateUp: Binding };
/** SwiGLU input gradients, laid out like the inputs: two (N, F) buffers or one (N, 2F) [dgate | dup]. */
export type SwigluGrads = { dgate: Binding; dup: Binding } | { dgateUp: Binding };

export interface SwigluDims {
  /** N: tokens (B * T). */
  rows: number;
  /** F: the MLP's hidden width (intermediate_size). */
  features: number;
}

/** Bindings and (in_stride, up_offset) for reading gate and up in either layout. */
function swigluInputs(input: SwigluInput, features: number): [Binding, Binding, number, number] {
  if ('gateUp' in input) return [input.gateUp, input.gateUp, 2 * features, features];
  return [input.gate, input.up, features, 0];
}

function swigluGrid({ rows, features }: SwigluDims): [number, number, number] {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(features) || features < 1) {
    throw new RangeError(`swiglu: bad dims rows=${rows} features=${features}`);
  }
  return elementGrid(rows * features);
}

/** h = silu(gate) * up, h (N, F) contiguous. */
export function swiglu(step: StepEncoder, out: Binding, input: SwigluInput, dims: SwigluDims): void {
  const grid = swigluGrid(dims);
  const [gate, up, inStride, upOffset] = swigluInputs(input, dims.features);
  const params = packParams([
    ['u32', dims.rows * dims.features],
    ['u32', dims.features],
    ['u32', inStride],
    ['u32', upOffset],
  ]);
  step.dispatch(SWIGLU, [gate, up, out], grid, params, { WG });
}

/**
 * dgate = dout * up * silu'(gate), dup = dout * silu(gate) (or += with accumulate); dout (N, F).
 * Any combination of input and gradient layouts works.
 */
export function swigluBackward(
  step: StepEncoder,
  grads: SwigluGrads,
  input: SwigluInput,
  dout: Binding,
  dims: SwigluDims,
  options: BackwardOptions = {},
): void {
  const grid = swigluGrid(dims);
  const [gate, up, inStride, upOffset] = swigluInputs(input, dims.features);
  const params = packParams([
    ['u32', dims.rows * dims.features],
    ['u32', dims.features],
    ['u32', inStride],
    ['u32', upOffset],
    ['u32', options.accumulate ? 1 : 0],
  ]);
  if ('dgateUp' in grads) {
    step.dispatch(SWIGLU_BACKWARD_FUSED, [gate, up, dout, grads.dgateUp], grid, params, { WG });
  } else {
    step.dispatch(SWIGLU_BACKWARD, [gate, up, dout, grads.dgate, grads.dup], grid, params, { WG });
  }
}
