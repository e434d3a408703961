// Rotary position embedding in Hugging Face's rotate_half convention (Llama, Qwen2). For head dim D,
// dimension i < D/2 pairs with i + D/2 and both rotate by angle = pos * invFreq[i]:
//   out_i       = x_i cos - x_{i+D/2} sin
//   out_{i+D/2} = x_{i+D/2} cos + x_i sin
// The backward is the same rotation by -angle (p.direction = -1). pos = positionOffset + t, or
// positionOffset + positions[b * T + t] when USE_POSITIONS (packed sequences whose positions restart).
//
// The angle is rounded to f32 exactly as HF forms it (freqs = pos * inv_freq in f32); beyond 2e5 rad the
// reduction's own error grows with the angle (but the f32 angle itself is then only good to 1/64 rad).
//
// cos and sin come from rope_angle.wgsl (joined before this file). A layer's q, k and v in one dispatch, read
// from or written to their fused projection: rope_qkv.wgsl.
//
// Bindings: 0 x (B, T, H, D) (read), 1 invFreq (D/2) (read), 2 positions (B*T) i32 (read; any buffer
//           when !USE_POSITIONS), 3 out (B, T, H, D) (write), 4 params (uniform).
// Dispatch: grid1d(ceil(B * T * D/2 / WG)); one invocation per (token, i), looping over the H heads so the
//           angle is computed once per token and frequency.
// Caller guarantees: D is even; out does not alias x; positions (if used) hold B*T values.

override WG: u32 = 64u;
override USE_POSITIONS: bool = false;

struct Params {
  tokens: u32,
  seqLen: u32,
  heads: u32,
  half: u32,
  positionOffset: i32,
  direction: f32,
  // Always 0. XOR-ing it into the angle's bits stops the compiler fusing pos * invFreq into the
  // reduction's subtraction (an FMA would skip the f32 rounding of the angle that HF applies).
  zero: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> invFreq: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn rotation(idx: u32) -> Rotation {
  let token = idx / p.half;
  let i = idx % p.half;
  var pos = i32(token % p.seqLen);
  if (USE_POSITIONS) {
    pos = positions[token];
  }
  let cs = ropeCosSin(p.positionOffset + pos, invFreq[i], p.zero, p.direction);
  return Rotation(token, i, cs.x, cs.y);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (idx >= p.tokens * p.half) {
    return;
  }
  let r = rotation(idx);
  let dim = 2u * p.half;
  for (var h = 0u; h < p.heads; h++) {
    let lo = (r.token * p.heads + h) * dim + r.i;
    let o = rotatePair(x[lo], x[lo + p.half], r);
    out[lo] = o.x;
    out[lo + p.half] = o.y;
  }
}
