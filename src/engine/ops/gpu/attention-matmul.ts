// Attention as matrix products, for software adapters: the flash kernels read k and v element by element
// per query row, which SwiftShader runs ~20x below its matmul rate (issue 13's profile: attention was a
// third of a SmolLM2-135M step at T = 256 for 5% of its FLOPs). Here the score matrix (B, Hq, Tq, Tk) is
// materialised in a step scratch shared by every layer and the products run on the register-tiled matmul:
//   forward   S = scale q k^T (one batched product over (sequence, head) items, GQA through groupB),
//             P = causal softmax(S) in place + lse (attention_softmax.wgsl), out = P v
//   backward  S again, dP = dout v^T, then P and dS = P (dP - Delta) per row (attention_softmax_backward.wgsl),
//             dq = scale dS k, dk = scale dS^T q, dv = P^T dout (per query head, summed over a GQA group
//             in one dispatch by attention-group-sum.ts, as the flash backward does)
// The causal half of S is computed and masked, twice the useful FLOPs at the matmul's rate. Same inputs,
// outputs, lse and layouts as attentionForward / attentionBackward (the CPU reference checks both paths).

import softmaxSource from '../../../../shaders/attention_softmax.wgsl?raw';
import softmaxBackwardSource from '../../../../shaders/attention_softmax_backward.wgsl?raw';
import { ceilDiv, defineKernel, grid1d } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';
import type { ResolvedAttentionDims } from '../cpu/attention';
import type { MatmulDims } from '../matmul-dims';
import { packAttentionParams, resolveLayout, withParams, type AttentionBackwardLayouts, type ResolvedLayout } from './attention-params';
import { recordGroupSum } from './attention-group-sum';
import { matmul } from './matmul';

const WG = 64;
const SOFTMAX = defineKernel('attention.softmax', withParams('attention_softmax.wgsl', softmaxSource), 'softmax_forward', ['write', 'write', 'uniform']);
const SOFTMAX_BACKWARD = defineKernel('attention.softmax_backward', withParams('attention_softmax_backward.wgsl', softmaxBackwardSource), 'softmax_backward', [
  'write', 'write', 'read', 'read', 'read', 'uniform',
]);

/** Score matrices above this many bytes go to the flash kernels instead (they hold no (Tq, Tk) matrix). */
export const MAX_SCORE_BYTES = 64 * 1024 * 1024;

/**
 * Smallest head size at which software adapters take this path by default: below it the products' k (= D)
 * is too short to pay for the extra passes. stories260K (D = 8), 18 LoRA steps on lavapipe: 0.65 s per step
 * this way against 0.34 s on the 'direct' kernel; the SmolLM2-135M shape (D = 64, T = 256) ran 2.2x
 * (forward) and 3.2x (backward) faster this way on SwiftShader.
 */
export const MATMUL_MIN_HEAD_DIM = 32;

export function scoreBytes(r: ResolvedAttentionDims): number {
  return r.batch * r.hq * r.tq * r.tk * 4;
}

/** The step's score scratch: one per step, shared by every layer (dispatches run in recording order). */
function scoreScratch(step: StepEncoder, r: ResolvedAttentionDims, which: 'scores' | 'score grads'): GPUBuffer {
  return step.shared(`attention.matmul.${which}`, scoreBytes(r), `attention ${which}`);
}

/**
 * A (Tq or Tk, D) operand per (sequence, head) item of a (B, T, H, D) tensor: rows `rowStride` apart, heads
 * D apart, sequences batchStride apart; `group` query heads share one head of a k / v tensor.
 */
function headOperand(l: ResolvedLayout, D: number, group: number) {
  return { offset: l.offset, ld: l.rowStride, stride: D, outer: l.batchStride, group };
}

type Operand = ReturnType<typeof headOperand>;

/** Matmul dims over the B * Hq (sequence, head) items; S-shaped operands are contiguous (B, Hq, Tq, Tk). */
function itemDims(r: ResolvedAttentionDims, m: number, k: number, n: number, parts: { a?: Operand; b?: Operand; c?: Operand }, trans: { transA?: boolean; transB?: boolean } = {}): MatmulDims {
  // Plain field writes: this runs for every attention product of every layer (no computed keys).
  const scores = r.tq * r.tk;
  const { a, b, c } = parts;
  const whole = { offset: 0, ld: undefined, stride: scores, outer: r.hq * scores, group: 1 };
  const A = a ?? whole;
  const B = b ?? whole;
  const C = c ?? whole;
  return {
    m,
    k,
    n,
    batch: r.batch * r.hq,
    inner: r.hq,
    transA: trans.transA,
    transB: trans.transB,
    offsetA: A.offset,
    lda: A.ld,
    strideA: A.stride,
    outerA: A.outer,
    groupA: A.group,
    offsetB: B.offset,
    ldb: B.ld,
    strideB: B.stride,
    outerB: B.outer,
    groupB: B.group,
    offsetC: C.offset,
    ldc: C.ld,
    strideC: C.stride,
    outerC: C.outer,
    groupC: C.group,
  };
}

/** S (B, Hq, Tq, Tk) = scale q k^T into the scores scratch. */
function recordScores(step: StepEncoder, scores: GPUBuffer, q: Binding, k: Binding, r: ResolvedAttentionDims, layouts: AttentionBackwardLayouts): void {
  const D = r.headDim;
  const qOp = headOperand(resolveLayout('q', layouts.q, r), D, 1);
  const kOp = headOperand(resolveLayout('k', layouts.k, r), D, r.group);
  matmul(step, scores, q, k, itemDims(r, r.tq, D, r.tk, { a: qOp, b: kOp }, { transB: true }), { alpha: r.scale });
}

export function attentionForwardMatmul(step: StepEncoder, out: Binding, lse: Binding, q: Binding, k: Binding, v: Binding, r: ResolvedAttentionDims, layouts: AttentionBackwardLayouts): void {
  const D = r.headDim;
  const scores = scoreScratch(step, r, 'scores');
  const params = packAttentionParams(r, layouts);
  recordScores(step, scores, q, k, r, layouts);
  step.dispatch(SOFTMAX, [scores, lse], grid1d(ceilDiv(r.batch * r.hq * r.tq, WG)), params, { WG });
  const vOp = headOperand(resolveLayout('v', layouts.v, r), D, r.group);
  const oOp = headOperand(resolveLayout('out', layouts.out, r), D, 1);
  matmul(step, out, scores, v, itemDims(r, r.tq, r.tk, D, { b: vOp, c: oOp }));
}

export interface MatmulAttentionGradients {
  dq: Binding;
  dk: Binding;
  dv: Binding;
}

export function attentionBackwardMatmul(
  step: StepEncoder,
  grads: MatmulAttentionGradients,
  dout: Binding,
  saved: { q: Binding; k: Binding; v: Binding; out: Binding; lse: Binding },
  r: ResolvedAttentionDims,
  layouts: AttentionBackwardLayouts,
): void {
  const D = r.headDim;
  const scores = scoreScratch(step, r, 'scores');
  const dScores = scoreScratch(step, r, 'score grads');
  const params = packAttentionParams(r, layouts);
  const layout = (name: 'q' | 'k' | 'v' | 'dout' | 'dq' | 'dk' | 'dv', group = 1) => headOperand(resolveLayout(name, layouts[name], r), D, group);

  recordScores(step, scores, saved.q, saved.k, r, layouts);
  // dP = dout v^T
  matmul(step, dScores, dout, saved.v, itemDims(r, r.tq, D, r.tk, { a: layout('dout'), b: layout('v', r.group) }, { transB: true }));
  const rows = grid1d(ceilDiv(r.batch * r.hq * r.tq, WG));
  step.dispatch(SOFTMAX_BACKWARD, [scores, dScores, saved.lse, saved.out, dout], rows, params, { WG, HD: D });
  // dq = scale dS k
  matmul(step, grads.dq, dScores, saved.k, itemDims(r, r.tq, r.tk, D, { b: layout('k', r.group), c: layout('dq') }), { alpha: r.scale });

  // dk = scale dS^T q and dv = P^T dout per query head: straight into dk / dv without GQA, else into
  // per-head partials (B, Tk, Hq, D) that the group sum adds up in head order.
  const direct = r.group === 1;
  const partElements = r.batch * r.tk * r.hq * D;
  const partial: Operand = { offset: 0, ld: r.hq * D, stride: D, outer: r.tk * r.hq * D, group: 1 };
  const dkTarget = direct ? grads.dk : step.shared('attention.matmul.dk partial', partElements * 4);
  const dvTarget = direct ? grads.dv : step.shared('attention.matmul.dv partial', partElements * 4);
  const dkOut = direct ? layout('dk') : partial;
  const dvOut = direct ? layout('dv') : partial;
  matmul(step, dkTarget, dScores, saved.q, itemDims(r, r.tk, r.tq, D, { b: layout('q'), c: dkOut }, { transA: true }), { alpha: r.scale });
  matmul(step, dvTarget, scores, dout, itemDims(r, r.tk, r.tq, D, { b: layout('dout'), c: dvOut }, { transA: true }));
  if (!direct) recordGroupSum(step, { dk: dkTarget, dv: dvTarget }, grads, r, layouts);
}
