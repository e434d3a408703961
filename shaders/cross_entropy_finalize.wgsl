// Cross-entropy, forward part 2: per-row loss and logsumexp from the chunk statistics, and the mean loss
// over trained rows in one deterministic reduction.
//
// state (N) vec4 from cross_entropy_stats.wgsl: (max m, sum of exp(logit - m), target logit, unused).
// lse (N) vec2: (m, log(sum)); logsumexp = m + log(sum). Kept split so the backward can form
//   (logit - m) - log(sum), which stays exact for large logits where m + log(sum) would round.
// rowLoss (N): (m - target logit) + log(sum) for trained rows, 0 for ignored rows (negative target).
// result (4 f32): [0] mean loss over trained rows (0 when there are none, never NaN), [1] sum of row losses,
//   [2] number of trained rows (exact up to 2^24), [3] 1 / that number (0 when there are none).
//
// Bindings: 0 state (read), 1 targets i32 (N) (read), 2 lse (read_write), 3 rowLoss (read_write),
//           4 result (read_write), 5 params (uniform).
// Dispatch: (1, 1, 1): one workgroup; invocation lid handles rows lid, lid + WG, ... in order, then a
//   fixed-order tree sums the partial sums and counts. WG is a power of two. N >= 1.

override WG: u32 = 256u;

struct Params {
  rows: u32,
}

@group(0) @binding(0) var<storage, read> state: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> lse: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(4) var<storage, read_write> result: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> wgLoss: array<f32, WG>;
var<workgroup> wgCount: array<u32, WG>;

@compute @workgroup_size(WG)
fn finalize(@builtin(local_invocation_index) lid: u32) {
  var sum = 0.0;
  var count = 0u;
  for (var i = lid; i < p.rows; i += WG) {
    let st = state[i];
    let logSum = log(st.y);
    lse[i] = vec2<f32>(st.x, logSum);
    var loss = 0.0;
    if (targets[i] >= 0) {
      loss = (st.x - st.z) + logSum;
      count += 1u;
    }
    rowLoss[i] = loss;
    sum += loss;
  }
  wgLoss[lid] = sum;
  wgCount[lid] = count;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      wgLoss[lid] += wgLoss[lid + stride];
      wgCount[lid] += wgCount[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let total = wgLoss[0];
    let n = wgCount[0];
    let trained = n > 0u;
    result[0] = select(0.0, total / f32(max(n, 1u)), trained);
    result[1] = total;
    result[2] = f32(n);
    result[3] = select(0.0, 1.0 / f32(max(n, 1u)), trained);
  }
}
