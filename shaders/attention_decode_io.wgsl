// q, k and v of attention_decode.wgsl as f32 arrays: any head dim, offsets and strides (joined in front of it
// by src/engine/ops/gpu/attention-decode.ts; attention_decode_io_vec4.wgsl is the aligned alternative).
// Each load returns elements 4c..4c+3 of the D-vector at element `base`, zero past D (indices clamped, so no
// branches on lanes).

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;

// D a multiple of 4: vec4 parts need no clamping.
override WHOLE_VEC4: bool = HD % 4u == 0u;

fn load_q4(base: u32, c: u32) -> vec4<f32> {
  if (WHOLE_VEC4) {
    let b = base + 4u * c;
    return vec4<f32>(q[b], q[b + 1u], q[b + 2u], q[b + 3u]);
  }
  let d = 4u * c + vec4<u32>(0u, 1u, 2u, 3u);
  let e = base + min(d, vec4<u32>(HD - 1u));
  return select(vec4<f32>(0.0), vec4<f32>(q[e.x], q[e.y], q[e.z], q[e.w]), d < vec4<u32>(HD));
}

fn load_k4(base: u32, c: u32) -> vec4<f32> {
  if (WHOLE_VEC4) {
    let b = base + 4u * c;
    return vec4<f32>(k[b], k[b + 1u], k[b + 2u], k[b + 3u]);
  }
  let d = 4u * c + vec4<u32>(0u, 1u, 2u, 3u);
  let e = base + min(d, vec4<u32>(HD - 1u));
  return select(vec4<f32>(0.0), vec4<f32>(k[e.x], k[e.y], k[e.z], k[e.w]), d < vec4<u32>(HD));
}

fn load_v4(base: u32, c: u32) -> vec4<f32> {
  if (WHOLE_VEC4) {
    let b = base + 4u * c;
    return vec4<f32>(v[b], v[b + 1u], v[b + 2u], v[b + 3u]);
  }
  let d = 4u * c + vec4<u32>(0u, 1u, 2u, 3u);
  let e = base + min(d, vec4<u32>(HD - 1u));
  return select(vec4<f32>(0.0), vec4<f32>(v[e.x], v[e.y], v[e.z], v[e.w]), d < vec4<u32>(HD));
}
