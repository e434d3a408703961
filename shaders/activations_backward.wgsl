// Pointwise activations, backward: dx[i] (=|+=) dy[i] * f'(x[i]) for f = silu or gelu (tanh approximation).
//   silu'(x) = s + x s (1 - s), s = sigmoid(x)             (= s (1 + x (1 - s)))
//   gelu'(x) = s + x s (1 - s) 2u',  s = sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3),
//              u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)      (the tanh form's derivative rewritten with
//              1 + tanh(u) = 2s and 1 - tanh(u)^2 = 4 s (1 - s))
// s (1 - s) comes straight from exp(-|z|) (no 1 - s cancellation, no overflow); for |x| > GELU_CLAMP it
// is exactly 0 in f32, and the clamped x keeps x^3 finite, so huge inputs give s, never NaN.
//
// Bindings: 0 x (read), 1 dy (read), 2 dx (write), 3 params (uniform).
// Dispatch: grid1d(ceil(n / WG)); one invocation per element. `dx` may alias neither input.
// params.accumulate != 0: dx += ...; else dx = ... (dx need not be cleared).
// Shared math (sigmoid_parts, gelu_arg) is repeated from activations.wgsl: keep the two in step.

override WG: u32 = 256u;

const GELU_SCALE: f32 = 0.7978845608028654; // sqrt(2 / pi)
const GELU_CUBIC: f32 = 0.044715;
const GELU_CLAMP: f32 = 15.0;

struct Params {
  n: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn sigmoid_parts(z: f32) -> vec2<f32> {
  let e = exp(-abs(z));
  let r = 1.0 / (1.0 + e);
  return vec2<f32>(select(e * r, r, z >= 0.0), e * r * r);
}

fn gelu_arg(xc: f32) -> f32 {
  return 2.0 * GELU_SCALE * (xc + GELU_CUBIC * xc * xc * xc);
}

fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

fn store(i: u32, g: f32) {
  if (p.accumulate != 0u) {
    dx[i] = dx[i] + g;
  } else {
    dx[i] = g;
  }
}

@compute @workgroup_size(WG)
fn silu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let v = x[i];
  let s = sigmoid_parts(v);
  store(i, dy[i] * (s.x + v * s.y));
}

@compute @workgroup_size(WG)
fn gelu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let xc = clamp(x[i], -GELU_CLAMP, GELU_CLAMP);
  let s = sigmoid_parts(gelu_arg(xc));
  let du2 = 2.0 * GELU_SCALE * (1.0 + 3.0 * GELU_CUBIC * xc * xc);
  store(i, dy[i] * (s.x + xc * s.y * du2));
}
