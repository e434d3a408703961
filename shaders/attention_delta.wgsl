// Attention backward, step 1: Delta[b, h, i] = sum_d dout[b, i, h, d] * out[b, i, h, d]
// (= sum_j P_ij dP_ij, the softmax-backward row term), so the dq and dk/dv kernels never need P or dP rows.
// out, dout: (B, Tq, Hq, D) through their own (offset, row stride, batch stride); delta: contiguous (B, Hq, Tq).
//
// Bindings: 0 out (read), 1 dout (read), 2 delta (write), 3 params (uniform).
// Dispatch: grid1d(ceil(B * Hq * Tq / WG)) workgroups of WG; one invocation per (b, h, i), summing d in order.
// Caller guarantees: 1 <= HD = D; delta aliases no input.

override HD: u32 = 64u;
override WG: u32 = 64u;

// Params (the layout every attention kernel shares) comes from attention_params.wgsl.

@group(0) @binding(0) var<storage, read> out: array<f32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read_write> delta: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn attention_delta(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (idx >= p.batch * p.hq * p.tq) { return; }
  let i = idx % p.tq;
  let h = (idx / p.tq) % p.hq;
  let b = idx / (p.tq * p.hq);
  let o_base = p.o_off + b * p.o_batch + i * p.o_row + h * HD;
  let do_base = p.do_off + b * p.do_batch + i * p.do_row + h * HD;
  var s = 0.0;
  for (var d = 0u; d < HD; d++) { s += out[o_base + d] * dout[do_base + d]; }
  delta[idx] = s;
}
