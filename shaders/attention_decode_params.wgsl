// The parameter block of the decode attention kernels, joined in front of attention_decode.wgsl and
// attention_decode_combine.wgsl by src/engine/ops/gpu/attention-decode.ts (keep in step with packDecodeParams
// there). Not a module on its own. Offsets and strides are in f32 elements, per tensor; Tq = 1, so q and out
// need no row stride.

struct DecodeParams {
  batch: u32, tk: u32, hq: u32, hkv: u32,
  splits: u32, scale: f32,
  q_off: u32, q_batch: u32,
  k_off: u32, k_row: u32, k_batch: u32,
  v_off: u32, v_row: u32, v_batch: u32,
  o_off: u32, o_batch: u32,
}
