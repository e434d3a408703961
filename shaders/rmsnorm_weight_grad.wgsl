// RMSNorm weight gradient, first pass: per row block, dw_partial[blk, c] = sum over the block's rows of
// dy[n, c] * (x[n, c] * rstd[n]), rows in ascending order. Deterministic, no atomics: the blocks are then
// added in order by norm_grad_sum.wgsl (or, with a single block, this pass writes dw directly).
//
// Bindings: 0 dy (N, C) (read), 1 x (N, C) (read), 2 rstd (N) (read), 3 out (blocks, C) (write),
//           4 params (uniform).
// Dispatch: (ceil(C / WG), blocks, 1) with blocks = ceil(N / rowsPerBlock); one invocation per
//           (column, block), so neighbouring invocations read neighbouring columns.
// ACCUMULATE: out += result instead of out = result (used when out is dw itself).
// Caller guarantees: out aliases no other binding.

override WG: u32 = 64u;
override ACCUMULATE: bool = false;

struct Params {
  rows: u32,
  cols: u32,
  rowsPerBlock: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> rstd: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x * WG + lid;
  if (c >= p.cols) {
    return;
  }
  let block = wid.y;
  let start = block * p.rowsPerBlock;
  let end = min(start + p.rowsPerBlock, p.rows);
  var acc = 0.0;
  for (var n = start; n < end; n++) {
    let i = n * p.cols + c;
    acc += dy[i] * (x[i] * rstd[n]);
  }
  let o = block * p.cols + c;
  if (ACCUMULATE) {
    out[o] = out[o] + acc;
  } else {
    out[o] = acc;
  }
}
