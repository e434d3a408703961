// Attention through matrix products, backward row pass (see attention_softmax.wgsl for the forward):
//   Delta_i = dout_i . out_i,  P_ij = exp(S_ij - lse_i),  dS_ij = P_ij (dP_ij - Delta_i)
// for the keys row i may see (causal: j <= (Tk - Tq) + i), 0 elsewhere; P is written over the scores S and
// dS over dP. scores, dp: (B, Hq, Tq, Tk) contiguous; lse (B, Hq, Tq); out, dout (B, Tq, Hq, D) placed by
// the o_* and do_* layout fields. One invocation per score row, in a fixed order: bitwise reproducible.
// Bindings: 0 scores (read_write), 1 dp (read_write), 2 lse, 3 out, 4 dout (read), 5 params.
// Dispatch: grid1d(ceil(B * Hq * Tq / WG)) workgroups of WG.

override WG: u32 = 64u;
override HD: u32 = 64u;

// Params (the layout every attention kernel shares) comes from attention_params.wgsl.

@group(0) @binding(0) var<storage, read_write> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> dp: array<f32>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> out: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let r = (wid.x + wid.y * nwg.x) * WG + lid;
  if (r >= p.batch * p.hq * p.tq) { return; }
  let i = r % p.tq;
  let h = (r / p.tq) % p.hq;
  let b = r / (p.tq * p.hq);
  let o_base = p.o_off + b * p.o_batch + i * p.o_row + h * HD;
  let do_base = p.do_off + b * p.do_batch + i * p.do_row + h * HD;
  var delta = 0.0;
  for (var d = 0u; d < HD; d++) { delta += dout[do_base + d] * out[o_base + d]; }

  let base = r * p.tk;
  let end = select(p.tk, p.tk - p.tq + i + 1u, p.causal != 0u);
  let row_lse = lse[r];
  for (var j = 0u; j < end; j++) {
    let pj = exp(scores[base + j] - row_lse);
    scores[base + j] = pj;
    dp[base + j] = pj * (dp[base + j] - delta);
  }
  for (var j = end; j < p.tk; j++) {
    scores[base + j] = 0.0;
    dp[base + j] = 0.0;
  }
}
