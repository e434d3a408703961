// Decode attention, one new token per request (Tq = 1), split over the key length (flash-decoding):
//   out[b, h] = sum_j P_j v[b, j, hk],  P = softmax_j(scale * q[b, h] . k[b, j, hk]),  j < Tk,
// with hk = h / G (G = Hq / Hkv). The query is the last position, so every cached key is visible.
// The keys are cut into `splits` chunks of CHUNK; one invocation owns one (b, h, chunk) and runs an online
// softmax over its chunk, BK keys per rescale, reading q, k and v straight from storage (no workgroup memory,
// no barriers: what software adapters want, and no idle rows as in attention_forward at Tq = 1).
// Invocations are numbered ((b * Hkv + hk) * splits + s) * G + g, so the G query heads of one kv head read the
// same keys side by side.
//   splits = 1: writes out (through o_off / o_batch) and lse = m + log(l) (B, Hq) straight away.
//   splits > 1: writes the chunk's unnormalised partial acc (B, Hq, splits, 4 * HD4), zero-padded past D, and
//   its running max m and sum l as (B, Hq, splits, 2); attention_decode_combine.wgsl merges them.
// Per invocation the keys are summed in ascending order: bitwise reproducible.
//
// Bindings: 0 q (read), 1 k (read), 2 v (read), 3 out or partial acc (write), 4 lse or partial (m, l) (write),
// 5 params (uniform). Dispatch: grid1d(ceil(B * Hq * splits / WG)) workgroups of WG invocations.
// Caller guarantees: 1 <= D = HD <= 128; 1 <= BK <= 32; splits = ceil(Tk / CHUNK); Hq % Hkv == 0.

override HD: u32 = 64u;     // head dim D
override WG: u32 = 64u;     // invocations per workgroup
override CHUNK: u32 = 64u;  // keys per split
override BK: u32 = 16u;     // keys scored between two rescales of the accumulator
override HD4: u32 = (HD + 3u) / 4u;  // head dim in vec4s; the tail of the last one is zero-padded
override WHOLE_VEC4: bool = HD % 4u == 0u;

const MAX_HD4: u32 = 32u;  // D <= 128
const MAX_BK: u32 = 32u;
const NO_MAX: f32 = -3.0e38;

// DecodeParams comes from attention_decode_params.wgsl.

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst_stats: array<f32>;
@group(0) @binding(5) var<uniform> p: DecodeParams;

// Elements 4c..4c+3 of the D-vector at `base`, zero past D (indices clamped, so no branches on lanes).
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

@compute @workgroup_size(WG)
fn attention_decode(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let group = p.hq / p.hkv;
  let inv = (wid.x + wid.y * nwg.x) * WG + lid;
  if (inv >= p.batch * p.hq * p.splits) { return; }
  let g = inv % group;
  let s = (inv / group) % p.splits;
  let bhk = inv / (group * p.splits);  // b * Hkv + hk
  let hk = bhk % p.hkv;
  let b = bhk / p.hkv;
  let h = hk * group + g;

  // q pre-scaled, so a score is one dot product.
  var qv: array<vec4<f32>, MAX_HD4>;
  var acc: array<vec4<f32>, MAX_HD4>;
  let q_base = p.q_off + b * p.q_batch + h * HD;
  for (var c = 0u; c < HD4; c++) {
    qv[c] = load_q4(q_base, c) * p.scale;
    acc[c] = vec4<f32>(0.0);
  }
  var m = NO_MAX;
  var l = 0.0;
  var score: array<f32, MAX_BK>;

  let k_base = p.k_off + b * p.k_batch + hk * HD;
  let v_base = p.v_off + b * p.v_batch + hk * HD;
  let j_end = min(s * CHUNK + CHUNK, p.tk);
  for (var t0 = s * CHUNK; t0 < j_end; t0 += BK) {
    let n = min(BK, j_end - t0);
    var block_max = NO_MAX;
    for (var jj = 0u; jj < n; jj++) {
      let kb = k_base + (t0 + jj) * p.k_row;
      var sc = 0.0;
      for (var c = 0u; c < HD4; c++) { sc += dot(qv[c], load_k4(kb, c)); }
      score[jj] = sc;
      block_max = max(block_max, sc);
    }
    let m_new = max(m, block_max);
    let correction = exp(m - m_new);  // 0 on the first block, where l and acc are 0 anyway
    l *= correction;
    for (var c = 0u; c < HD4; c++) { acc[c] *= correction; }
    for (var jj = 0u; jj < n; jj++) {
      let vb = v_base + (t0 + jj) * p.v_row;
      let pj = exp(score[jj] - m_new);
      l += pj;
      for (var c = 0u; c < HD4; c++) { acc[c] += pj * load_v4(vb, c); }
    }
    m = m_new;
  }

  if (p.splits == 1u) {
    let inv_l = 1.0 / l;
    let o_base = p.o_off + b * p.o_batch + h * HD;
    for (var c = 0u; c < HD4; c++) {
      let o = acc[c] * inv_l;
      let d = 4u * c;
      if (d < HD) { dst[o_base + d] = o.x; }
      if (d + 1u < HD) { dst[o_base + d + 1u] = o.y; }
      if (d + 2u < HD) { dst[o_base + d + 2u] = o.z; }
      if (d + 3u < HD) { dst[o_base + d + 3u] = o.w; }
    }
    dst_stats[b * p.hq + h] = m + log(l);
    return;
  }
  let part = (b * p.hq + h) * p.splits + s;
  let a_base = part * HD4 * 4u;
  for (var c = 0u; c < HD4; c++) {
    let e = a_base + 4u * c;
    dst[e] = acc[c].x;
    dst[e + 1u] = acc[c].y;
    dst[e + 2u] = acc[c].z;
    dst[e + 3u] = acc[c].w;
  }
  dst_stats[2u * part] = m;
  dst_stats[2u * part + 1u] = l;
}
