// Matmul for decode, B access: B is a Linear weight stored (n, k) (TRANS_B; the dispatcher sends nothing
// else to the gemv kernels), f32 or (B_F16) f16 packed two per u32 (element 2i in the low half of word i),
// read along its rows eight values at a time: one vec4<u32> of f16 pairs, or two vec4<f32>.
// Joined with matmul_common.wgsl and one gemv kernel file (matmul_gemv.wgsl, matmul_gemv_splitk.wgsl).
//
// Bindings: 2 b (u32 words), 3 b4 (the same buffer as vec4<u32>; f32 values are bitcast, so no load ever
// goes through a float register that could alter a NaN's bits).
// Caller guarantee for B_FAST (checked by the dispatcher): every row of every batch item starts on a
// 16-byte boundary: B's offset, ldb and batch strides are multiples of 8 (f16) or 4 (f32) elements.

@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read> b4: array<vec4<u32>>;

/** Element e of B (an element index, also for f16). */
fn b_at(e: u32) -> f32 {
  if (B_F16) {
    let h = unpack2x16float(b[e >> 1u]);
    return select(h.x, h.y, (e & 1u) == 1u);
  }
  return bitcast<f32>(b[e]);
}

/** Eight consecutive values of a B row: lo = elements 0..3, hi = elements 4..7. */
struct Oct {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

/** Where the row starting at element e starts in b4 (B_FAST: e is a multiple of 8 (f16) or 4 (f32)). */
fn b_row4(e: u32) -> u32 {
  return e >> select(2u, 3u, B_F16);
}

/** Elements 8q..8q+7 of the row that starts at b4 index v. */
fn b_oct(v: u32, q: u32) -> Oct {
  if (B_F16) {
    let w = b4[v + q];
    return Oct(vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)), vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w)));
  }
  let i = v + 2u * q;
  return Oct(bitcast<vec4<f32>>(b4[i]), bitcast<vec4<f32>>(b4[i + 1u]));
}
