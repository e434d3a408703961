// Widens f16 values (packed two per u32, element 2i in the low half) to f32: dst[j] = src element
// (src_offset + j) for j < count. Software adapters convert halves slowly (unpack2x16float is some
// twenty operations per half on SwiftShader), and a register-tiled matmul would convert every B element
// once per invocation that reads it; widening B once into a scratch f32 copy costs k * n conversions
// instead of (m / 16) * k * n.
//
// Bindings: 0 src (u32 words), 1 dst (f32), 2 params (uniform). dst may not alias src.
// Dispatch: grid1d(ceil(count / (2 * WG))); each invocation writes elements 2i and 2i + 1.

override WG: u32 = 256u;

struct Params {
  src_offset: u32,
  count: u32,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

fn half_at(e: u32) -> f32 {
  let h = unpack2x16float(src[e >> 1u]);
  return select(h.x, h.y, (e & 1u) == 1u);
}

@compute @workgroup_size(WG)
fn widen(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let j = ((wid.x + wid.y * nwg.x) * WG + lid) * 2u;
  if (j >= p.count) {
    return;
  }
  let e = p.src_offset + j;
  if ((e & 1u) == 0u) {
    // Aligned pair: one word holds both elements.
    let h = unpack2x16float(src[e >> 1u]);
    dst[j] = h.x;
    if (j + 1u < p.count) {
      dst[j + 1u] = h.y;
    }
  } else {
    dst[j] = half_at(e);
    if (j + 1u < p.count) {
      dst[j + 1u] = half_at(e + 1u);
    }
  }
}
