// RMSNorm forward in Hugging Face's float32 order (Llama, Qwen2):
//   rstd = inverseSqrt(sum_c(x^2) / C + eps),   y = w * (x * rstd).
// rstd (N) is kept for the backward.
//
// Bindings: 0 x (N, C) f32 (read), 1 w (read): C f32 words, or C f16 packed two per u32 when W_F16,
//           2 y (N, C) (write), 3 rstd (N) (write), 4 params (uniform).
// Dispatch: grid1d(ceil(N / (WG / TPR))). TPR invocations share a row: each sums a stride-TPR slice of it,
//           then a fixed-order tree in workgroup memory combines the TPR partial sums. TPR = 1 gives one
//           invocation per row and no barriers (fast on software adapters).
// The row geometry overrides (WG, TPR, W_F16), weight() and rowSum() come from norm_row.wgsl.
// Caller guarantees: TPR is a power of two that divides WG; y and rstd alias no other binding.

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * (WG / TPR) + lid / TPR;
  let lane = lid % TPR;
  let valid = row < p.rows;
  let base = row * p.cols;

  var ss = 0.0;
  if (valid) {
    for (var start = lane; start < p.cols; start += BLOCK * TPR) {
      var block = 0.0;
      for (var c = start; c < min(start + BLOCK * TPR, p.cols); c += TPR) {
        let v = x[base + c];
        block += v * v;
      }
      ss += block;
    }
  }
  let total = rowSum(lid, ss);
  if (!valid) {
    return;
  }
  let r = inverseSqrt(total / f32(p.cols) + p.eps);
  if (lane == 0u) {
    rstd[row] = r;
  }
  for (var c = lane; c < p.cols; c += TPR) {
    y[base + c] = weight(c) * (x[base + c] * r);
  }
}
