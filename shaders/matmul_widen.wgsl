// Widens f16 values (packed two per u32, element 2i in the low half) to f32: dst[j] = src element
// (src_offset + j) for j < count. Software adapters convert halves slowly (unpack2x16float is some
// twenty operations per half on SwiftShader), and a register-tiled matmul would convert every B element
// once per invocation that reads it; widening B once into a scratch f32 copy costs k * n conversions
// instead of about (m / 16) * k * n.
//
// Bindings: 0 src (u32 words), 1 dst (f32), 2 params (uniform). dst may not alias src.
// Dispatch: grid1d(ceil(count / (2 * WG))); invocation i writes dst[2i] and dst[2i + 1], so dst must hold
// count rounded up to even. ODD is src_offset % 2 (a constant, so no branch runs per invocation).

override WG: u32 = 256u;
override ODD: bool = false;

struct Params {
  src_offset: u32,
  count: u32,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn widen(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let j = ((wid.x + wid.y * nwg.x) * WG + lid) * 2u;
  if (j >= p.count) {
    return;
  }
  let w = (p.src_offset + j) >> 1u;
  var pair = src[w];
  if (ODD) {
    // Elements 2w + 1 and 2w + 2: the high half of word w and the low half of the next word.
    pair = (pair >> 16u) | (src[w + 1u] << 16u);
  }
  let h = unpack2x16float(pair);
  dst[j] = h.x;
  dst[j + 1u] = h.y;
}
