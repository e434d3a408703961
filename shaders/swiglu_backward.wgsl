// SwiGLU backward into separate gradient buffers (N, F):
//   dgate = dh * up * silu'(gate),  silu'(g) = s + g s (1 - s), s = sigmoid(g)
//   dup   = dh * silu(gate)
// gate and up are read as in swiglu.wgsl (in_stride / up_offset: separate buffers or one fused (N, 2F)
// buffer bound twice). For fused gradients (N, 2F) use swiglu_backward_fused.wgsl: WebGPU forbids two
// writable bindings of overlapping ranges of one buffer.
//
// Bindings: 0 gate (read), 1 up (read), 2 dh (read), 3 dgate (write), 4 dup (write), 5 params (uniform).
// Dispatch: grid1d(ceil(N * F / WG)); one invocation per element (r, f).
// params.accumulate != 0: gradients +=; else =. Outputs alias no input and not each other.
// WG, Params, gate/up/dh (bindings 0-2) and sigmoid_parts() come from swiglu_backward_common.wgsl.

@group(0) @binding(3) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(4) var<storage, read_write> dup: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn swiglu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  let r = i / p.features;
  let g_at = r * p.in_stride + (i - r * p.features);
  let g = gate[g_at];
  let u = up[g_at + p.up_offset];
  let s = sigmoid_parts(g);
  let d = dh[i];
  let dg = d * u * (s.x + g * s.y);
  let du = d * g * s.x;
  if (p.accumulate != 0u) {
    dgate[i] = dgate[i] + dg;
    dup[i] = dup[i] + du;
  } else {
    dgate[i] = dg;
    dup[i] = du;
  }
}
