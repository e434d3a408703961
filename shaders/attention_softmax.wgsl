// Attention through matrix products (src/engine/ops/gpu/attention-matmul.ts): the row-wise parts between
// the products. scores (B, Hq, Tq, Tk) contiguous hold scale * q k^T on entry.
//   softmax_forward:  P = softmax over the keys each query may see (causal: j <= (Tk - Tq) + i), 0 elsewhere,
//                     written over the scores; lse (B, Hq, Tq) = each row's logsumexp (the flash kernels' lse).
//   softmax_backward: Delta_i = dout_i . out_i, P_ij = exp(S_ij - lse_i), dS_ij = P_ij (dP_ij - Delta_i);
//                     P written over the scores and dS over dP (both 0 where masked).
// One invocation per score row, keys in ascending order: bitwise reproducible.
// forward bindings: 0 scores (read_write), 1 lse (write), 2 params.
// backward bindings: 0 scores (read_write), 1 dp (read_write), 2 lse, 3 out, 4 dout (read), 5 params.
// Dispatch: grid1d(ceil(B * Hq * Tq / WG)) workgroups of WG.

override WG: u32 = 64u;

// Params (the layout every attention kernel shares) comes from attention_params.wgsl.

@group(0) @binding(0) var<storage, read_write> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> lse_out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

/** Keys row r = (b, h, i) may see. */
fn visible(r: u32) -> u32 {
  let i = r % p.tq;
  return select(p.tk, p.tk - p.tq + i + 1u, p.causal != 0u);
}

@compute @workgroup_size(WG)
fn softmax_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let r = (wid.x + wid.y * nwg.x) * WG + lid;
  if (r >= p.batch * p.hq * p.tq) { return; }
  let base = r * p.tk;
  let end = visible(r);
  var m = -3.0e38;
  for (var j = 0u; j < end; j++) { m = max(m, scores[base + j]); }
  var l = 0.0;
  for (var j = 0u; j < end; j++) { l += exp(scores[base + j] - m); }
  let inv_l = 1.0 / l;
  for (var j = 0u; j < end; j++) { scores[base + j] = exp(scores[base + j] - m) * inv_l; }
  for (var j = end; j < p.tk; j++) { scores[base + j] = 0.0; }
  lse_out[r] = m + log(l);
}
