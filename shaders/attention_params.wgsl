// The parameter block every attention kernel shares, joined in front of each attention_*.wgsl file by
// src/engine/ops/gpu/attention.ts (keep in step with packAttentionParams there). Not a module on its own.
// Offsets, row strides and batch strides are in f32 elements, per tensor.

struct Params {
  batch: u32, tq: u32, tk: u32, hq: u32,
  hkv: u32, causal: u32, scale: f32,
  q_off: u32, q_row: u32, q_batch: u32,
  k_off: u32, k_row: u32, k_batch: u32,
  v_off: u32, v_row: u32, v_batch: u32,
  o_off: u32, o_row: u32, o_batch: u32,
  do_off: u32, do_row: u32, do_batch: u32,
  dq_off: u32, dq_row: u32, dq_batch: u32,
  dk_off: u32, dk_row: u32, dk_batch: u32,
  dv_off: u32, dv_row: u32, dv_batch: u32,
}
