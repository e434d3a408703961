// LayerNorm forward (GPT-2), as PyTorch defines it:
//   mean = sum_c(x) / C,   rstd = inverseSqrt(sum_c((x - mean)^2) / C + eps),   y = (x - mean) * rstd * w + b.
// Two passes over the row (mean, then centred squares), so the variance does not cancel. mean (N) and
// rstd (N) are kept for the backward.
//
// Bindings: 0 x (N, C) f32 (read), 1 w (read), 2 b (read): each C f32 words, or C f16 packed two per u32
//           when W_F16, 3 y (N, C) (write), 4 mean (N) (write), 5 rstd (N) (write), 6 params (uniform).
// Dispatch: grid1d(ceil(N / (WG / TPR))). TPR invocations share a row: each sums a stride-TPR slice of it,
//           then a fixed-order tree in workgroup memory combines the TPR partial sums. TPR = 1 gives one
//           invocation per row and no barriers (fast on software adapters).
// The row geometry overrides (WG, TPR, W_F16), weight() and rowSum() come from norm_row.wgsl.
// Caller guarantees: TPR is a power of two that divides WG; y, mean and rstd alias no other binding.

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

fn bias(c: u32) -> f32 {
  if (W_F16) {
    return unpack2x16float(b[c >> 1u])[c & 1u];
  }
  return bitcast<f32>(b[c]);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * (WG / TPR) + lid / TPR;
  let lane = lid % TPR;
  let valid = row < p.rows;
  let base = row * p.cols;
  let cols = f32(p.cols);

  var s = 0.0;
  if (valid) {
    for (var start = lane; start < p.cols; start += BLOCK * TPR) {
      var block = 0.0;
      for (var c = start; c < min(start + BLOCK * TPR, p.cols); c += TPR) {
        block += x[base + c];
      }
      s += block;
    }
  }
  let m = rowSum(lid, s) / cols;

  var v = 0.0;
  if (valid) {
    for (var start = lane; start < p.cols; start += BLOCK * TPR) {
      var block = 0.0;
      for (var c = start; c < min(start + BLOCK * TPR, p.cols); c += TPR) {
        let d = x[base + c] - m;
        block += d * d;
      }
      v += block;
    }
  }
  let total = rowSum(lid, v);
  if (!valid) {
    return;
  }
  let r = inverseSqrt(total / cols + p.eps);
  if (lane == 0u) {
    mean[row] = m;
    rstd[row] = r;
  }
  for (var c = lane; c < p.cols; c += TPR) {
    y[base + c] = (x[base + c] - m) * r * weight(c) + bias(c);
  }
}
