// Pointwise activations, forward: out[i] = silu(x[i]) or gelu(x[i]) over n f32 elements.
//   silu(x) = x * sigmoid(x)
//   gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (tanh approximation, GPT-2's gelu_new)
// GELU is computed as x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3), which equals the tanh form
// exactly: 0.5 (1 + tanh(u)) = sigmoid(2u). WGSL's tanh may be built on exp and return NaN for large
// arguments; the sigmoid below only ever evaluates exp(-|z|) in (0, 1], so no intermediate overflows, and
// the cubic is evaluated on x clamped to +-GELU_CLAMP, where the sigmoid is already exactly 0 or 1 in f32.
//
// Bindings: 0 x (read), 1 out (write), 2 params (uniform).
// Dispatch: grid1d(ceil(n / WG)); one invocation per element. `out` may not alias `x`.
// Shared math (sigmoid_parts, gelu_arg) is repeated in activations_backward.wgsl: keep the two in step.

override WG: u32 = 256u;

const GELU_SCALE: f32 = 0.7978845608028654; // sqrt(2 / pi)
const GELU_CUBIC: f32 = 0.044715;
// Beyond |x| = 15, 2u > 264 and exp(-2u) underflows to 0 in f32: clamping there changes no result.
const GELU_CLAMP: f32 = 15.0;

struct Params {
  n: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// (sigmoid(z), sigmoid(z) * (1 - sigmoid(z))) from e = exp(-|z|), without cancellation or overflow.
fn sigmoid_parts(z: f32) -> vec2<f32> {
  let e = exp(-abs(z));
  let r = 1.0 / (1.0 + e);
  return vec2<f32>(select(e * r, r, z >= 0.0), e * r * r);
}

// 2u for GELU's sigmoid form, on the clamped input.
fn gelu_arg(xc: f32) -> f32 {
  return 2.0 * GELU_SCALE * (xc + GELU_CUBIC * xc * xc * xc);
}

fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn silu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let v = x[i];
  out[i] = v * sigmoid_parts(v).x;
}

@compute @workgroup_size(WG)
fn gelu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = linear_index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let v = x[i];
  let xc = clamp(v, -GELU_CLAMP, GELU_CLAMP);
  out[i] = v * sigmoid_parts(gelu_arg(xc)).x;
}
