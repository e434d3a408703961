// SwiGLU product of the Llama / Qwen2 MLP, forward: h[r, f] = silu(gate[r, f]) * up[r, f], h (N, F).
// gate and up are read as rows of `in_stride` elements, up starting `up_offset` into each row, so one
// kernel serves both layouts:
//   separate buffers: gate (N, F), up (N, F)           -> in_stride = F,  up_offset = 0
//   fused buffer gu (N, 2F), rows [gate | up]           -> in_stride = 2F, up_offset = F, gu bound twice
// (two read-only bindings of one buffer are valid WebGPU).
// silu(g) = g * sigmoid(g), with sigmoid from exp(-|g|): finite for every finite input.
//
// Bindings: 0 gate (read), 1 up (read), 2 h (write), 3 params (uniform).
// Dispatch: grid1d(ceil(N * F / WG)); one invocation per output element. `h` aliases neither input.

override WG: u32 = 256u;

struct Params {
  n: u32,         // N * F
  features: u32,  // F
  in_stride: u32,
  up_offset: u32,
}

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn sigmoid(z: f32) -> f32 {
  let e = exp(-abs(z));
  let r = 1.0 / (1.0 + e);
  return select(e * r, r, z >= 0.0);
}

@compute @workgroup_size(WG)
fn swiglu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  let r = i / p.features;
  let g_at = r * p.in_stride + (i - r * p.features);
  let g = gate[g_at];
  h[i] = g * sigmoid(g) * up[g_at + p.up_offset];
}
