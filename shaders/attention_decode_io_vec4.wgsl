// q, k and v of attention_decode.wgsl as vec4 arrays: one 16-byte load per part (joined in front of it by
// src/engine/ops/gpu/attention-decode.ts when D and every offset and stride of q, k and v are multiples of 4).
// Each load returns elements 4c..4c+3 of the D-vector at element `base` (a multiple of 4).

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;

fn load_q4(base: u32, c: u32) -> vec4<f32> { return q[base / 4u + c]; }
fn load_k4(base: u32, c: u32) -> vec4<f32> { return k[base / 4u + c]; }
fn load_v4(base: u32, c: u32) -> vec4<f32> { return v[base / 4u + c]; }
