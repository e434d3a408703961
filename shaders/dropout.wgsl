// Counter-based dropout (LoRA dropout): out[i] = x[i] * scale if element i is kept, else 0 (or out[i] += that
// with ACCUMULATE = 1). Whether i is kept is a pure function of the stream key and i, so no RNG state exists
// and the backward recomputes the forward's mask:
//   h = hash(hash(i + key) ^ key), kept = h >= threshold       (hash = lowbias32, u32 arithmetic wraps)
// The CPU reference (src/engine/ops/cpu/dropout.ts) computes the same bits; the key comes from there.
//
// Bindings: 0 x (read), 1 out (read_write), 2 params (uniform).
// Dispatch: grid1d(ceil(n / WG)); one invocation per element. `out` may not alias x.

override WG: u32 = 256u;
override ACCUMULATE: u32 = 0u;

struct Params {
  n: u32,
  key: u32,
  threshold: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

fn lowbias32(v: u32) -> u32 {
  var h = v;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

@compute @workgroup_size(WG)
fn dropout(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  let h = lowbias32(lowbias32(i + p.key) ^ p.key);
  var y = 0.0;
  if (h >= p.threshold) {
    y = x[i] * p.scale;
  }
  if (ACCUMULATE == 1u) {
    out[i] = out[i] + y;
  } else {
    out[i] = y;
  }
}
