// Matmul, B access with native f16 (needs the `shader-f16` feature): the packed f16 B buffer (element 2i in
// the low half of word i) is bound as array<f16>, which is the same bytes, so each element is one f16 load
// at its element index whatever its alignment. Products and sums stay f32, as in every other variant.
// Joined in front of matmul_common.wgsl and matmul_shared.wgsl (the `enable` must come first).
//
// Bindings: 2 b (f16). Binding 3 is part of the layout but unused here.

enable f16;

@group(0) @binding(2) var<storage, read> b: array<f16>;

/** Element e of B. */
fn b_at(e: u32) -> f32 {
  return f32(b[e]);
}
