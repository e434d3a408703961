// Deterministic f32 sum (or sum of squares) of a long vector, one pass of a multi-pass tree.
// Each workgroup reduces one chunk of CHUNK = WG * PER_THREAD consecutive elements to one partial:
//   out[out_offset + w] = (sum over i in chunk w of f(x[in_offset + i])) / divisor,  f(x) = x or x^2.
// Order, fixed for a given (WG, PER_THREAD): invocation t adds x[w*CHUNK + k*WG + t] for k = 0, 1, ...
// in sequence (coalesced loads), then the WG per-invocation sums meet in a halving tree in workgroup
// memory. No atomics, so the same input gives bitwise the same output. Callers chain passes
// (n -> ceil(n / CHUNK) partials -> ... -> 1) with divisor = 1 on every pass but the last.
//
// Bindings: 0 x (read), 1 out (write), 2 params (uniform).
// Dispatch: grid1d(ceil(n / CHUNK)) workgroups.
// Caller guarantees: WG is a power of two; n >= 1; in_offset + n and out_offset + #chunks fit the bound
// buffers (and u32); out does not alias x.

override WG: u32 = 256u;
override PER_THREAD: u32 = 32u;
override SQUARE: bool = false;

struct Params {
  n: u32,
  in_offset: u32,
  out_offset: u32,
  divisor: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> scratch: array<f32, WG>;

@compute @workgroup_size(WG)
fn sum_chunks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let chunk = wid.x + wid.y * nwg.x;
  let start = chunk * (WG * PER_THREAD);
  // Spare workgroups of a folded 2-D grid: uniform per workgroup, so leaving before the barriers is fine.
  if (start >= p.n) { return; }

  var acc = 0.0;
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = start + k * WG + lid;
    if (i < p.n) {
      let v = x[p.in_offset + i];
      if (SQUARE) { acc += v * v; } else { acc += v; }
    }
  }
  scratch[lid] = acc;
  workgroupBarrier();
  // Absent elements contributed exact zeros, so the tree needs no bounds.
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) { scratch[lid] += scratch[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    var total = scratch[0];
    if (p.divisor != 1.0) { total = total / p.divisor; }
    out[p.out_offset + chunk] = total;
  }
}
