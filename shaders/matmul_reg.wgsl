// Matmul, register-tiled kernels without workgroup memory or barriers: each invocation owns an 8x8
// (reg8x8) or 4x4 (reg4x4) block of out and walks k four at a time, holding the block in mat4x4
// accumulators (out block += A block (4x4) * B block (4x4)). Fast on software adapters (SwiftShader runs
// barriers ~10x slower) and portable everywhere; with subgroups, matmul_quad.wgsl is faster still.
// Joined with matmul_common.wgsl and matmul_b32.wgsl (see there for bindings, flags and guarantees).
//
// Dispatch: workgroups (ceil(m / (T * W)), ceil(n / (T * (64 / W))), batch), T = 8 or 4; 64 invocations
// each, W = p.lanes_m of them along m (a divisor of 64), the rest along n.

@compute @workgroup_size(64)
fn reg8x8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = p.lanes_m;
  let row0 = (wid.x * w + lid % w) * 8u;
  let col0 = (wid.y * (64u / w) + lid / w) * 8u;
  let z = wid.z;
  let ao0 = a_offsets(base_a(z), row0);
  let ao1 = a_offsets(base_a(z), row0 + 4u);
  let bo0 = b_offsets(base_b(z), col0);
  let bo1 = b_offsets(base_b(z), col0 + 4u);
  var c00 = mat4x4<f32>();
  var c01 = mat4x4<f32>();
  var c10 = mat4x4<f32>();
  var c11 = mat4x4<f32>();
  let k_end = (p.k + 3u) & ~3u;
  for (var k0 = 0u; k0 < k_end; k0 += 4u) {
    let a0 = a_block_at(ao0, k0);
    let a1 = a_block_at(ao1, k0);
    let b0 = b_block_at(bo0, k0);
    let b1 = b_block_at(bo1, k0);
    c00 += a0 * b0;
    c01 += a0 * b1;
    c10 += a1 * b0;
    c11 += a1 * b1;
  }
  store_block(z, row0, col0, c00);
  store_block(z, row0, col0 + 4u, c01);
  store_block(z, row0 + 4u, col0, c10);
  store_block(z, row0 + 4u, col0 + 4u, c11);
}

@compute @workgroup_size(64)
fn reg4x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = p.lanes_m;
  let row0 = (wid.x * w + lid % w) * 4u;
  let col0 = (wid.y * (64u / w) + lid / w) * 4u;
  let z = wid.z;
  let ao = a_offsets(base_a(z), row0);
  let bo = b_offsets(base_b(z), col0);
  var c = mat4x4<f32>();
  let k_end = (p.k + 3u) & ~3u;
  for (var k0 = 0u; k0 < k_end; k0 += 4u) {
    c += a_block_at(ao, k0) * b_block_at(bo, k0);
  }
  store_block(z, row0, col0, c);
}
