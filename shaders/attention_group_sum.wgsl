// Attention backward, last step for grouped-query heads (G = Hq / Hkv > 1): sums the per-query-head partials
// of dk (or dv) over each kv head's group, in head order (deterministic, no atomics):
//   out[b, j, hk, d] = sum_(g < G) part[b, j, hk * G + g, d]
// part: contiguous (B, Tk, Hq, D); out: (B, Tk, Hkv, D) through the dk_* fields of the shared Params block
// (the dispatcher packs dv's layout there for the dv pass).
//
// Bindings: 0 part (read), 1 out (write), 2 params (uniform).
// Dispatch: grid1d(ceil(B * Tk * Hkv * D / WG)) workgroups of WG; one invocation per output element.
// Caller guarantees: HD = D; out aliases nothing else bound.

override HD: u32 = 64u;
override WG: u32 = 64u;

// Params (the layout every attention kernel shares) comes from attention_params.wgsl.

@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn attention_group_sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (idx >= p.batch * p.tk * p.hkv * HD) { return; }
  let d = idx % HD;
  let hk = (idx / HD) % p.hkv;
  let bj = idx / (HD * p.hkv);  // b * Tk + j
  let group = p.hq / p.hkv;
  let src = (bj * p.hq + hk * group) * HD + d;
  var s = 0.0;
  for (var g = 0u; g < group; g++) { s += part[src + g * HD]; }
  let j = bj % p.tk;
  let b = bj / p.tk;
  out[p.dk_off + b * p.dk_batch + j * p.dk_row + hk * HD + d] = s;
}
