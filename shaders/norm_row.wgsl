// Shared part of the row kernels rmsnorm.wgsl, rmsnorm_backward.wgsl and layernorm.wgsl: the row geometry
// overrides, the weight read and the fixed-order row sum. Not a module on its own: src/engine/ops/gpu/norms.ts
// joins it in front of each of those files, which declare the binding `w` it reads.

override WG: u32 = 256u;
override TPR: u32 = 256u;
override W_F16: bool = false;

// Each invocation adds its slice of the row in blocks of BLOCK elements, then adds the block sums: the
// rounding error grows like BLOCK + C / (BLOCK * TPR) instead of C / TPR (matters for TPR = 1).
const BLOCK: u32 = 16u;

var<workgroup> partial: array<f32, WG>;

// w is C f32 words, or C f16 packed two per u32 when W_F16.
fn weight(c: u32) -> f32 {
  if (W_F16) {
    return unpack2x16float(w[c >> 1u])[c & 1u];
  }
  return bitcast<f32>(w[c]);
}

// Sum of v over the TPR invocations of one row, always combined in the same order.
// Every invocation of the workgroup must call it (it has barriers). The trailing barrier lets the next
// call reuse `partial` only after everyone has read this total.
fn rowSum(lid: u32, v: f32) -> f32 {
  if (TPR == 1u) {
    return v;
  }
  let lane = lid % TPR;
  partial[lid] = v;
  workgroupBarrier();
  for (var stride = TPR / 2u; stride > 0u; stride = stride / 2u) {
    if (lane < stride) {
      partial[lid] = partial[lid] + partial[lid + stride];
    }
    workgroupBarrier();
  }
  let total = partial[lid - lane];
  workgroupBarrier();
  return total;
}
