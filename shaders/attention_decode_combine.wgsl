// Decode attention, second pass: merges the per-chunk partials of attention_decode.wgsl exactly,
//   M = max_s m_s,  L = sum_s l_s exp(m_s - M),  out = sum_s acc_s exp(m_s - M) / L,  lse = M + log(L),
// the splits summed in ascending order (bitwise reproducible). One invocation per (b, h, vec4 part c of D);
// part c = 0 also writes lse.
//
// Bindings: 0 partial acc (B, Hq, splits, 4 * HD4) (read), 1 partial (m, l) (B, Hq, splits, 2) (read),
// 2 out (B, 1, Hq, D) through o_off / o_batch (write), 3 lse (B, Hq) contiguous (write), 4 params (uniform).
// Dispatch: grid1d(ceil(B * Hq * HD4 / WG)) workgroups of WG invocations.

override HD: u32 = 64u;  // head dim D
override WG: u32 = 64u;  // invocations per workgroup
override HD4: u32 = (HD + 3u) / 4u;

const NO_MAX: f32 = -3.0e38;

// DecodeParams comes from attention_decode_params.wgsl.

@group(0) @binding(0) var<storage, read> part_acc: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> part_stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;
@group(0) @binding(4) var<uniform> p: DecodeParams;

@compute @workgroup_size(WG)
fn attention_decode_combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
  let inv = (wid.x + wid.y * nwg.x) * WG + lid;
  if (inv >= p.batch * p.hq * HD4) { return; }
  let c = inv % HD4;
  let bh = inv / HD4;  // b * Hq + h
  let first = bh * p.splits;

  var m = NO_MAX;
  for (var s = 0u; s < p.splits; s++) { m = max(m, part_stats[2u * (first + s)]); }
  var l = 0.0;
  var acc = vec4<f32>(0.0);
  for (var s = 0u; s < p.splits; s++) {
    let w = exp(part_stats[2u * (first + s)] - m);
    l += part_stats[2u * (first + s) + 1u] * w;
    acc += w * part_acc[(first + s) * HD4 + c];
  }

  let o = acc * (1.0 / l);
  let b = bh / p.hq;
  let h = bh % p.hq;
  let o_base = p.o_off + b * p.o_batch + h * HD;
  let d = 4u * c;
  if (d < HD) { out[o_base + d] = o.x; }
  if (d + 1u < HD) { out[o_base + d + 1u] = o.y; }
  if (d + 2u < HD) { out[o_base + d + 2u] = o.z; }
  if (d + 3u < HD) { out[o_base + d + 3u] = o.w; }
  if (c == 0u) { lse[bh] = m + log(l); }
}
