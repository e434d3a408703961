// Benchmark only: the adapter's f32 compute peak (bench/core/peak.ts).
// Each invocation runs CHAINS independent vec4 multiply-add chains, c = fma(c, m, a), for `iters` rounds,
// entirely in registers; the only memory traffic is one f32 store per invocation at the end, which keeps
// the compiler from dropping the work. m and a come from the uniform block (m = 0.999, a = 0.001 keeps
// every chain near 1: no overflow, no denormals), so nothing can be constant-folded.
// FLOPs per invocation = 2 (mul + add) * 4 (lanes) * CHAINS * iters.
//
// Entry points fma2, fma4, fma8, fma16: CHAINS = 2, 4, 8, 16 (function-scope arrays would risk scratch
// memory, so each chain is its own variable).
// Bindings: 0 out (write, f32 per invocation), 1 params (uniform).
// Dispatch: grid1d(workgroups); WG invocations per workgroup (override).

override WG: u32 = 64u;

struct Params {
  iters: u32,
  mul: f32,
  add: f32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

fn seed(i: u32, chain: u32) -> vec4<f32> {
  let x = f32((i * 7u + chain * 13u) & 1023u) * 0.0001;
  return vec4<f32>(x, x + 0.25, x + 0.5, x + 0.75);
}

@compute @workgroup_size(WG)
fn fma2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let m = vec4<f32>(p.mul);
  let a = vec4<f32>(p.add);
  var c0 = seed(i, 0u);
  var c1 = seed(i, 1u);
  for (var t = 0u; t < p.iters; t++) {
    c0 = fma(c0, m, a);
    c1 = fma(c1, m, a);
  }
  let s = c0 + c1;
  out[i] = s.x + s.y + s.z + s.w;
}

@compute @workgroup_size(WG)
fn fma4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let m = vec4<f32>(p.mul);
  let a = vec4<f32>(p.add);
  var c0 = seed(i, 0u);
  var c1 = seed(i, 1u);
  var c2 = seed(i, 2u);
  var c3 = seed(i, 3u);
  for (var t = 0u; t < p.iters; t++) {
    c0 = fma(c0, m, a);
    c1 = fma(c1, m, a);
    c2 = fma(c2, m, a);
    c3 = fma(c3, m, a);
  }
  let s = c0 + c1 + c2 + c3;
  out[i] = s.x + s.y + s.z + s.w;
}

@compute @workgroup_size(WG)
fn fma8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let m = vec4<f32>(p.mul);
  let a = vec4<f32>(p.add);
  var c0 = seed(i, 0u);
  var c1 = seed(i, 1u);
  var c2 = seed(i, 2u);
  var c3 = seed(i, 3u);
  var c4 = seed(i, 4u);
  var c5 = seed(i, 5u);
  var c6 = seed(i, 6u);
  var c7 = seed(i, 7u);
  for (var t = 0u; t < p.iters; t++) {
    c0 = fma(c0, m, a);
    c1 = fma(c1, m, a);
    c2 = fma(c2, m, a);
    c3 = fma(c3, m, a);
    c4 = fma(c4, m, a);
    c5 = fma(c5, m, a);
    c6 = fma(c6, m, a);
    c7 = fma(c7, m, a);
  }
  let s = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7;
  out[i] = s.x + s.y + s.z + s.w;
}

@compute @workgroup_size(WG)
fn fma16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let m = vec4<f32>(p.mul);
  let a = vec4<f32>(p.add);
  var c0 = seed(i, 0u);
  var c1 = seed(i, 1u);
  var c2 = seed(i, 2u);
  var c3 = seed(i, 3u);
  var c4 = seed(i, 4u);
  var c5 = seed(i, 5u);
  var c6 = seed(i, 6u);
  var c7 = seed(i, 7u);
  var c8 = seed(i, 8u);
  var c9 = seed(i, 9u);
  var c10 = seed(i, 10u);
  var c11 = seed(i, 11u);
  var c12 = seed(i, 12u);
  var c13 = seed(i, 13u);
  var c14 = seed(i, 14u);
  var c15 = seed(i, 15u);
  for (var t = 0u; t < p.iters; t++) {
    c0 = fma(c0, m, a);
    c1 = fma(c1, m, a);
    c2 = fma(c2, m, a);
    c3 = fma(c3, m, a);
    c4 = fma(c4, m, a);
    c5 = fma(c5, m, a);
    c6 = fma(c6, m, a);
    c7 = fma(c7, m, a);
    c8 = fma(c8, m, a);
    c9 = fma(c9, m, a);
    c10 = fma(c10, m, a);
    c11 = fma(c11, m, a);
    c12 = fma(c12, m, a);
    c13 = fma(c13, m, a);
    c14 = fma(c14, m, a);
    c15 = fma(c15, m, a);
  }
  let s = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + c12 + c13 + c14 + c15;
  out[i] = s.x + s.y + s.z + s.w;
}
