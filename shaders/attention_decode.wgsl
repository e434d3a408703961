// Decode attention, one new token per request (Tq = 1), split over the key length (flash-decoding):
//   out[b, h] = sum_j P_j v[b, j, hk],  P = softmax_j(scale * q[b, h] . k[b, j, hk]),  j < Tk,
// with hk = h / G (G = Hq / Hkv). The query is the last position, so every cached key is visible.
// The keys are cut into `splits` chunks of CHUNK; one invocation owns one chunk of one (b, hk) for HEADS
// consecutive query heads of that kv head's group (the last block of a group may hold fewer) and runs an
// online softmax per head over its chunk, BK keys per rescale, reading each k and v part once for all its
// heads, straight from storage: no workgroup memory, no barriers (what software adapters want), and no idle
// rows as in attention_forward at Tq = 1. Invocations are numbered ((b * Hkv + hk) * splits + s) * blocks + gb
// (blocks = ceil(G / HEADS)), so the head blocks of one kv head read the same keys side by side.
//   splits = 1: writes out (through o_off / o_batch) and lse = m + log(l) (B, Hq) straight away.
//   splits > 1: writes each head's unnormalised partial acc (B, Hq, splits, 4 * HD4), zero-padded past D, and
//   its running max m and sum l as (B, Hq, splits, 2); attention_decode_combine.wgsl merges them.
// Per head the keys are summed in ascending order: bitwise reproducible.
//
// Bindings: 0 q (read), 1 k (read), 2 v (read), 3 out or partial acc (write), 4 lse or partial (m, l) (write),
// 5 params (uniform). Dispatch: grid1d(ceil(B * Hkv * blocks * splits / WG)) workgroups of WG invocations.
// Caller guarantees: 1 <= D = HD <= 128; 1 <= BK <= 32; 1 <= HEADS <= 4, HEADS * HD4 <= 64, HEADS * BK <= 64;
// splits = ceil(Tk / CHUNK); Hq % Hkv == 0; with attention_decode_io_vec4.wgsl, D and the offsets and
// strides of q, k and v multiples of 4.

override HD: u32 = 64u;     // head dim D
override WG: u32 = 64u;     // invocations per workgroup
override CHUNK: u32 = 64u;  // keys per split
override BK: u32 = 16u;     // keys scored between two rescales of the accumulator
override HD4: u32 = (HD + 3u) / 4u;  // head dim in vec4s; the tail of the last one is zero-padded

override HEADS: u32 = 1u;  // query heads per invocation (of one kv head's group): k and v are read once for all
const MAX_HEADS: u32 = 4u;
const MAX_HEADS_HD4: u32 = 64u;  // HEADS * HD4 <= 64 (4 heads at D <= 64, 2 at D = 128)
const MAX_HEADS_BK: u32 = 64u;   // HEADS * BK <= 64
const NO_MAX: f32 = -3.0e38;

// DecodeParams comes from attention_decode_params.wgsl.
// q, k, v and load_q4 / load_k4 / load_v4 come from attention_decode_io.wgsl or attention_decode_io_vec4.wgsl.

@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst_stats: array<f32>;
@group(0) @binding(5) var<uniform> p: DecodeParams;

var<private> qv: array<vec4<f32>, MAX_HEADS_HD4>;
var<private> acc: array<vec4<f32>, MAX_HEADS_HD4>;
var<private> score: array<f32, MAX_HEADS_BK>;  // head e's key jj at e * BK + jj

@compute @workgroup_size(WG)
fn attention_decode(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let group = p.hq / p.hkv;
  let head_blocks = (group + HEADS - 1u) / HEADS;
  let inv = (wid.x + wid.y * nwg.x) * WG + lid;
  if (inv >= p.batch * p.hkv * head_blocks * p.splits) { return; }
  let gb = inv % head_blocks;
  let s = (inv / head_blocks) % p.splits;
  let bhk = inv / (head_blocks * p.splits);  // b * Hkv + hk
  let hk = bhk % p.hkv;
  let b = bhk / p.hkv;
  let h0 = hk * group + gb * HEADS;  // first query head of this invocation
  let nh = min(HEADS, group - gb * HEADS);

  // q pre-scaled, so a score is one dot product. Head e of this invocation at [e * HD4, (e + 1) * HD4).
  for (var e = 0u; e < nh; e++) {
    let q_base = p.q_off + b * p.q_batch + (h0 + e) * HD;
    for (var c = 0u; c < HD4; c++) {
      qv[e * HD4 + c] = load_q4(q_base, c) * p.scale;
      acc[e * HD4 + c] = vec4<f32>(0.0);
    }
  }
  var m: array<f32, MAX_HEADS>;
  var l: array<f32, MAX_HEADS>;
  for (var e = 0u; e < nh; e++) {
    m[e] = NO_MAX;
    l[e] = 0.0;
  }

  let k_base = p.k_off + b * p.k_batch + hk * HD;
  let v_base = p.v_off + b * p.v_batch + hk * HD;
  let j_end = min(s * CHUNK + CHUNK, p.tk);
  for (var t0 = s * CHUNK; t0 < j_end; t0 += BK) {
    let n = min(BK, j_end - t0);
    for (var jj = 0u; jj < n; jj++) {
      let kb = k_base + (t0 + jj) * p.k_row;
      for (var e = 0u; e < nh; e++) { score[e * BK + jj] = 0.0; }
      for (var c = 0u; c < HD4; c++) {
        let kc = load_k4(kb, c);
        for (var e = 0u; e < nh; e++) { score[e * BK + jj] += dot(qv[e * HD4 + c], kc); }
      }
    }
    for (var e = 0u; e < nh; e++) {
      var block_max = NO_MAX;
      for (var jj = 0u; jj < n; jj++) { block_max = max(block_max, score[e * BK + jj]); }
      let m_new = max(m[e], block_max);
      let correction = exp(m[e] - m_new);  // 0 on the first block, where l and acc are 0 anyway
      l[e] *= correction;
      for (var c = 0u; c < HD4; c++) { acc[e * HD4 + c] *= correction; }
      for (var jj = 0u; jj < n; jj++) {
        let pj = exp(score[e * BK + jj] - m_new);
        score[e * BK + jj] = pj;
        l[e] += pj;
      }
      m[e] = m_new;
    }
    for (var jj = 0u; jj < n; jj++) {
      let vb = v_base + (t0 + jj) * p.v_row;
      for (var c = 0u; c < HD4; c++) {
        let vc = load_v4(vb, c);
        for (var e = 0u; e < nh; e++) { acc[e * HD4 + c] += score[e * BK + jj] * vc; }
      }
    }
  }

  for (var e = 0u; e < nh; e++) {
    let h = h0 + e;
    if (p.splits == 1u) {
      let inv_l = 1.0 / l[e];
      let o_base = p.o_off + b * p.o_batch + h * HD;
      for (var c = 0u; c < HD4; c++) {
        let o = acc[e * HD4 + c] * inv_l;
        let d = 4u * c;
        if (d < HD) { dst[o_base + d] = o.x; }
        if (d + 1u < HD) { dst[o_base + d + 1u] = o.y; }
        if (d + 2u < HD) { dst[o_base + d + 2u] = o.z; }
        if (d + 3u < HD) { dst[o_base + d + 3u] = o.w; }
      }
      dst_stats[b * p.hq + h] = m[e] + log(l[e]);
    } else {
      let part = (b * p.hq + h) * p.splits + s;
      let a_base = part * HD4 * 4u;
      for (var c = 0u; c < HD4; c++) {
        let a = acc[e * HD4 + c];
        let at = a_base + 4u * c;
        dst[at] = a.x;
        dst[at + 1u] = a.y;
        dst[at + 2u] = a.z;
        dst[at + 3u] = a.w;
      }
      dst_stats[2u * part] = m[e];
      dst_stats[2u * part + 1u] = l[e];
    }
  }
}
