// Matmul, classic workgroup-memory tiling for real GPUs: a 16x16 workgroup computes a 64x64 block of out,
// each invocation a 4x4 sub-block. Per k tile of SH_TK, the workgroup copies the 64 x SH_TK slices of A
// and B into workgroup memory (element loads, coalesced along each operand's contiguous dimension), then
// every invocation reads vec4s of both from there. Barriers make it slow on SwiftShader (use reg8x8 or
// quad16x8 there). Joined with matmul_common.wgsl and one B-access file: matmul_b32.wgsl (f32 or packed
// f16 B) or matmul_f16.wgsl (native f16 B); see matmul_common.wgsl for bindings and flags.
//
// Dispatch: workgroups (ceil(m / 64), ceil(n / 64), batch) of 16 x 16 invocations.
// Every load is guarded (rows, columns and k past the ends), so any alignment and any k work.

/** Depth of the k tile (a multiple of 4); the tiles take 2 * 64 * SH_TK * 4 bytes of workgroup memory. */
override SH_TK: u32 = 16u;

/** tile_a[kk * 16 + i / 4][i % 4] = op(A)(tile row i, k0 + kk); tile_b likewise over columns. */
var<workgroup> tile_a: array<vec4<f32>, 16u * SH_TK>;
var<workgroup> tile_b: array<vec4<f32>, 16u * SH_TK>;

@compute @workgroup_size(16, 16)
fn shared64(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) tid: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let row_tile = wid.x * 64u;
  let col_tile = wid.y * 64u;
  let z = wid.z;
  let ba = base_a(z);
  let bb = base_b(z);
  // tid.x runs along n and tid.y along m, so neighbouring invocations write neighbouring columns of out.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < p.k; k0 += SH_TK) {
    for (var s = 0u; s < SH_TK / 4u; s++) {
      let e = lid + s * 256u;
      // Walk each operand along its contiguous dimension so neighbouring invocations read neighbouring words.
      let ai = select(e / SH_TK, e % 64u, TRANS_A);
      let ak = select(e % SH_TK, e / 64u, TRANS_A);
      tile_a[ak * 16u + ai / 4u][ai % 4u] = a_guarded(ba, row_tile + ai, k0 + ak);
      let bj = select(e % 64u, e / SH_TK, TRANS_B);
      let bk = select(e / 64u, e % SH_TK, TRANS_B);
      tile_b[bk * 16u + bj / 4u][bj % 4u] = b_guarded(bb, k0 + bk, col_tile + bj);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < SH_TK; kk++) {
      let av = tile_a[kk * 16u + tid.y];
      let bv = tile_b[kk * 16u + tid.x];
      acc0 += av.x * bv;
      acc1 += av.y * bv;
      acc2 += av.z * bv;
      acc3 += av.w * bv;
    }
    workgroupBarrier();
  }
  let row = row_tile + tid.y * 4u;
  let col = col_tile + tid.x * 4u;
  // store_block takes m[j][i] = out(row + i, col + j); acc_i holds row i.
  store_block(z, row, col, transpose(mat4x4<f32>(acc0, acc1, acc2, acc3)));
}
