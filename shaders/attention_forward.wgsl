// Causal grouped-query self-attention, forward, flash-attention style (no (T, T) matrix is stored):
//   out[b, i, h] = sum_j P_ij v[b, j, hk],  P_i = softmax_j(scale * q[b, i, h] . k[b, j, hk]),
//   lse[b, h, i] = logsumexp_j(scale * q[b, i, h] . k[b, j, hk])   (saved for the backward)
// with hk = h / G (G = Hq / Hkv query heads per kv head) and, when causal, keys j <= (Tk - Tq) + i only.
// q, out: (B, Tq, Hq, D); k, v: (B, Tk, Hkv, D); each through its own (offset, row stride, batch stride) in
// elements, so k and v may live in a larger KV cache (B, Tmax, Hkv, D) or a fused qkv buffer. Heads are
// contiguous (head stride D). lse: contiguous (B, Hq, Tq).
//
// Bindings: 0 q (read), 1 k (read), 2 v (read), 3 out (write), 4 lse (write), 5 params (uniform).
// Dispatch: grid1d(B * Hkv * ceil(Tq * G / BR)) workgroups of BR invocations. A workgroup owns one (b, hk)
// and BR consecutive "packed rows" rho = i * G + g (query i, head hk * G + g), one invocation per row, so all
// query heads that share a kv head read the same keys. Keys go by in chunks of BK; each row keeps a running
// max m, sum l and accumulator (online softmax), rescaled once per chunk. TILED: each chunk of k and v is
// first copied to workgroup memory (two barriers per chunk; what real GPUs want); otherwise every invocation
// reads k and v straight from storage (no barriers, no workgroup memory; what software adapters want).
// Per row the keys are summed in ascending order, so results are bitwise reproducible.
// Caller guarantees: 1 <= D = HD <= 128; BK <= 64; 1 <= Tq <= Tk; Hq % Hkv == 0; when TILED,
// 2 * BK * ceil(D / 4) * 16 bytes fit the adapter's workgroup storage; out and lse alias no input.

override HD: u32 = 64u;  // head dim D
override BR: u32 = 64u;  // packed query rows per workgroup = invocations per workgroup
override BK: u32 = 16u;  // keys per chunk (and per workgroup-memory tile when TILED)
override TILED: bool = true;
override HD4: u32 = (HD + 3u) / 4u;  // head dim in vec4s; the tail of the last one is zero-padded
// D a multiple of 4: vec4 parts need no clamping (about 2x faster on SwiftShader).
override WHOLE_VEC4: bool = HD % 4u == 0u;
override TILE_LEN: u32 = select(1u, BK * HD4, TILED);

const MAX_HD4: u32 = 32u;  // D <= 128
const MAX_BK: u32 = 64u;
const NO_MAX: f32 = -3.0e38;

// Params (the layout every attention kernel shares) comes from attention_params.wgsl.

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> k_tile: array<vec4<f32>, TILE_LEN>;
var<workgroup> v_tile: array<vec4<f32>, TILE_LEN>;

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

// Part c of key `slot` of the current chunk: from the tile, or from storage at `row_base`.
fn key4(slot: u32, row_base: u32, c: u32) -> vec4<f32> {
  if (TILED) { return k_tile[slot * HD4 + c]; }
  return load_k4(row_base, c);
}

fn value4(slot: u32, row_base: u32, c: u32) -> vec4<f32> {
  if (TILED) { return v_tile[slot * HD4 + c]; }
  return load_v4(row_base, c);
}

@compute @workgroup_size(BR)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
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
  let row = min(row0 + lid, rows - 1u);  // idle invocations shadow the last row and write nothing
  let i = row / group;
  let h = hk * group + row % group;
  // Keys this workgroup needs (up to its last row's) and keys this row may see (exclusive ends).
  let last_i = (min(row0 + BR, rows) - 1u) / group;
  let wg_end = select(p.tk, shift + last_i + 1u, causal);
  let my_end = select(p.tk, shift + i + 1u, causal);

  // q pre-scaled, so a score is one dot product.
  var qv: array<vec4<f32>, MAX_HD4>;
  var acc: array<vec4<f32>, MAX_HD4>;
  let q_base = p.q_off + b * p.q_batch + i * p.q_row + h * HD;
  for (var c = 0u; c < HD4; c++) {
    qv[c] = load_q4(q_base, c) * p.scale;
    acc[c] = vec4<f32>(0.0);
  }
  var m = NO_MAX;
  var l = 0.0;
  var score: array<f32, MAX_BK>;

  let k_base = p.k_off + b * p.k_batch + hk * HD;
  let v_base = p.v_off + b * p.v_batch + hk * HD;
  for (var t0 = 0u; t0 < wg_end; t0 += BK) {
    if (TILED) {
      workgroupBarrier();  // everyone is done with the previous tile
      // Slots past the last needed key repeat it (clamped, never read back): no branches in the copy.
      for (var e = lid; e < BK * HD4; e += BR) {
        let j = min(t0 + e / HD4, wg_end - 1u);
        let c = e % HD4;
        k_tile[e] = load_k4(k_base + j * p.k_row, c);
        v_tile[e] = load_v4(v_base + j * p.v_row, c);
      }
      workgroupBarrier();
    }

    let n = min(BK, my_end - min(t0, my_end));  // keys of this chunk that this row sees
    if (owns_row && n > 0u) {
      var chunk_max = NO_MAX;
      for (var jj = 0u; jj < n; jj++) {
        let kb = k_base + (t0 + jj) * p.k_row;
        var s = 0.0;
        for (var c = 0u; c < HD4; c++) { s += dot(qv[c], key4(jj, kb, c)); }
        score[jj] = s;
        chunk_max = max(chunk_max, s);
      }
      let m_new = max(m, chunk_max);
      let correction = exp(m - m_new);  // 0 on the first chunk, where l and acc are 0 anyway
      l *= correction;
      for (var c = 0u; c < HD4; c++) { acc[c] *= correction; }
      for (var jj = 0u; jj < n; jj++) {
        let vb = v_base + (t0 + jj) * p.v_row;
        let pj = exp(score[jj] - m_new);
        l += pj;
        for (var c = 0u; c < HD4; c++) { acc[c] += pj * value4(jj, vb, c); }
      }
      m = m_new;
    }
  }

  if (owns_row) {
    let inv_l = 1.0 / l;
    let o_base = p.o_off + b * p.o_batch + i * p.o_row + h * HD;
    for (var c = 0u; c < HD4; c++) {
      let o = acc[c] * inv_l;
      let d = 4u * c;
      if (d < HD) { out[o_base + d] = o.x; }
      if (d + 1u < HD) { out[o_base + d + 1u] = o.y; }
      if (d + 2u < HD) { out[o_base + d + 2u] = o.z; }
      if (d + 3u < HD) { out[o_base + d + 3u] = o.w; }
    }
    lse[(b * p.hq + h) * p.tq + i] = m + log(l);
  }
}
