// Matmul, register-tiled with quad sharing (needs the `subgroups` feature); the fastest variant on
// SwiftShader. Each invocation owns a 16x8 block of out (16 rows, 8 columns: eight mat4x4 accumulators,
// out block += A block (4x4) * B block (4x4) per k block of 4). The four invocations of a quad own the same
// 16 rows and four neighbouring 8-column strips, so each k block of their A rows is read once per quad and
// handed around with quadBroadcast: invocation q reads a quarter of it (row q of each 4-row block as a
// vec4 along k, or column k0 + q of the 16 rows). That quarters the A loads, which dominate on software
// adapters (SwiftShader turns every per-invocation load into a gather), without workgroup memory or
// barriers. Each invocation reads its own B columns (as vec4 / f16 pairs when aligned).
// Joined with matmul_common.wgsl and matmul_b32.wgsl (see there for bindings, flags and guarantees).
//
// Quads are taken to be invocations 4j..4j+3 in quad order (subgroup_invocation_id % 4 == lid % 4), as
// implementations lay out 1-D workgroups; a subgroup where that does not hold runs a second copy of the
// loop that reads A per invocation (same results, no sharing), so correctness never depends on it.
// (A branch inside the loop instead would cost both sides on SwiftShader, which runs both.)
//
// Dispatch: workgroups (ceil(m / (16 * Q)), ceil(n / (32 * (16 / Q))), batch), 64 invocations (16 quads)
// each, Q = p.lanes_m quads along m (a divisor of 16), the rest along n. Every quad, also past m or n, runs
// the whole k loop, so the quad operations are in uniform control flow.

enable subgroups;
diagnostic(off, subgroup_uniformity);

/**
 * The A block at the rows of ao and k0..k0+3 (as a_block_at), each element read once per quad and handed
 * to the whole quad by quadBroadcast. With A_FAST and (m, k) storage, invocation q reads row q of the
 * block as one vec4 over k0..k0+3 (own = ao[q]); otherwise it reads column k0 + q of the four rows (one
 * vec4 along m with A_FAST and (k, m) storage, else element by element).
 */
fn a_block_quad(ao: vec4<u32>, own: u32, k0: u32, q: u32) -> mat4x4<f32> {
  if (A_FAST && !TRANS_A) {
    let y = a4[own + (k0 >> 2u)];
    return transpose(mat4x4<f32>(quadBroadcast(y, 0u), quadBroadcast(y, 1u), quadBroadcast(y, 2u), quadBroadcast(y, 3u)));
  }
  var x: vec4<f32>;
  if (A_FAST) {
    x = k_mask(a4[ao.x + k_clamp(k0 + q) * (p.lda >> 2u)], k0 + q);
  } else {
    x = a_col_at(ao, k0 + q);
  }
  return mat4x4<f32>(quadBroadcast(x, 0u), quadBroadcast(x, 1u), quadBroadcast(x, 2u), quadBroadcast(x, 3u));
}

@compute @workgroup_size(64)
fn quad16x8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
            @builtin(subgroup_invocation_id) sgid: u32) {
  let q = lid & 3u;
  let quad = lid >> 2u;
  let qm = p.lanes_m;
  let row0 = (wid.x * qm + quad % qm) * 16u;
  let col0 = ((wid.y * (16u / qm) + quad / qm) * 4u + q) * 8u;
  let z = wid.z;
  let ao0 = a_offsets(base_a(z), row0);
  let ao1 = a_offsets(base_a(z), row0 + 4u);
  let ao2 = a_offsets(base_a(z), row0 + 8u);
  let ao3 = a_offsets(base_a(z), row0 + 12u);
  // This invocation's own row of each 4-row block (used when A_FAST reads rows as vec4s along k).
  let own = vec4<u32>(ao0[q], ao1[q], ao2[q], ao3[q]);
  let bo0 = b_offsets(base_b(z), col0);
  let bo1 = b_offsets(base_b(z), col0 + 4u);
  var c00 = mat4x4<f32>();
  var c01 = mat4x4<f32>();
  var c10 = mat4x4<f32>();
  var c11 = mat4x4<f32>();
  var c20 = mat4x4<f32>();
  var c21 = mat4x4<f32>();
  var c30 = mat4x4<f32>();
  var c31 = mat4x4<f32>();
  let k_end = (p.k + 3u) & ~3u;
  // Two copies of the loop rather than a branch inside it (see the header).
  if (subgroupAll((sgid & 3u) == q && quadBroadcast(lid, 0u) == lid - q)) {
    for (var k0 = 0u; k0 < k_end; k0 += 4u) {
      let b0 = b_block_at(bo0, k0);
      let b1 = b_block_at(bo1, k0);
      let a0 = a_block_quad(ao0, own[0], k0, q);
      c00 += a0 * b0;
      c01 += a0 * b1;
      let a1 = a_block_quad(ao1, own[1], k0, q);
      c10 += a1 * b0;
      c11 += a1 * b1;
      let a2 = a_block_quad(ao2, own[2], k0, q);
      c20 += a2 * b0;
      c21 += a2 * b1;
      let a3 = a_block_quad(ao3, own[3], k0, q);
      c30 += a3 * b0;
      c31 += a3 * b1;
    }
  } else {
    for (var k0 = 0u; k0 < k_end; k0 += 4u) {
      let b0 = b_block_at(bo0, k0);
      let b1 = b_block_at(bo1, k0);
      let a0 = a_block_at(ao0, k0);
      c00 += a0 * b0;
      c01 += a0 * b1;
      let a1 = a_block_at(ao1, k0);
      c10 += a1 * b0;
      c11 += a1 * b1;
      let a2 = a_block_at(ao2, k0);
      c20 += a2 * b0;
      c21 += a2 * b1;
      let a3 = a_block_at(ao3, k0);
      c30 += a3 * b0;
      c31 += a3 * b1;
    }
  }
  store_block(z, row0, col0, c00);
  store_block(z, row0, col0 + 4u, c01);
  store_block(z, row0 + 4u, col0, c10);
  store_block(z, row0 + 4u, col0 + 4u, c11);
  store_block(z, row0 + 8u, col0, c20);
  store_block(z, row0 + 8u, col0 + 4u, c21);
  store_block(z, row0 + 12u, col0, c30);
  store_block(z, row0 + 12u, col0 + 4u, c31);
}
