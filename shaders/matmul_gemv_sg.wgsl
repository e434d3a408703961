// Matmul for decode, split over k with a subgroup reduction (variant gemv_splitk_sg; needs `subgroups`):
// the kernel of matmul_gemv_splitk.wgsl, whose lanes first sum their partials inside aligned blocks of
// min(subgroup size, SPLITK_LANES) lanes by a shuffle-xor butterfly (a fixed tree: lane i adds lane
// i ^ 1, then i ^ 2, ...; both partners of a step add the same two values, so every lane of a block ends
// with bitwise the same sum). With 32-lane subgroups and 32 lanes per column a column's sum is done in
// registers and its workgroup-memory pass reads one slot.
// The butterfly needs each subgroup to be a run of consecutive invocations (subgroup_invocation_id ==
// local_invocation_index % subgroup_size), as implementations lay out 1-D workgroups; if any subgroup of
// the workgroup is laid out otherwise, the whole workgroup skips it (blocks of one lane: same results as
// gemv_splitk), so correctness never depends on the layout.
// Joined in front of matmul_common.wgsl, matmul_gemv_b.wgsl and matmul_gemv_splitk.wgsl (the `enable`
// must open the module).

enable subgroups;
diagnostic(off, subgroup_uniformity);

/** Set when some subgroup of the workgroup is not a run of consecutive invocations. */
var<workgroup> scattered: atomic<u32>;

@compute @workgroup_size(SPLITK_WG)
fn gemv_splitk_sg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
                  @builtin(subgroup_invocation_id) sgid: u32, @builtin(subgroup_size) sg_size: u32) {
  if (!subgroupAll(sgid == lid % sg_size)) {
    atomicStore(&scattered, 1u);
  }
  let lane = lid % SPLITK_LANES;
  let col = wid.y * (SPLITK_WG / SPLITK_LANES) + lid / SPLITK_LANES;
  var s = splitk_partial(wid.z, col, lane);
  workgroupBarrier();
  // Read after the barrier: every invocation sees every store, so all agree on the block width.
  let block = select(min(sg_size, SPLITK_LANES), 1u, atomicLoad(&scattered) != 0u);
  for (var d = 1u; d < block; d <<= 1u) {
    s.lo += subgroupShuffleXor(s.lo, d);
    s.hi += subgroupShuffleXor(s.hi, d);
  }
  splitk_finish(wid.z, col, lane, lid, s, block);
}
