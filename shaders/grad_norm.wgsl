// Global gradient norm and clip coefficient, the final step after reduce.wgsl's sum_chunks (SQUARE) has
// written per-chunk partial sums of g^2 of every gradient buffer into consecutive slots of `partials`
// (buffer by buffer, in a fixed order). One workgroup:
//   total = sqrt(sum(partials[0 .. count)))
//   coef  = max_norm > 0 ? min(max_norm / (total + 1e-6), 1) : 1     (torch clip_grad_norm_ semantics;
//           evaluated as reciprocal(total + 1e-6) * max_norm, the order torch's f32 tensor math uses)
//   result[result_offset] = total; result[result_offset + 1] = coef
// The coefficient stays on the GPU for adamw.wgsl to read; the norm is there for logging readbacks.
// A non-finite total gives coef = 1 (the comparison below is false); the logged norm shows it.
//
// Order: invocation t adds partials t, t + WG, ... in sequence, then a halving tree in workgroup memory.
//
// Bindings: 0 partials (read), 1 result (write), 2 params (uniform).
// Dispatch: exactly one workgroup (1, 1, 1).
// Caller guarantees: WG is a power of two; count >= 1; result holds result_offset + 2 floats.

override WG: u32 = 256u;

struct Params {
  count: u32,
  result_offset: u32,
  max_norm: f32,
}

@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> result: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> scratch: array<f32, WG>;

@compute @workgroup_size(WG)
fn grad_norm_finalize(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.count; i += WG) { acc += partials[i]; }
  scratch[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) { scratch[lid] += scratch[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let total = sqrt(scratch[0]);
    var coef = 1.0;
    if (p.max_norm > 0.0) {
      let c = (1.0 / (total + 1e-6)) * p.max_norm;
      if (c < 1.0) { coef = c; }
    }
    result[p.result_offset] = total;
    result[p.result_offset + 1u] = coef;
  }
}
