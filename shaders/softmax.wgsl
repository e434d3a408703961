// Row softmax over the last dimension, numerically stable, with a scale (inverse temperature) applied first:
//   forward:  y[r, c] = exp(s * x[r, c] - M_r) / S_r,  M_r = max_c s * x[r, c],  S_r = sum_c exp(s * x[r, c] - M_r)
//   backward: dx[r, c] = s * y[r, c] * (dy[r, c] - sum_c' dy[r, c'] * y[r, c'])      (writes dx, no accumulation)
// x, y, dy, dx are (N, V) row-major f32.
//
// softmax_forward  bindings: 0 x (read), 1 y (write), 2 params (uniform).
// softmax_backward bindings: 0 y (read), 1 dy (read), 2 dx (write), 3 params (uniform).
// Dispatch: grid1d(N) workgroups of WG invocations; one workgroup per row. Each invocation strides over the
// row's columns (c = lid, lid + WG, ...) keeping a running partial, then the workgroup combines the WG
// partials with a fixed-shape tree, so results are bitwise reproducible for a given WG.
// Caller guarantees: WG is a power of two (<= the adapter's invocation limit); inputs are finite; outputs
// alias no input.

override WG: u32 = 256u;

// Smaller than any finite score: the running max of an invocation that has seen no column yet.
const NO_MAX: f32 = -3.0e38;

struct Params {
  rows: u32,
  cols: u32,
  scale: f32,
}

// Entry points bind different resources at the same slots; each uses only its own.
@group(0) @binding(0) var<storage, read> fwd_x: array<f32>;
@group(0) @binding(1) var<storage, read_write> fwd_y: array<f32>;
@group(0) @binding(2) var<uniform> fwd_p: Params;

@group(0) @binding(0) var<storage, read> bwd_y: array<f32>;
@group(0) @binding(1) var<storage, read> bwd_dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> bwd_dx: array<f32>;
@group(0) @binding(3) var<uniform> bwd_p: Params;

var<workgroup> red_max: array<f32, WG>;
var<workgroup> red_sum: array<f32, WG>;

@compute @workgroup_size(WG)
fn softmax_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= fwd_p.rows) { return; }
  let base = row * fwd_p.cols;
  // scale * x - max(scale * x) is computed as a * (u - max u) with u = sign(scale) * x, a = |scale|: the
  // difference of two nearby f32 logits is exact, while scale * x rounded to f32 around 1e4 is not.
  let a = abs(fwd_p.scale);
  let sign = select(1.0, -1.0, fwd_p.scale < 0.0);

  // Online (max, sum): when a larger value arrives the sum so far is rescaled to the new max.
  var m = NO_MAX;
  var s = 0.0;
  for (var c = lid; c < fwd_p.cols; c += WG) {
    let u = sign * fwd_x[base + c];
    if (u > m) {
      s = s * exp(a * (m - u)) + 1.0;
      m = u;
    } else {
      s += exp(a * (u - m));
    }
  }
  red_max[lid] = m;
  red_sum[lid] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half = half / 2u) {
    if (lid < half) {
      let m1 = red_max[lid];
      let m2 = red_max[lid + half];
      let s1 = red_sum[lid];
      let s2 = red_sum[lid + half];
      let mm = max(m1, m2);
      // An empty partial (sum 0) contributes nothing, whatever its placeholder max.
      let e1 = select(0.0, s1 * exp(a * (m1 - mm)), s1 > 0.0);
      let e2 = select(0.0, s2 * exp(a * (m2 - mm)), s2 > 0.0);
      red_max[lid] = mm;
      red_sum[lid] = e1 + e2;
    }
    workgroupBarrier();
  }
  let row_max = red_max[0];
  let inv_sum = 1.0 / red_sum[0];
  for (var c = lid; c < fwd_p.cols; c += WG) {
    fwd_y[base + c] = exp(a * (sign * fwd_x[base + c] - row_max)) * inv_sum;
  }
}

@compute @workgroup_size(WG)
fn softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= bwd_p.rows) { return; }
  let base = row * bwd_p.cols;

  var dot_part = 0.0;
  for (var c = lid; c < bwd_p.cols; c += WG) {
    dot_part += bwd_dy[base + c] * bwd_y[base + c];
  }
  red_sum[lid] = dot_part;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half = half / 2u) {
    if (lid < half) {
      red_sum[lid] += red_sum[lid + half];
    }
    workgroupBarrier();
  }
  let dot_all = red_sum[0];
  for (var c = lid; c < bwd_p.cols; c += WG) {
    let y = bwd_y[base + c];
    bwd_dx[base + c] = bwd_p.scale * y * (bwd_dy[base + c] - dot_all);
  }
}
