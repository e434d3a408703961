// Matmul, shared part: flags, parameters, the A / bias / out bindings, A access and the epilogue.
// Not a module on its own: src/engine/ops/gpu/matmul-kernels.ts joins it with one B-access file
// (matmul_b32.wgsl or matmul_f16.wgsl, which define b_at) and one kernel file (matmul_reg.wgsl,
// matmul_quad.wgsl or matmul_shared.wgsl).
//
// out[z] = alpha * op(A[z]) @ op(B[z]) (+ bias) (+ out[z] when accumulating), out row-major (m, n), for
// batch item z = workgroup_id.z. op(A) is (m, k): A stored (m, k), or (k, m) when TRANS_A; op(B) is
// (k, n): B stored (k, n), or (n, k) when TRANS_B. Element (i, j) of stored X in item z is
// X[base_x(z) + i * ldx + j], with ldx the stored row length (lda, ldb, ldc: any row stride, so a
// product may read or write columns of a wider matrix). Batch items split as z = zo * inner + zi, and
// base_x(z) = offset_x + zo * outer_x + (zi / group_x) * stride_x: e.g. attention's (sequence, head)
// items, where G query heads share one key head (group_b = G).
//
// Bindings: 0 a (f32), 1 a4 (the same A binding seen as vec4), 2 b, 3 b4 (the same B binding seen as
// vec4; declared by matmul_b32.wgsl), 4 bias (f32, n; any read-only binding without the bias flag), 5 out (f32),
// 6 params (uniform). out may alias none of a, b, bias.
//
// Caller guarantees (the dispatcher checks them): A_FAST only when A's offset, batch stride and row length
// are multiples of 4 and every vec4 read lies inside the a4 binding; K_EXACT only when k % 4 == 0.
// Rows and columns past m and n are clamped on load and never stored, and k past its end reads as 0, so
// m, n and k need not be tile multiples. Every out element is computed by one invocation in a fixed order
// (no atomics): the same inputs give bitwise the same out.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
/** B holds f16 values, two per u32 (element 2i in the low half). */
override B_F16: bool = false;
/** A may be read as vec4 along its contiguous dimension (k, or m when TRANS_A). */
override A_FAST: bool = false;
/** B may be read as vec4 (f32) or as u32 pairs (f16) along its contiguous dimension. */
override B_FAST: bool = false;
/** k is a multiple of 4: no guard on the last k block. */
override K_EXACT: bool = true;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  lda: u32,
  ldb: u32,
  stride_a: u32,
  stride_b: u32,
  stride_c: u32,
  offset_a: u32,
  offset_b: u32,
  offset_c: u32,
  alpha: f32,
  ldc: u32,
  inner: u32,
  outer_a: u32,
  outer_b: u32,
  outer_c: u32,
  group_a: u32,
  group_b: u32,
  group_c: u32,
  /** Invocations (reg) or quads (quad) of a workgroup along m: a parameter, so one pipeline serves every split. */
  lanes_m: u32,
  /** Bit 0: add bias[col]; bit 1: add the old out value (accumulate); bit 2: add a residual read through
   * the bias binding, laid out like out (y = x + A B without copying x to y first). Parameters, not constants: they only
   * touch the store, and each constant doubles the pipelines to compile (seconds each on SwiftShader). */
  flags: u32,
  /** Element of bias where column 0's value sits (a layer's biases share one buffer). */
  bias_offset: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

fn base_a(z: u32) -> u32 {
  return p.offset_a + (z / p.inner) * p.outer_a + ((z % p.inner) / p.group_a) * p.stride_a;
}

fn base_b(z: u32) -> u32 {
  return p.offset_b + (z / p.inner) * p.outer_b + ((z % p.inner) / p.group_b) * p.stride_b;
}

fn base_c(z: u32) -> u32 {
  return p.offset_c + (z / p.inner) * p.outer_c + ((z % p.inner) / p.group_c) * p.stride_c;
}

/** op(A)(row, kk) with row clamped into [0, m) and kk >= k read as 0. */
fn a_guarded(base: u32, row: u32, kk: u32) -> f32 {
  let r = min(row, p.m - 1u);
  let kc = min(kk, p.k - 1u);
  let v = a[base + select(r * p.lda + kc, kc * p.lda + r, TRANS_A)];
  return select(0.0, v, kk < p.k);
}

/** op(B)(kk, col) with col clamped into [0, n) and kk >= k read as 0; b_at comes from the B-access file. */
fn b_guarded(base: u32, kk: u32, col: u32) -> f32 {
  let c = min(col, p.n - 1u);
  let kc = min(kk, p.k - 1u);
  let v = b_at(base + select(kc * p.ldb + c, c * p.ldb + kc, TRANS_B));
  return select(0.0, v, kk < p.k);
}

/**
 * Offsets of op(A)(row + i, 0) for i = 0..3, rows clamped into [0, m), computed once per invocation:
 * in elements, or with A_FAST in vec4s (A's offsets are then 4-aligned whenever the rows are inside m; past
 * m they point at clamped garbage that is never stored).
 */
fn a_offsets(base: u32, row: u32) -> vec4<u32> {
  let r = min(vec4<u32>(row, row + 1u, row + 2u, row + 3u), vec4<u32>(p.m - 1u));
  let e = base + select(r * p.lda, r, TRANS_A);
  return select(e, e >> vec4<u32>(2u), A_FAST);
}

/** k index kk clamped to the last column of A / row of B when k is not a multiple of 4. */
fn k_clamp(kk: u32) -> u32 {
  if (K_EXACT) {
    return kk;
  }
  return min(kk, p.k - 1u);
}

/** x where kk < k, else 0 (only ever 0 in the last k block when !K_EXACT). */
fn k_mask(x: vec4<f32>, kk: u32) -> vec4<f32> {
  if (K_EXACT) {
    return x;
  }
  return select(vec4<f32>(0.0), x, kk < p.k);
}

/** op(A)(rows of ao, kk) as a vec4, element by element (ao in elements). */
fn a_col_at(ao: vec4<u32>, kk: u32) -> vec4<f32> {
  let o = ao + k_clamp(kk) * select(1u, p.lda, TRANS_A);
  return k_mask(vec4<f32>(a[o.x], a[o.y], a[o.z], a[o.w]), kk);
}

/**
 * The 4x4 block of op(A) at the rows of ao and k0..k0+3 as m[kk][i] = op(A)(row + i, k0 + kk). With
 * A_FAST the four vec4 reads run along A's contiguous dimension: for (m, k) storage each row's k0..k0+3
 * (K_EXACT holds), for (k, m) storage the four rows of stored rows k0..k0+3.
 */
fn a_block_at(ao: vec4<u32>, k0: u32) -> mat4x4<f32> {
  if (A_FAST) {
    if (TRANS_A) {
      let s = p.lda >> 2u;
      return mat4x4<f32>(k_mask(a4[ao.x + k_clamp(k0) * s], k0), k_mask(a4[ao.x + k_clamp(k0 + 1u) * s], k0 + 1u),
                         k_mask(a4[ao.x + k_clamp(k0 + 2u) * s], k0 + 2u),
                         k_mask(a4[ao.x + k_clamp(k0 + 3u) * s], k0 + 3u));
    }
    let k4 = k0 >> 2u;
    return transpose(mat4x4<f32>(a4[ao.x + k4], a4[ao.y + k4], a4[ao.z + k4], a4[ao.w + k4]));
  }
  return mat4x4<f32>(a_col_at(ao, k0), a_col_at(ao, k0 + 1u), a_col_at(ao, k0 + 2u), a_col_at(ao, k0 + 3u));
}

/**
 * Writes alpha * v (+ bias[bias_offset + col]) (+ the old value) (+ residual: bias[bias_offset + i], the
 * bias binding holding a matrix laid out like out) to out(row, col) of batch item z, if inside (m, n).
 */
fn store(z: u32, row: u32, col: u32, v: f32) {
  if (row >= p.m || col >= p.n) {
    return;
  }
  let i = base_c(z) + row * p.ldc + col;
  var r = p.alpha * v;
  if ((p.flags & 1u) != 0u) {
    r += bias[p.bias_offset + col];
  }
  if ((p.flags & 2u) != 0u) {
    r += out[i];
  }
  if ((p.flags & 4u) != 0u) {
    r += bias[p.bias_offset + i];
  }
  out[i] = r;
}

/** Stores a 4x4 block held as acc[j][i] = out(row + i, col + j). */
fn store_block(z: u32, row: u32, col: u32, acc: mat4x4<f32>) {
  for (var j = 0u; j < 4u; j++) {
    let c = acc[j];
    store(z, row, col + j, c.x);
    store(z, row + 1u, col + j, c.y);
    store(z, row + 2u, col + j, c.z);
    store(z, row + 3u, col + j, c.w);
  }
}
