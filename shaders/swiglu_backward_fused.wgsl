// SwiGLU backward into one fused gradient buffer dgu (N, 2F), rows [dgate | dup] (the gradient of a fused
// gate_up projection's output):
//   dgu[r, f]     = dh * up * silu'(gate),  silu'(g) = s + g s (1 - s), s = sigmoid(g)
//   dgu[r, F + f] = dh * silu(gate)
// gate and up are read as in swiglu.wgsl (in_stride / up_offset: separate buffers or one fused buffer
// bound twice).
//
// Bindings: 0 gate (read), 1 up (read), 2 dh (read), 3 dgu (write), 4 params (uniform).
// Dispatch: grid1d(ceil(N * F / WG)); one invocation per (r, f), writing both halves.
// params.accumulate != 0: dgu +=; else =. dgu aliases no input.
// WG, Params, gate/up/dh (bindings 0-2) and sigmoid_parts() come from swiglu_backward_common.wgsl.

@group(0) @binding(3) var<storage, read_write> dgu: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn swiglu_backward_fused(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  let r = i / p.features;
  let f = i - r * p.features;
  let g_at = r * p.in_stride + f;
  let g = gate[g_at];
  let u = up[g_at + p.up_offset];
  let s = sigmoid_parts(g);
  let d = dh[i];
  let dg = d * u * (s.x + g * s.y);
  let du = d * g * s.x;
  let dg_at = 2u * r * p.features + f;
  let du_at = dg_at + p.features;
  if (p.accumulate != 0u) {
    dgu[dg_at] = dgu[dg_at] + dg;
    dgu[du_at] = dgu[du_at] + du;
  } else {
    dgu[dg_at] = dg;
    dgu[du_at] = du;
  }
}
