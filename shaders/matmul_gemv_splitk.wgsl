// Matmul for decode on real GPUs (variants gemv_splitk, gemv_splitk_sg): out (m, n) = alpha * A (m, k) @
// B^T (+ bias) (+ out) with m <= 8 and B a Linear weight stored (n, k). A workgroup of 256 invocations
// owns 256 / SPLITK_LANES output columns; the SPLITK_LANES invocations of a column split its k: lane l
// reads octets l, l + LANES, ... of the B row as one 16-byte load each (neighbouring lanes, neighbouring
// bytes: every B byte is read once, in whole coalesced runs), multiplies them by the m rows of A (read
// from global memory, where every column's lanes hit the same cached bytes) and keeps m partial sums.
// The partials then meet in a fixed order: gemv_splitk writes every lane's partials to workgroup memory
// and lane r of each column sums row r's in lane order; gemv_splitk_sg (matmul_gemv_sg.wgsl) first sums
// aligned blocks of lanes inside each subgroup by a shuffle-xor butterfly, so only one partial per block
// goes through workgroup memory. Either way the same inputs give bitwise the same out.
// Joined with matmul_common.wgsl and matmul_gemv_b.wgsl (bindings, flags, B access).
//
// Fast path (A_FAST && B_FAST: rows start on 16 bytes): k in octets, then the k % 8 tail element by
// element across the lanes; otherwise all of k element by element.
//
// Dispatch: workgroups (1, ceil(n / (256 / SPLITK_LANES)), batch) of 256 invocations.

/** The rows of A: m exactly (1..8). */
override GEMV_M: u32 = 1u;
/** Invocations per output column: a power of two from 8 to 256 (lane r < m sums row r at the end). */
override SPLITK_LANES: u32 = 32u;
const SPLITK_WG: u32 = 256u;

/** partials[r * 256 + slot]: row r's partial sums, the slots of each column's lanes (or blocks) in order. */
var<workgroup> partials: array<f32, GEMV_M * 256u>;

/** Rows 0..3 and 4..7 of one column's partial sums. */
struct Rows {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

/** A row r at octet i (vec4 index, A_FAST) dotted with a B octet. */
fn splitk_dot(av: u32, i: u32, o: Oct) -> f32 {
  return dot(a4[av + i], o.lo) + dot(a4[av + i + 1u], o.hi);
}

/** This lane's partial sums of the m rows of column col over its share of k. */
fn splitk_partial(z: u32, col: u32, lane: u32) -> Rows {
  let be = base_b(z) + min(col, p.n - 1u) * p.ldb;
  let ab = base_a(z);
  let ae0 = ab + min(vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.m - 1u)) * p.lda;
  let ae1 = ab + min(vec4<u32>(4u, 5u, 6u, 7u), vec4<u32>(p.m - 1u)) * p.lda;
  var s = Rows(vec4<f32>(0.0), vec4<f32>(0.0));
  var k_done = 0u;
  if (A_FAST && B_FAST) {
    let bv = b_row4(be);
    let av0 = ae0 >> vec4<u32>(2u);
    let av1 = ae1 >> vec4<u32>(2u);
    let octs = p.k >> 3u;
    for (var q = lane; q < octs; q += SPLITK_LANES) {
      let o = b_oct(bv, q);
      let i = 2u * q;
      s.lo.x += splitk_dot(av0.x, i, o);
      if (GEMV_M > 1u) { s.lo.y += splitk_dot(av0.y, i, o); }
      if (GEMV_M > 2u) { s.lo.z += splitk_dot(av0.z, i, o); }
      if (GEMV_M > 3u) { s.lo.w += splitk_dot(av0.w, i, o); }
      if (GEMV_M > 4u) { s.hi.x += splitk_dot(av1.x, i, o); }
      if (GEMV_M > 5u) { s.hi.y += splitk_dot(av1.y, i, o); }
      if (GEMV_M > 6u) { s.hi.z += splitk_dot(av1.z, i, o); }
      if (GEMV_M > 7u) { s.hi.w += splitk_dot(av1.w, i, o); }
    }
    k_done = octs * 8u;
  }
  for (var kk = k_done + lane; kk < p.k; kk += SPLITK_LANES) {
    let bk = b_at(be + kk);
    s.lo += vec4<f32>(a[ae0.x + kk], a[ae0.y + kk], a[ae0.z + kk], a[ae0.w + kk]) * bk;
    if (GEMV_M > 4u) { s.hi += vec4<f32>(a[ae1.x + kk], a[ae1.y + kk], a[ae1.z + kk], a[ae1.w + kk]) * bk; }
  }
  return s;
}

/**
 * Puts a lane's (or its block's) partials in workgroup memory, waits for the workgroup, and has lane r of
 * each column sum row r's slots in order and store it. `block` lanes share one slot (their sum, held by the
 * block's first lane); every invocation must call this (it holds the barrier).
 */
fn splitk_finish(z: u32, col: u32, lane: u32, lid: u32, s: Rows, block: u32) {
  let slots = SPLITK_LANES / block;
  let first = (lid / SPLITK_LANES) * slots;
  if (lane % block == 0u) {
    let slot = first + lane / block;
    partials[slot] = s.lo.x;
    if (GEMV_M > 1u) { partials[256u + slot] = s.lo.y; }
    if (GEMV_M > 2u) { partials[512u + slot] = s.lo.z; }
    if (GEMV_M > 3u) { partials[768u + slot] = s.lo.w; }
    if (GEMV_M > 4u) { partials[1024u + slot] = s.hi.x; }
    if (GEMV_M > 5u) { partials[1280u + slot] = s.hi.y; }
    if (GEMV_M > 6u) { partials[1536u + slot] = s.hi.z; }
    if (GEMV_M > 7u) { partials[1792u + slot] = s.hi.w; }
  }
  workgroupBarrier();
  if (lane < GEMV_M) {
    let row = lane * 256u + first;
    var sum = partials[row];
    for (var i = 1u; i < slots; i++) {
      sum += partials[row + i];
    }
    store(z, lane, col, sum);
  }
}

@compute @workgroup_size(SPLITK_WG)
fn gemv_splitk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % SPLITK_LANES;
  let col = wid.y * (SPLITK_WG / SPLITK_LANES) + lid / SPLITK_LANES;
  splitk_finish(wid.z, col, lane, lid, splitk_partial(wid.z, col, lane), 1u);
}
