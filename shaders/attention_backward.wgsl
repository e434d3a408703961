// Causal grouped-query self-attention, backward (flash-attention style: P is recomputed from q, k and the
// forward's logsumexp, never stored). With S = scale q k^T, P_ij = exp(S_ij - lse_i), dP_ij = dout_i . v_j and
// Delta_i = dout_i . out_i (attention_delta.wgsl), dS_ij = P_ij (dP_ij - Delta_i):
//   dq_i = scale sum_j dS_ij k_j                                   (attention_backward_dq)
//   dk_j = scale sum_(h in group, i) dS_ij q_i,  dv_j = sum_(h in group, i) P_ij dout_i
//       (attention_backward_dkdv[_shared] per query head h; for G > 1 into partials (B, Tk, Hq, D) that
//        attention_group_sum.wgsl then sums over the group in head order)
// Shapes and strides as in attention_forward.wgsl; dq like q, dk and dv like k; lse and delta (B, Hq, Tq).
// The kernels WRITE their outputs (no accumulation) and use no atomics: every output row belongs to one
// invocation, which sums its terms in a fixed order (queries ascending; then heads of a group ascending).
//
// attention_backward_dq   bindings: 0 q, 1 k, 2 v, 3 dout, 4 lse, 5 delta (read), 6 params (uniform), 7 dq (write).
//   Dispatch: grid1d(B * Hkv * ceil(Tq * G / BR)) workgroups of BR: one invocation per packed query row, as
//   in the forward; keys go by in chunks of BK.
// attention_backward_dkdv bindings: 0..5 as above, 6 params (uniform), 7 dk (write), 8 dv (write).
// attention_backward_dkdv_shared: the same with 7 = one buffer holding both dk and dv (their offsets tell them
//   apart; e.g. a fused dqkv gradient, which WebGPU will not bind twice as writable).
//   Dispatch: grid1d(B * Hq * ceil(Tk / BR)) workgroups of BR: one invocation per key j of one (b, h); the
//   query rows (q, dout, lse, delta of head h) go by in chunks of BK. Writes head index h of the dk / dv
//   layouts (G = 1: the real dk, dv; G > 1: partials).
// TILED: chunks are staged in workgroup memory (real GPUs); otherwise read straight from storage (no
// barriers, no workgroup memory: software adapters).
// Caller guarantees: 1 <= D = HD <= 128; 1 <= Tq <= Tk; Hq % Hkv == 0; when TILED, 2 * BK * ceil(D / 4) * 16
// + 8 * BK bytes fit the adapter's workgroup storage; outputs alias no input; dk and dv do not overlap
// (the _shared entry point writes both through one binding).

override HD: u32 = 64u;  // head dim D
override BR: u32 = 64u;  // output rows (queries for dq, keys for dk/dv) per workgroup = invocations
override BK: u32 = 16u;  // rows per chunk (keys for dq, query rows of one head for dk/dv)
override TILED: bool = true;
override HD4: u32 = (HD + 3u) / 4u;
// D a multiple of 4: vec4 parts need no clamping (about 2x faster on SwiftShader).
override WHOLE_VEC4: bool = HD % 4u == 0u;
override TILE_LEN: u32 = select(1u, BK * HD4, TILED);
override STAT_LEN: u32 = select(1u, BK, TILED);

const MAX_HD4: u32 = 32u;  // D <= 128
// What a chunk holds: keys and values (dq) or query and dout rows (dk/dv).
const FROM_K: u32 = 0u;
const FROM_Q: u32 = 1u;

// Params (the layout every attention kernel shares) comes from attention_params.wgsl.

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> delta: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;
// Slot 7 (and 8) differ by entry point; each uses only its own.
@group(0) @binding(7) var<storage, read_write> dq_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk_out: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> dkv_out: array<f32>;

var<workgroup> tile_a: array<vec4<f32>, TILE_LEN>;  // dq: keys;   dk/dv: q rows
var<workgroup> tile_b: array<vec4<f32>, TILE_LEN>;  // dq: values; dk/dv: dout rows
var<workgroup> tile_lse: array<f32, STAT_LEN>;
var<workgroup> tile_delta: array<f32, STAT_LEN>;

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

fn load_do4(base: u32, c: u32) -> vec4<f32> {
  if (WHOLE_VEC4) {
    let b = base + 4u * c;
    return vec4<f32>(dout[b], dout[b + 1u], dout[b + 2u], dout[b + 3u]);
  }
  let d = 4u * c + vec4<u32>(0u, 1u, 2u, 3u);
  let e = base + min(d, vec4<u32>(HD - 1u));
  return select(vec4<f32>(0.0), vec4<f32>(dout[e.x], dout[e.y], dout[e.z], dout[e.w]), d < vec4<u32>(HD));
}

// Part c of row `slot` of the current chunk: from workgroup memory when TILED, else from storage at `base`.
fn chunk_a(slot: u32, base: u32, c: u32, load_from: u32) -> vec4<f32> {
  if (TILED) { return tile_a[slot * HD4 + c]; }
  if (load_from == FROM_K) { return load_k4(base, c); }
  return load_q4(base, c);
}

fn chunk_b(slot: u32, base: u32, c: u32, load_from: u32) -> vec4<f32> {
  if (TILED) { return tile_b[slot * HD4 + c]; }
  if (load_from == FROM_K) { return load_v4(base, c); }
  return load_do4(base, c);
}

// ---- dq ----

@compute @workgroup_size(BR)
fn attention_backward_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let group = p.hq / p.hkv;
  let rows = p.tq * group;
  let blocks = (rows + BR - 1u) / BR;
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= p.batch * p.hkv * blocks) { return; }
  let blk = wg % blocks;
  let hk = (wg / blocks) % p.hkv;
  let b = wg / (blocks * p.hkv);
  let shift = p.tk - p.tq;
  let causal = p.causal != 0u;

  let row0 = blk * BR;
  let owns_row = row0 + lid < rows;
  let row = min(row0 + lid, rows - 1u);
  let i = row / group;
  let h = hk * group + row % group;
  let last_i = (min(row0 + BR, rows) - 1u) / group;
  let wg_end = select(p.tk, shift + last_i + 1u, causal);
  let my_end = select(p.tk, shift + i + 1u, causal);

  // q pre-scaled, so a score is one dot product.
  var qv: array<vec4<f32>, MAX_HD4>;
  var dov: array<vec4<f32>, MAX_HD4>;
  var acc: array<vec4<f32>, MAX_HD4>;
  let q_base = p.q_off + b * p.q_batch + i * p.q_row + h * HD;
  let do_base = p.do_off + b * p.do_batch + i * p.do_row + h * HD;
  for (var c = 0u; c < HD4; c++) {
    qv[c] = load_q4(q_base, c) * p.scale;
    dov[c] = load_do4(do_base, c);
    acc[c] = vec4<f32>(0.0);
  }
  let stat = (b * p.hq + h) * p.tq + i;
  let row_lse = lse[stat];
  let row_delta = delta[stat];

  let k_base = p.k_off + b * p.k_batch + hk * HD;
  let v_base = p.v_off + b * p.v_batch + hk * HD;
  for (var t0 = 0u; t0 < wg_end; t0 += BK) {
    if (TILED) {
      workgroupBarrier();
      // Slots past the last needed key repeat it (clamped, never read back).
      for (var e = lid; e < BK * HD4; e += BR) {
        let j = min(t0 + e / HD4, wg_end - 1u);
        let c = e % HD4;
        tile_a[e] = load_k4(k_base + j * p.k_row, c);
        tile_b[e] = load_v4(v_base + j * p.v_row, c);
      }
      workgroupBarrier();
    }

    let n = min(BK, my_end - min(t0, my_end));
    if (owns_row) {
      for (var jj = 0u; jj < n; jj++) {
        let kb = k_base + (t0 + jj) * p.k_row;
        let vb = v_base + (t0 + jj) * p.v_row;
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < HD4; c++) {
          s += dot(qv[c], chunk_a(jj, kb, c, FROM_K));
          dp += dot(dov[c], chunk_b(jj, vb, c, FROM_K));
        }
        let ds = exp(s - row_lse) * (dp - row_delta);
        for (var c = 0u; c < HD4; c++) {
          acc[c] += ds * chunk_a(jj, kb, c, FROM_K);
        }
      }
    }
  }

  if (owns_row) {
    let dq_base = p.dq_off + b * p.dq_batch + i * p.dq_row + h * HD;
    for (var c = 0u; c < HD4; c++) {
      let g = acc[c] * p.scale;
      let d = 4u * c;
      if (d < HD) { dq_out[dq_base + d] = g.x; }
      if (d + 1u < HD) { dq_out[dq_base + d + 1u] = g.y; }
      if (d + 2u < HD) { dq_out[dq_base + d + 2u] = g.z; }
      if (d + 3u < HD) { dq_out[dq_base + d + 3u] = g.w; }
    }
  }
}

// ---- dk, dv ----

// Per-invocation results of dkdv_accumulate, stored by the entry points.
var<private> grad_k: array<vec4<f32>, MAX_HD4>;
var<private> grad_v: array<vec4<f32>, MAX_HD4>;

struct KeyRow {
  owns_row: bool,
  b: u32,
  h: u32,  // query head whose terms were summed
  j: u32,
}

// Fills grad_k (scale included) and grad_v for this invocation's key j, summing over the queries of ONE query
// head h (G > 1: a partial, summed over the group by attention_group_sum.wgsl; one workgroup per kv head
// would leave most of the GPU idle). Called in uniform control flow.
fn dkdv_accumulate(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> KeyRow {
  let blocks = (p.tk + BR - 1u) / BR;
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= p.batch * p.hq * blocks) { return KeyRow(false, 0u, 0u, 0u); }
  let blk = wg % blocks;
  let h = (wg / blocks) % p.hq;
  let b = wg / (blocks * p.hq);
  let hk = h / (p.hq / p.hkv);
  let shift = p.tk - p.tq;
  let causal = p.causal != 0u;

  let j0 = blk * BR;
  let owns_row = j0 + lid < p.tk;
  let j = min(j0 + lid, p.tk - 1u);
  // First query that sees key j (query i sees j when shift + i >= j), for the workgroup's first key and for
  // this invocation's key.
  let wg_first = select(0u, j0 - shift, causal && j0 > shift);
  let my_first = select(0u, j - shift, causal && j > shift);

  // k pre-scaled, so a score is one dot product.
  var kv: array<vec4<f32>, MAX_HD4>;
  var vv: array<vec4<f32>, MAX_HD4>;
  let k_base = p.k_off + b * p.k_batch + j * p.k_row + hk * HD;
  let v_base = p.v_off + b * p.v_batch + j * p.v_row + hk * HD;
  for (var c = 0u; c < HD4; c++) {
    kv[c] = load_k4(k_base, c) * p.scale;
    vv[c] = load_v4(v_base, c);
    grad_k[c] = vec4<f32>(0.0);
    grad_v[c] = vec4<f32>(0.0);
  }

  let q_base = p.q_off + b * p.q_batch + h * HD;
  let do_base = p.do_off + b * p.do_batch + h * HD;
  let stat_base = (b * p.hq + h) * p.tq;
  for (var t0 = wg_first; t0 < p.tq; t0 += BK) {
    if (TILED) {
      workgroupBarrier();
      // Slots past the last query repeat it (clamped, never read back).
      for (var e = lid; e < BK * HD4; e += BR) {
        let i = min(t0 + e / HD4, p.tq - 1u);
        let c = e % HD4;
        tile_a[e] = load_q4(q_base + i * p.q_row, c);
        tile_b[e] = load_do4(do_base + i * p.do_row, c);
      }
      for (var e = lid; e < BK; e += BR) {
        let i = min(t0 + e, p.tq - 1u);
        tile_lse[e] = lse[stat_base + i];
        tile_delta[e] = delta[stat_base + i];
      }
      workgroupBarrier();
    }

    if (owns_row) {
      let end = min(t0 + BK, p.tq);
      for (var i = max(t0, my_first); i < end; i++) {
        let ii = i - t0;
        let qb = q_base + i * p.q_row;
        let dob = do_base + i * p.do_row;
        var row_lse: f32;
        var row_delta: f32;
        if (TILED) {
          row_lse = tile_lse[ii];
          row_delta = tile_delta[ii];
        } else {
          row_lse = lse[stat_base + i];
          row_delta = delta[stat_base + i];
        }
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < HD4; c++) {
          s += dot(chunk_a(ii, qb, c, FROM_Q), kv[c]);
          dp += dot(chunk_b(ii, dob, c, FROM_Q), vv[c]);
        }
        let pr = exp(s - row_lse);
        let ds = pr * (dp - row_delta);
        for (var c = 0u; c < HD4; c++) {
          grad_v[c] += pr * chunk_b(ii, dob, c, FROM_Q);
          grad_k[c] += ds * chunk_a(ii, qb, c, FROM_Q);
        }
      }
    }
  }
  for (var c = 0u; c < HD4; c++) { grad_k[c] *= p.scale; }
  return KeyRow(owns_row, b, h, j);
}

// Both write head index h through the dk / dv layouts: the kv head itself when G = 1, else a per-query-head
// partial buffer (B, Tk, Hq, D).
@compute @workgroup_size(BR)
fn attention_backward_dkdv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                           @builtin(local_invocation_index) lid: u32) {
  let r = dkdv_accumulate(wid, nwg, lid);
  if (!r.owns_row) { return; }
  let dk_base = p.dk_off + r.b * p.dk_batch + r.j * p.dk_row + r.h * HD;
  let dv_base = p.dv_off + r.b * p.dv_batch + r.j * p.dv_row + r.h * HD;
  for (var d = 0u; d < HD; d++) {
    dk_out[dk_base + d] = grad_k[d / 4u][d % 4u];
    dv_out[dv_base + d] = grad_v[d / 4u][d % 4u];
  }
}

@compute @workgroup_size(BR)
fn attention_backward_dkdv_shared(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                                  @builtin(local_invocation_index) lid: u32) {
  let r = dkdv_accumulate(wid, nwg, lid);
  if (!r.owns_row) { return; }
  let dk_base = p.dk_off + r.b * p.dk_batch + r.j * p.dk_row + r.h * HD;
  let dv_base = p.dv_off + r.b * p.dv_batch + r.j * p.dv_row + r.h * HD;
  for (var d = 0u; d < HD; d++) {
    dkv_out[dk_base + d] = grad_k[d / 4u][d % 4u];
    dkv_out[dv_base + d] = grad_v[d / 4u][d % 4u];
  }
}
