// Benchmark only: device-memory copy bandwidth (bench/core/copy.ts), dst[i] = src[i] over vec4<f32>.
// Each invocation copies VPT vec4s, strided by WG inside its workgroup's block so neighbouring invocations
// touch neighbouring addresses (coalesced).
//
// Bindings: 0 src (read), 1 dst (write), 2 params (uniform: n4 = number of vec4s).
// Dispatch: grid1d(ceil(n4 / (WG * VPT))). src and dst must not alias.

override WG: u32 = 256u;
override VPT: u32 = 4u;

struct Params {
  n4: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let base = (wid.x + wid.y * nwg.x) * WG * VPT + lid;
  for (var j = 0u; j < VPT; j++) {
    let idx = base + j * WG;
    if (idx < p.n4) {
      dst[idx] = src[idx];
    }
  }
}
