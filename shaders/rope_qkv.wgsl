// RoPE on one layer's fused projection (N, W): rows [q (Hq heads) | k (Hkv heads) | v (Hkv heads)],
// W = (Hq + 2 Hkv) D. The layer projects q, k and v as one product against their concatenated weights; these
// entry points replace the separate RoPE of q and k around it:
//   gather (forward):       q = rope(fused q), k = rope(fused k), v = fused v, into three contiguous tensors
//                           (N, Hq, D), (N, Hkv, D), (N, Hkv, D): what attention reads and the backward keeps.
//   rotate_back (backward): fused q = rope^T(fused q), fused k = rope^T(fused k) in place, v untouched: the
//                           attention backward wrote dq, dk, dv into the fused rows, and the projection's
//                           backward reads them from there in one product.
// The rotation is rope.wgsl's (same f32 angle, same cos and sin from rope_angle.wgsl, joined before this
// file). In place is safe: each invocation alone reads and writes its pairs (i, i + D/2).
//
// Bindings: 0 fused (N, W), 1 invFreq (D/2) (read), 2 positions (N) i32 (read; any buffer when
//           !USE_POSITIONS), 3 params (uniform); gather also 4 q (N, Hq D), 5 k (N, Hkv D), 6 v (N, Hkv D)
//           (written). fused is read_write for rotate_back; gather only reads it.
// Dispatch: grid1d(ceil(N * D/2 / WG)); one invocation per (token, i), looping over the heads.
// Caller guarantees: D is even; q, k, v alias neither fused nor each other; positions (if used) hold N values.

override WG: u32 = 64u;
override USE_POSITIONS: bool = false;

struct Params {
  tokens: u32,
  qHeads: u32,
  kvHeads: u32,
  half: u32,
  positionOffset: i32,
  direction: f32,
  // Always 0: see rope.wgsl (keeps pos * invFreq rounded to f32 before the reduction).
  zero: u32,
  // W, the fused row length.
  width: u32,
}

@group(0) @binding(0) var<storage, read_write> fused: array<f32>;
@group(0) @binding(1) var<storage, read> invFreq: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<i32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<storage, read_write> q: array<f32>;
@group(0) @binding(5) var<storage, read_write> k: array<f32>;
@group(0) @binding(6) var<storage, read_write> v: array<f32>;

/**
 * This invocation's row (token), frequency index and rotation (positions per row, or the row itself);
 * token = p.tokens, past the last row, for an invocation beyond them.
 */
fn rotationAt(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> Rotation {
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (idx >= p.tokens * p.half) {
    return Rotation(p.tokens, 0u, 1.0, 0.0);
  }
  let token = idx / p.half;
  let i = idx % p.half;
  var pos = i32(token);
  if (USE_POSITIONS) {
    pos = positions[token];
  }
  let cs = ropeCosSin(p.positionOffset + pos, invFreq[i], p.zero, p.direction);
  return Rotation(token, i, cs.x, cs.y);
}

@compute @workgroup_size(WG)
fn gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let r = rotationAt(wid, nwg, lid);
  if (r.token >= p.tokens) {
    return;
  }
  let dim = 2u * p.half;
  let row = r.token * p.width + r.i;
  for (var h = 0u; h < p.qHeads; h++) {
    let f = row + h * dim;
    let e = (r.token * p.qHeads + h) * dim + r.i;
    let o = rotatePair(fused[f], fused[f + p.half], r);
    q[e] = o.x;
    q[e + p.half] = o.y;
  }
  let kAt = row + p.qHeads * dim;
  let vAt = kAt + p.kvHeads * dim;
  for (var h = 0u; h < p.kvHeads; h++) {
    let e = (r.token * p.kvHeads + h) * dim + r.i;
    let o = rotatePair(fused[kAt + h * dim], fused[kAt + h * dim + p.half], r);
    k[e] = o.x;
    k[e + p.half] = o.y;
    v[e] = fused[vAt + h * dim];
    v[e + p.half] = fused[vAt + h * dim + p.half];
  }
}

@compute @workgroup_size(WG)
fn rotate_back(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let r = rotationAt(wid, nwg, lid);
  if (r.token >= p.tokens) {
    return;
  }
  // q's heads then k's: one run of (Hq + Hkv) heads from the row's start.
  let row = r.token * p.width + r.i;
  for (var h = 0u; h < p.qHeads + p.kvHeads; h++) {
    let f = row + h * 2u * p.half;
    let o = rotatePair(fused[f], fused[f + p.half], r);
    fused[f] = o.x;
    fused[f + p.half] = o.y;
  }
}
