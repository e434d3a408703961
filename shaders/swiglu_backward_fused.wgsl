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
// sigmoid_parts is repeated from swiglu_backward.wgsl: keep the two in step.

override WG: u32 = 256u;

struct Params {
  n: u32,         // N * F
  features: u32,  // F
  in_stride: u32,
  up_offset: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read> dh: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgu: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn sigmoid_parts(z: f32) -> vec2<f32> {
  let e = exp(-abs(z));
  let r = 1.0 / (1.0 + e);
  return vec2<f32>(select(e * r, r, z >= 0.0), e * r * r);
}

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
