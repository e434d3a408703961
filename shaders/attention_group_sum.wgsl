// Attention backward, last step for grouped-query heads (G = Hq / Hkv > 1): sums the per-query-head partials
// of dk and dv over each kv head's group, in head order (deterministic, no atomics):
//   dk[b, j, hk, d] = sum_(g < G) part_k[b, j, hk * G + g, d]   (dv likewise from part_v)
// part_k, part_v: contiguous (B, Tk, Hq, D); dk, dv: (B, Tk, Hkv, D) through the dk_* and dv_* fields of the
// shared Params block. Both in one dispatch.
//
// attention_group_sum_pair    bindings: 0 part_k, 1 part_v (read), 2 params (uniform), 3 dk, 4 dv (write).
// attention_group_sum_shared  bindings: 0 part_k, 1 part_v (read), 2 params (uniform), 3 dkv (write): dk and
//   dv in one buffer (e.g. a fused dqkv gradient, which WebGPU will not bind twice as writable).
// Dispatch: grid1d(ceil(B * Tk * Hkv * D / WG)) workgroups of WG; one invocation per output element of each.
// Caller guarantees: HD = D; the outputs alias nothing else bound; dk and dv do not overlap.

override HD: u32 = 64u;
override WG: u32 = 64u;

// Params (the layout every attention kernel shares) comes from attention_params.wgsl.

@group(0) @binding(0) var<storage, read> part_k: array<f32>;
@group(0) @binding(1) var<storage, read> part_v: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
// Slot 3 (and 4) differ by entry point; each uses only its own.
@group(0) @binding(3) var<storage, read_write> dk_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> dv_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> dkv_out: array<f32>;

/** The element an invocation owns: (source index of head g = 0 in the partials, dk index, dv index). */
fn element(idx: u32) -> vec3<u32> {
  let d = idx % HD;
  let hk = (idx / HD) % p.hkv;
  let bj = idx / (HD * p.hkv);  // b * Tk + j
  let group = p.hq / p.hkv;
  let j = bj % p.tk;
  let b = bj / p.tk;
  return vec3<u32>(
    (bj * p.hq + hk * group) * HD + d,
    p.dk_off + b * p.dk_batch + j * p.dk_row + hk * HD + d,
    p.dv_off + b * p.dv_batch + j * p.dv_row + hk * HD + d,
  );
}

fn sum_k(src: u32) -> f32 {
  var s = 0.0;
  for (var g = 0u; g < p.hq / p.hkv; g++) { s += part_k[src + g * HD]; }
  return s;
}

fn sum_v(src: u32) -> f32 {
  var s = 0.0;
  for (var g = 0u; g < p.hq / p.hkv; g++) { s += part_v[src + g * HD]; }
  return s;
}

@compute @workgroup_size(WG)
fn attention_group_sum_pair(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (idx >= p.batch * p.tk * p.hkv * HD) { return; }
  let e = element(idx);
  dk_out[e.y] = sum_k(e.x);
  dv_out[e.z] = sum_v(e.x);
}

@compute @workgroup_size(WG)
fn attention_group_sum_shared(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                              @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (idx >= p.batch * p.tk * p.hkv * HD) { return; }
  let e = element(idx);
  dkv_out[e.y] = sum_k(e.x);
  dkv_out[e.z] = sum_v(e.x);
}
