// The last pass of the attention backward for grouped-query heads, shared by the flash kernels
// (attention.ts) and the matrix-product path (attention-matmul.ts): dk and dv summed over each kv head's
// query heads from per-head partials, both in one dispatch (shaders/attention_group_sum.wgsl).

import groupSumSource from '../../../../shaders/attention_group_sum.wgsl?raw';
import { ceilDiv, defineKernel, grid1d } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';
import type { ResolvedAttentionDims } from '../cpu/attention';
import { packAttentionParams, withParams, type AttentionBackwardLayouts } from './attention-params';

const SOURCE = withParams('attention_group_sum.wgsl', groupSumSource);
const PAIR = defineKernel('attention.group_sum_pair', SOURCE, 'attention_group_sum_pair', ['read', 'read', 'uniform', 'write', 'write']);
const SHARED = defineKernel('attention.group_sum_shared', SOURCE, 'attention_group_sum_shared', ['read', 'read', 'uniform', 'write']);
const WG = 64;

/** Whether two bindings are the same buffer at the same offset (one binding may then serve both). */
export function sameBinding(a: Binding, b: Binding): boolean {
  if (a === b) return true;
  const bufferOf = (x: Binding) => ('buffer' in x ? x.buffer : x);
  return bufferOf(a) === bufferOf(b) && (a as { offset?: number }).offset === (b as { offset?: number }).offset;
}

/** dk, dv (B, Tk, Hkv, D) by their layouts = the group sums of contiguous (B, Tk, Hq, D) partials. */
export function recordGroupSum(
  step: StepEncoder,
  parts: { dk: Binding; dv: Binding },
  grads: { dk: Binding; dv: Binding },
  r: ResolvedAttentionDims,
  layouts: AttentionBackwardLayouts,
): void {
  const grid = grid1d(ceilDiv(r.batch * r.tk * r.hkv * r.headDim, WG));
  const params = packAttentionParams(r, layouts);
  const constants = { HD: r.headDim, WG };
  if (sameBinding(grads.dk, grads.dv)) step.dispatch(SHARED, [parts.dk, parts.dv, grads.dk], grid, params, constants);
  else step.dispatch(PAIR, [parts.dk, parts.dv, grads.dk, grads.dv], grid, params, constants);
}
