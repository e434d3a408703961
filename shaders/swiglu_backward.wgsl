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
// sigmoid_parts is repeated in swiglu_backward_fused.wgsl: keep the two in step.

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
@group(0) @binding(3) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(4) var<storage, read_write> dup: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

// (sigmoid(z), sigmoid(z) * (1 - sigmoid(z))) from e = exp(-|z|), without cancellation or overflow.
fn sigmoid_parts(z: f32) -> vec2<f32> {
  let e = exp(-abs(z));
  let r = 1.0 / (1.0 + e);
  return vec2<f32>(select(e * r, r, z >= 0.0), e * r * r);
}

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
