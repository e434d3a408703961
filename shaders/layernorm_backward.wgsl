// LayerNorm backward with respect to the input. With xhat = (x - mean) * rstd and g = dy * w:
//   dx = rstd * (g - sum_c(g) / C - xhat * sum_c(g * xhat) / C).
// The weight and bias gradients are a separate kernel (layernorm_param_grad.wgsl).
//
// Bindings: 0 dy (N, C) (read), 1 x (N, C) (read), 2 w (read): C f32 words, or C f16 packed two per u32
//           when W_F16, 3 mean (N) (read), 4 rstd (N) (read), 5 dx (N, C) (write), 6 params (uniform).
// Dispatch: grid1d(ceil(N / (WG / TPR))); TPR invocations share a row as in layernorm.wgsl. Both row sums
//           travel together as a vec2 through one fixed-order tree.
// ACCUMULATE: dx += result (e.g. straight into a residual-stream gradient) instead of dx = result.
// Caller guarantees: TPR is a power of two that divides WG; dx aliases no other binding.

override WG: u32 = 256u;
override TPR: u32 = 256u;
override W_F16: bool = false;
override ACCUMULATE: bool = false;

// Each invocation adds its slice of the row in blocks of BLOCK elements, then adds the block sums: the
// rounding error grows like BLOCK + C / (BLOCK * TPR) instead of C / TPR (matters for TPR = 1).
const BLOCK: u32 = 16u;

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

var<workgroup> partial: array<vec2<f32>, WG>;

fn weight(c: u32) -> f32 {
  if (W_F16) {
    return unpack2x16float(w[c >> 1u])[c & 1u];
  }
  return bitcast<f32>(w[c]);
}

// Sum of v over the TPR invocations of one row, always combined in the same order.
// Every invocation of the workgroup must call it (it has barriers).
fn rowSum(lid: u32, v: vec2<f32>) -> vec2<f32> {
  if (TPR == 1u) {
    return v;
  }
  let lane = lid % TPR;
  partial[lid] = v;
  workgroupBarrier();
  for (var stride = TPR / 2u; stride > 0u; stride = stride / 2u) {
    if (lane < stride) {
      partial[lid] = partial[lid] + partial[lid + stride];
    }
    workgroupBarrier();
  }
  return partial[lid - lane];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * (WG / TPR) + lid / TPR;
  let lane = lid % TPR;
  let valid = row < p.rows;
  let base = row * p.cols;

  var m = 0.0;
  var r = 0.0;
  var sums = vec2(0.0);
  if (valid) {
    m = mean[row];
    r = rstd[row];
    for (var start = lane; start < p.cols; start += BLOCK * TPR) {
      var block = vec2(0.0);
      for (var c = start; c < min(start + BLOCK * TPR, p.cols); c += TPR) {
        let g = dy[base + c] * weight(c);
        block += vec2(g, g * ((x[base + c] - m) * r));
      }
      sums += block;
    }
  }
  let total = rowSum(lid, sums) / f32(p.cols);
  if (!valid) {
    return;
  }
  for (var c = lane; c < p.cols; c += TPR) {
    let i = base + c;
    let xhat = (x[i] - m) * r;
    let v = r * (dy[i] * weight(c) - total.x - xhat * total.y);
    if (ACCUMULATE) {
      dx[i] = dx[i] + v;
    } else {
      dx[i] = v;
    }
  }
}
