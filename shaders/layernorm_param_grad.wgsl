// LayerNorm weight and bias gradients, first pass: per row block, with xhat = (x - mean) * rstd,
//   dw_partial[blk, c] = sum over the block's rows of dy[n, c] * xhat[n, c],
//   db_partial[blk, c] = sum over the block's rows of dy[n, c],
// rows in ascending order. Deterministic, no atomics: the blocks are then added in order by
// norm_grad_sum.wgsl (or, with a single block, this pass writes dw and db directly).
//
// Bindings: 0 dy (N, C) (read), 1 x (N, C) (read), 2 mean (N) (read), 3 rstd (N) (read),
//           4 dwOut (blocks, C) (write), 5 dbOut (blocks, C) (write), 6 params (uniform).
// Dispatch: (ceil(C / WG), blocks, 1) with blocks = ceil(N / rowsPerBlock); one invocation per
//           (column, block), so neighbouring invocations read neighbouring columns.
// ACCUMULATE: outputs += result instead of = result (used when they are dw and db themselves).
// Caller guarantees: dwOut and dbOut are distinct and alias no other binding.

override WG: u32 = 64u;
override ACCUMULATE: bool = false;

struct Params {
  rows: u32,
  cols: u32,
  rowsPerBlock: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dwOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbOut: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x * WG + lid;
  if (c >= p.cols) {
    return;
  }
  let block = wid.y;
  let start = block * p.rowsPerBlock;
  let end = min(start + p.rowsPerBlock, p.rows);
  var dw = 0.0;
  var db = 0.0;
  for (var n = start; n < end; n++) {
    let i = n * p.cols + c;
    let g = dy[i];
    dw += g * ((x[i] - mean[n]) * rstd[n]);
    db += g;
  }
  let o = block * p.cols + c;
  if (ACCUMULATE) {
    dwOut[o] = dwOut[o] + dw;
    dbOut[o] = dbOut[o] + db;
  } else {
    dwOut[o] = dw;
    dbOut[o] = db;
  }
}
