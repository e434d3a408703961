// Cross-entropy backward on one vocabulary chunk, in place, with s = params.logitScale (1 / the logit
// temperature, as the stats kernel read the logits):
//   grad[i, j] = scale * s * (softmax(s logits[i])[v0 + j] - [v0 + j == target_i]),  0 for ignored rows,
// where softmax = exp((s logit - m) - log(sum)) from the lse (m, log(sum)) the forward saved. s = 1 leaves
// every value bit-for-bit as without it.
// scale = params.scale, times result[3] (1 / trained rows, from cross_entropy_finalize.wgsl) when
// params.perTrainedRow = 1: the mean's gradient without the CPU knowing how many rows are trained; or, when
// params.perRow = 1, rowScale[row]: each row's own d loss / d row loss, as an objective computed it on the
// GPU (e.g. shaders/preference_grad.wgsl).
//
// grad: on entry the logits chunk (N, Vc) holding columns [v0, v0 + Vc); on exit dlogits. In place, so the
//   chunk needs no second buffer.
// Bindings: 0 targets i32 (N) (read), 1 lse (N) vec2 (read), 2 result (4 f32) (read), 3 rowScale (N) f32
//           (read; any buffer when perRow = 0), 4 grad (read_write), 5 params (uniform).
// Dispatch: grid1d(ceil(N * Vc / WG)); one invocation per element.

override WG: u32 = 256u;

struct Params {
  count: u32, // N * Vc
  cols: u32,
  v0: u32,
  scale: f32,
  perTrainedRow: u32,
  perRow: u32,
  logitScale: f32,
}

@group(0) @binding(0) var<storage, read> targets: array<i32>;
@group(0) @binding(1) var<storage, read> lse: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> result: array<f32>;
@group(0) @binding(3) var<storage, read> rowScale: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.count) { return; }
  let row = i / p.cols;
  let col = i - row * p.cols;
  let t = targets[row];
  if (t < 0) {
    grad[i] = 0.0;
    return;
  }
  let r = lse[row];
  var g = exp((grad[i] * p.logitScale - r.x) - r.y);
  if (u32(t) == p.v0 + col) {
    g -= 1.0;
  }
  var scale = p.scale;
  if (p.perTrainedRow == 1u) {
    scale *= result[3];
  }
  if (p.perRow == 1u) {
    scale = rowScale[row];
  }
  grad[i] = (scale * p.logitScale) * g;
}
