// Shared part of swiglu_backward.wgsl and swiglu_backward_fused.wgsl: the workgroup size, the parameter
// block, the three inputs and the sigmoid helper. Not a module on its own: src/engine/ops/gpu/activations.ts
// joins it in front of each (their gradient bindings differ, so they stay two kernels).

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

// (sigmoid(z), sigmoid(z) * (1 - sigmoid(z))) from e = exp(-|z|), without cancellation or overflow.
fn sigmoid_parts(z: f32) -> vec2<f32> {
  let e = exp(-abs(z));
  let r = 1.0 / (1.0 + e);
  return vec2<f32>(select(e * r, r, z >= 0.0), e * r * r);
}
