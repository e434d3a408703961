// Matmul, B access through 32-bit words: B is f32, or (B_F16) f16 packed two per u32 and read with
// unpack2x16float, which is core WGSL. Joined with matmul_common.wgsl and a kernel file.
//
// Bindings: 2 b (u32 words), 3 b4 (the same buffer as vec4<f32>, for f32 B only).
// Caller guarantees for B_FAST (checked by the dispatcher):
//   f32: every vec4 read is 16-byte aligned and inside the b4 binding, n >= 4 when !TRANS_B;
//   f16: every pair of halves read starts at an even element (offset, batch stride and ldb even),
//        n >= 2 when !TRANS_B.

@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read> b4: array<vec4<f32>>;

/** Element e of B (an element index, also for f16). */
fn b_at(e: u32) -> f32 {
  if (B_F16) {
    let h = unpack2x16float(b[e >> 1u]);
    return select(h.x, h.y, (e & 1u) == 1u);
  }
  return bitcast<f32>(b[e]);
}

/**
 * Offsets of op(B)(0, col + j) for j = 0..3, columns clamped into [0, n), computed once per invocation:
 * in elements, or with B_FAST in vec4s (f32) or words (f16). Fast offsets are aligned whenever the
 * columns are inside n; past n they point at clamped garbage that is never stored.
 */
fn b_offsets(base: u32, col: u32) -> vec4<u32> {
  let c = min(vec4<u32>(col, col + 1u, col + 2u, col + 3u), vec4<u32>(p.n - 1u));
  let e = base + select(c, c * p.ldb, TRANS_B);
  if (B_FAST) {
    return e >> vec4<u32>(select(2u, 1u, B_F16));
  }
  return e;
}

/**
 * The 4x4 block of op(B) at k0..k0+3 and the columns of bo as m[j][kk] = op(B)(k0 + kk, col + j).
 * With B_FAST: for (n, k) storage each column's k0..k0+3 is one vec4 (f32) or two words (f16); for (k, n)
 * storage each stored row's four columns are one vec4 (f32, at bo.x) or two words (f16, at bo.x and bo.z).
 */
fn b_block_at(bo: vec4<u32>, k0: u32) -> mat4x4<f32> {
  if (B_FAST) {
    if (TRANS_B) {
      if (B_F16) {
        let w = k0 >> 1u;
        return mat4x4<f32>(b_pairs(bo.x + w, k0), b_pairs(bo.y + w, k0), b_pairs(bo.z + w, k0), b_pairs(bo.w + w, k0));
      }
      let k4 = k0 >> 2u;
      return mat4x4<f32>(b4[bo.x + k4], b4[bo.y + k4], b4[bo.z + k4], b4[bo.w + k4]);
    }
    return transpose(mat4x4<f32>(b_row(bo, k0), b_row(bo, k0 + 1u), b_row(bo, k0 + 2u), b_row(bo, k0 + 3u)));
  }
  return mat4x4<f32>(b_kcol(bo.x, k0), b_kcol(bo.y, k0), b_kcol(bo.z, k0), b_kcol(bo.w, k0));
}

/** f16, (n, k) storage: k0..k0+3 from words w and w + 1 (k is even; when k % 4 == 2 the last block's
 * second word lies past k). */
fn b_pairs(w: u32, k0: u32) -> vec4<f32> {
  let hi = unpack2x16float(b[w + 1u]);
  if (K_EXACT) {
    return vec4<f32>(unpack2x16float(b[w]), hi);
  }
  return vec4<f32>(unpack2x16float(b[w]), select(vec2<f32>(0.0), hi, k0 + 2u < p.k));
}

/** B_FAST with (k, n) storage: the four columns of stored row kk. */
fn b_row(bo: vec4<u32>, kk: u32) -> vec4<f32> {
  let kc = k_clamp(kk);
  if (B_F16) {
    let s = p.ldb >> 1u;
    return k_mask(vec4<f32>(unpack2x16float(b[bo.x + kc * s]), unpack2x16float(b[bo.z + kc * s])), kk);
  }
  return k_mask(b4[bo.x + kc * (p.ldb >> 2u)], kk);
}

/** op(B)(k0..k0+3, column at element offset o), element by element. */
fn b_kcol(o: u32, k0: u32) -> vec4<f32> {
  let s = select(p.ldb, 1u, TRANS_B);
  let v = vec4<f32>(b_at(o + k_clamp(k0) * s), b_at(o + k_clamp(k0 + 1u) * s), b_at(o + k_clamp(k0 + 2u) * s),
                    b_at(o + k_clamp(k0 + 3u) * s));
  if (K_EXACT) {
    return v;
  }
  return select(vec4<f32>(0.0), v, vec4<u32>(k0, k0 + 1u, k0 + 2u, k0 + 3u) < vec4<u32>(p.k));
}
