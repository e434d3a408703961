// Elementwise linear combination: out[i] = alpha * x[i] + beta * y[i].
// Residual add is (1, 1), scaling is (alpha, 0), and their backward passes are scalings of the upstream
// gradient, so one kernel serves all of them.
//
// Bindings: 0 x (read), 1 y (read), 2 out (write), 3 params (uniform).
// Dispatch: grid1d(ceil(n / WG)); one invocation per element. `out` may alias neither input.

override WG: u32 = 256u;

struct Params {
  n: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn axpby(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  out[i] = p.alpha * x[i] + p.beta * y[i];
}
