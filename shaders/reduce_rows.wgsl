// Deterministic row-wise reductions over the last dimension of x (N, C):
//   out[out_offset + r] = OP over c in [0, C) of x[in_offset + r * C + c],  OP = sum (0), mean (1), max (2).
// Mean is the f32 sum divided by f32(C). Max follows WGSL max(): with NaN inputs the result is
// implementation-defined.
//
// Two entry points, the dispatcher picks by C:
//   row_reduce:        one workgroup per row. Invocation t combines columns t, t + WG, ... in sequence,
//                      then a halving tree over min(WG, C) partials in workgroup memory.
//                      Dispatch: grid1d(N) workgroups.
//   row_reduce_serial: one invocation per row, columns combined left to right; no barriers, for small C.
//                      Dispatch: grid1d(ceil(N / WG)) workgroups.
// Each invocation seeds its accumulator with a real element, so max needs no -inf identity.
//
// Bindings: 0 x (read), 1 out (write), 2 params (uniform).
// Caller guarantees: WG is a power of two; N >= 1, C >= 1; in_offset + N * C and out_offset + N fit the
// bound buffers (and u32); out does not alias x.

override WG: u32 = 256u;
override OP: u32 = 0u;

struct Params {
  rows: u32,
  cols: u32,
  in_offset: u32,
  out_offset: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> scratch: array<f32, WG>;

fn combine(a: f32, b: f32) -> f32 {
  if (OP == 2u) { return max(a, b); }
  return a + b;
}

fn finish(acc: f32) -> f32 {
  if (OP == 1u) { return acc / f32(p.cols); }
  return acc;
}

@compute @workgroup_size(WG)
fn row_reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; } // uniform per workgroup
  let base = p.in_offset + row * p.cols;
  let owners = min(WG, p.cols); // invocations that own at least one column

  var acc = 0.0;
  if (lid < owners) {
    acc = x[base + lid];
    for (var c = lid + WG; c < p.cols; c += WG) { acc = combine(acc, x[base + c]); }
  }
  scratch[lid] = acc;
  workgroupBarrier();
  // scratch[0 .. width) hold real partials; width <= 2 s holds before every halving step.
  var width = owners;
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s && lid + s < width) { scratch[lid] = combine(scratch[lid], scratch[lid + s]); }
    width = min(width, s);
    workgroupBarrier();
  }
  if (lid == 0u) { out[p.out_offset + row] = finish(scratch[0]); }
}

@compute @workgroup_size(WG)
fn row_reduce_serial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * WG + lid;
  if (row >= p.rows) { return; }
  let base = p.in_offset + row * p.cols;
  var acc = x[base];
  for (var c = 1u; c < p.cols; c++) { acc = combine(acc, x[base + c]); }
  out[p.out_offset + row] = finish(acc);
}
