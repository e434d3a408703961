// RMSNorm backward with respect to the input. With g = dy * w and r = rstd (saved by the forward):
//   dx = r * (g - x * (r^2 * sum_c(g * x) / C)).
// The weight gradient is a separate kernel (rmsnorm_weight_grad.wgsl): frozen weights need none.
//
// Bindings: 0 dy (N, C) (read), 1 x (N, C) (read), 2 w (read): C f32 words, or C f16 packed two per u32
//           when W_F16, 3 rstd (N) (read), 4 dx (N, C) (write), 5 params (uniform).
// Dispatch: grid1d(ceil(N / (WG / TPR))); TPR invocations share a row as in rmsnorm.wgsl.
// ACCUMULATE: dx += result (e.g. straight into a residual-stream gradient) instead of dx = result.
// The row geometry overrides (WG, TPR, W_F16), weight() and rowSum() come from norm_row.wgsl.
// Caller guarantees: TPR is a power of two that divides WG; dx aliases no other binding.

override ACCUMULATE: bool = false;

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * (WG / TPR) + lid / TPR;
  let lane = lid % TPR;
  let valid = row < p.rows;
  let base = row * p.cols;

  var gx = 0.0;
  if (valid) {
    for (var start = lane; start < p.cols; start += BLOCK * TPR) {
      var block = 0.0;
      for (var c = start; c < min(start + BLOCK * TPR, p.cols); c += TPR) {
        block += dy[base + c] * weight(c) * x[base + c];
      }
      gx += block;
    }
  }
  let total = rowSum(lid, gx);
  if (!valid) {
    return;
  }
  let r = rstd[row];
  let k = r * r * total / f32(p.cols);
  for (var c = lane; c < p.cols; c += TPR) {
    let i = base + c;
    let v = r * (dy[i] * weight(c) - x[i] * k);
    if (ACCUMULATE) {
      dx[i] = dx[i] + v;
    } else {
      dx[i] = v;
    }
  }
}
