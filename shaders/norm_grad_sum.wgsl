// Second pass of the norm parameter gradients: out[c] = sum_{b < blocks} partial[b, c], blocks added in
// ascending order so the result is bitwise reproducible (the deterministic replacement for atomics).
//
// Bindings: 0 partial (blocks, C) (read), 1 out (C) (write), 2 params (uniform).
// Dispatch: grid1d(ceil(C / WG)); one invocation per column.
// ACCUMULATE: out += sum instead of out = sum (gradient accumulation across micro-batches).
// Caller guarantees: out does not alias partial.

override WG: u32 = 64u;
override ACCUMULATE: bool = false;

struct Params {
  cols: u32,
  blocks: u32,
}

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let c = (wid.x + wid.y * nwg.x) * WG + lid;
  if (c >= p.cols) {
    return;
  }
  var acc = 0.0;
  for (var b = 0u; b < p.blocks; b++) {
    acc += partial[b * p.cols + c];
  }
  if (ACCUMULATE) {
    out[c] = out[c] + acc;
  } else {
    out[c] = acc;
  }
}
