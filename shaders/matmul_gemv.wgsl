// Matmul for decode on software adapters (variant gemv_cols): out (m, n) = alpha * A (m, k) @ B^T (+ bias)
// (+ out) with m <= 8 and B a Linear weight stored (n, k), as a decode step's products are (m = sequences).
// Each invocation owns four output columns for all m rows and streams their four B rows once, eight k at
// a time, with no workgroup memory, barriers or reduction: on SwiftShader every load is a per-lane gather
// and a barrier costs a context switch, so the cheapest layout keeps each invocation on its own rows.
// Per eight k it reads four B octets and two vec4s of each A row (shared by the four columns), and adds
// acc[r] (the four columns of row r) += a_r * (B block): exactly m rows, none padded.
// Joined with matmul_common.wgsl and matmul_gemv_b.wgsl (bindings, flags, B access).
//
// Fast path (A_FAST && B_FAST: every A and B row starts on 16 bytes): k in octets through vec4 loads,
// then the k % 8 tail element by element. Otherwise the whole k element by element (any offsets and
// strides). Every out element is one invocation's fixed-order sum: bitwise repeatable.
//
// Dispatch: workgroups (1, ceil(n / (4 * GEMV_WG)), batch) of GEMV_WG invocations.

/** The rows of A: m exactly (1..8), so no padded row costs any work. */
override GEMV_M: u32 = 1u;
override GEMV_WG: u32 = 64u;

/** Row r's four columns: acc[r] += x * b, for x the value of A row r at one k and b that k's four B values. */
fn gemv_rows_fma(acc: ptr<function, array<vec4<f32>, 8>>, a0: vec4<u32>, a1: vec4<u32>, kk: u32, bv: vec4<f32>) {
  (*acc)[0] += a[a0.x + kk] * bv;
  if (GEMV_M > 1u) { (*acc)[1] += a[a0.y + kk] * bv; }
  if (GEMV_M > 2u) { (*acc)[2] += a[a0.z + kk] * bv; }
  if (GEMV_M > 3u) { (*acc)[3] += a[a0.w + kk] * bv; }
  if (GEMV_M > 4u) { (*acc)[4] += a[a1.x + kk] * bv; }
  if (GEMV_M > 5u) { (*acc)[5] += a[a1.y + kk] * bv; }
  if (GEMV_M > 6u) { (*acc)[6] += a[a1.z + kk] * bv; }
  if (GEMV_M > 7u) { (*acc)[7] += a[a1.w + kk] * bv; }
}

/**
 * Row r's four columns over one octet: acc[r] += (A row r, k 0..3) * lo + (k 4..7) * hi, where the
 * columns of lo / hi are the four B rows' values (a row vector times a matrix: one dot product per column).
 */
fn gemv_rows_oct(acc: ptr<function, array<vec4<f32>, 8>>, a0: vec4<u32>, a1: vec4<u32>, i: u32, lo: mat4x4<f32>, hi: mat4x4<f32>) {
  (*acc)[0] += a4[a0.x + i] * lo + a4[a0.x + i + 1u] * hi;
  if (GEMV_M > 1u) { (*acc)[1] += a4[a0.y + i] * lo + a4[a0.y + i + 1u] * hi; }
  if (GEMV_M > 2u) { (*acc)[2] += a4[a0.z + i] * lo + a4[a0.z + i + 1u] * hi; }
  if (GEMV_M > 3u) { (*acc)[3] += a4[a0.w + i] * lo + a4[a0.w + i + 1u] * hi; }
  if (GEMV_M > 4u) { (*acc)[4] += a4[a1.x + i] * lo + a4[a1.x + i + 1u] * hi; }
  if (GEMV_M > 5u) { (*acc)[5] += a4[a1.y + i] * lo + a4[a1.y + i + 1u] * hi; }
  if (GEMV_M > 6u) { (*acc)[6] += a4[a1.z + i] * lo + a4[a1.z + i + 1u] * hi; }
  if (GEMV_M > 7u) { (*acc)[7] += a4[a1.w + i] * lo + a4[a1.w + i + 1u] * hi; }
}

/** Stores row `row`'s four columns from col on. */
fn gemv_store4(z: u32, row: u32, col: u32, v: vec4<f32>) {
  store(z, row, col, v.x);
  store(z, row, col + 1u, v.y);
  store(z, row, col + 2u, v.z);
  store(z, row, col + 3u, v.w);
}

@compute @workgroup_size(GEMV_WG)
fn gemv_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let z = wid.z;
  let col = (wid.y * GEMV_WG + lid) * 4u;
  // Columns past n and rows past m are clamped on load (never stored).
  let c = min(vec4<u32>(col, col + 1u, col + 2u, col + 3u), vec4<u32>(p.n - 1u));
  let be = base_b(z) + c * p.ldb;
  let ab = base_a(z);
  let ae0 = ab + min(vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.m - 1u)) * p.lda;
  let ae1 = ab + min(vec4<u32>(4u, 5u, 6u, 7u), vec4<u32>(p.m - 1u)) * p.lda;
  var acc: array<vec4<f32>, 8>;
  var k_done = 0u;
  if (A_FAST && B_FAST) {
    let bv = vec4<u32>(b_row4(be.x), b_row4(be.y), b_row4(be.z), b_row4(be.w));
    let av0 = ae0 >> vec4<u32>(2u);
    let av1 = ae1 >> vec4<u32>(2u);
    let octs = p.k >> 3u;
    for (var q = 0u; q < octs; q++) {
      let o0 = b_oct(bv.x, q);
      let o1 = b_oct(bv.y, q);
      let o2 = b_oct(bv.z, q);
      let o3 = b_oct(bv.w, q);
      gemv_rows_oct(&acc, av0, av1, 2u * q, mat4x4<f32>(o0.lo, o1.lo, o2.lo, o3.lo), mat4x4<f32>(o0.hi, o1.hi, o2.hi, o3.hi));
    }
    k_done = octs * 8u;
  }
  for (var kk = k_done; kk < p.k; kk++) {
    gemv_rows_fma(&acc, ae0, ae1, kk, vec4<f32>(b_at(be.x + kk), b_at(be.y + kk), b_at(be.z + kk), b_at(be.w + kk)));
  }
  gemv_store4(z, 0u, col, acc[0]);
  if (GEMV_M > 1u) { gemv_store4(z, 1u, col, acc[1]); }
  if (GEMV_M > 2u) { gemv_store4(z, 2u, col, acc[2]); }
  if (GEMV_M > 3u) { gemv_store4(z, 3u, col, acc[3]); }
  if (GEMV_M > 4u) { gemv_store4(z, 4u, col, acc[4]); }
  if (GEMV_M > 5u) { gemv_store4(z, 5u, col, acc[5]); }
  if (GEMV_M > 6u) { gemv_store4(z, 6u, col, acc[6]); }
  if (GEMV_M > 7u) { gemv_store4(z, 7u, col, acc[7]); }
}
