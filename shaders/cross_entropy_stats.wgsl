// Cross-entropy, forward part 1: folds one vocabulary chunk of the logits into per-row online softmax
// statistics, so the full (N, V) logits never exist at once.
//
// logits: the chunk (N, Vc), row-major, holding vocabulary columns [v0, v0 + Vc); every logit is read times
//   params.logitScale (1 / the logit temperature; 1 leaves it bit-for-bit as it is).
// state (N) vec4: x = running max m, y = running sum of exp(logit - m), z = the target's logit (set by the
//   chunk that holds the target), w = unused. When the max grows, the old sum is rescaled by exp(m_old - m).
//   The first chunk (params.first = 1) overwrites the state, so it needs no initialisation pass.
//
// Bindings: 0 logits (read), 1 targets i32 (N) (read), 2 state (read_write), 3 params (uniform).
// Dispatch: grid1d(N); one workgroup per row. Each invocation scans columns lid, lid + WG, ... keeping its own
//   (max, sum); a fixed-order tree then merges the WG pairs, so results are deterministic.
// Caller guarantees: finite logits; Vc >= 1; a target is negative (ignored) or < V; WG is a power of two.

override WG: u32 = 256u;

// Stands for "no value seen yet": exp(LOWEST - x) is 0 for every finite x, and 0 * that stays 0.
const LOWEST: f32 = -0x1.fffffep+127f; // -FLT_MAX

struct Params {
  rows: u32,
  cols: u32,
  v0: u32,
  first: u32,
  logitScale: f32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> state: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> wgMax: array<f32, WG>;
var<workgroup> wgSum: array<f32, WG>;

@compute @workgroup_size(WG)
fn accumulate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; } // uniform across the workgroup: the barriers below stay valid
  let base = row * p.cols;

  // One exp per element: rescale the sum only when the max grows.
  var m = LOWEST;
  var s = 0.0;
  for (var j = lid; j < p.cols; j += WG) {
    let x = logits[base + j] * p.logitScale;
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  wgMax[lid] = m;
  wgSum[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let m1 = wgMax[lid];
      let m2 = wgMax[lid + stride];
      let mm = max(m1, m2);
      wgSum[lid] = wgSum[lid] * exp(m1 - mm) + wgSum[lid + stride] * exp(m2 - mm);
      wgMax[lid] = mm;
    }
    workgroupBarrier();
  }

  if (lid == 0u) {
    let cm = wgMax[0];
    let cs = wgSum[0];
    var st = vec4<f32>(cm, cs, 0.0, 0.0);
    if (p.first == 0u) {
      let old = state[row];
      let mm = max(old.x, cm);
      st = vec4<f32>(mm, old.y * exp(old.x - mm) + cs * exp(cm - mm), old.z, 0.0);
    }
    let t = targets[row];
    let local = t - i32(p.v0);
    if (t >= 0 && local >= 0 && local < i32(p.cols)) {
      st.z = logits[base + u32(local)] * p.logitScale;
    }
    state[row] = st;
  }
}
