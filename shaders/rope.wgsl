// Rotary position embedding in Hugging Face's rotate_half convention (Llama, Qwen2). For head dim D,
// dimension i < D/2 pairs with i + D/2 and both rotate by angle = pos * invFreq[i]:
//   out_i       = x_i cos - x_{i+D/2} sin
//   out_{i+D/2} = x_{i+D/2} cos + x_i sin
// The backward is the same rotation by -angle (p.direction = -1). pos = positionOffset + t, or
// positionOffset + positions[b * T + t] when USE_POSITIONS (packed sequences whose positions restart).
//
// The angle is rounded to f32 exactly as HF forms it (freqs = pos * inv_freq in f32). Its cos and sin are
// computed here, not with the builtins (WGSL only promises 2^-11 absolute error for them, and only on
// [-pi, pi]): Cody-Waite reduction by pi/2 with a four-part constant, exact for |angle| < ~2e5
// (|k| < 2^17), then Taylor polynomials on [-pi/4, pi/4]; about 1e-7 absolute error in cos and sin.
// Beyond 2e5 rad the reduction's own error grows with the angle (but the f32 angle itself is then only
// good to 1/64 rad anyway).
//
// Bindings: 0 x (B, T, H, D) (read), 1 invFreq (D/2) (read), 2 positions (B*T) i32 (read; any buffer
//           when !USE_POSITIONS), 3 out (B, T, H, D) (write), 4 params (uniform); entry point `pair` also
//           5 x2 (B, T, H2, D) (read) and 6 out2 (write): q and k of a layer in one dispatch.
// Dispatch: grid1d(ceil(B * T * D/2 / WG)); one invocation per (token, i), looping over the H (and H2)
//           heads so the angle is computed once per token and frequency.
// Caller guarantees: D is even; out does not alias x nor out2 x2; positions (if used) hold B*T values.

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
  // Heads of x2 / out2 (entry point `pair` only).
  heads2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> invFreq: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<storage, read> x2: array<f32>;
@group(0) @binding(6) var<storage, read_write> out2: array<f32>;

// pi/2 = PIO2_A + PIO2_B + PIO2_C + PIO2_D. A, B and C have at most 7 significant bits, so k * A, k * B and
// k * C are exact for |k| < 2^17 and the first three subtractions lose nothing (each result is a multiple
// of the finer operand's grain and small enough to fit in 24 bits); only k * D and the last subtraction
// round, leaving ~3e-8 absolute error in the reduced angle for |angle| < 2^17 * pi/2 ~ 205,000 rad.
const PIO2_A: f32 = 1.5625;
const PIO2_B: f32 = 0.0081787109375;
const PIO2_C: f32 = 0.00011730194091796875;
const PIO2_D: f32 = 3.139164786504813e-7;
const TWO_OVER_PI: f32 = 0.63661977236758134;

// (cos a, sin a) for |a| <= ~pi/4 + 1e-6; Taylor series to the a^10 / a^11 term (truncation < 2e-10).
fn cosSinSmall(a: f32) -> vec2<f32> {
  let a2 = a * a;
  let s = a + a * a2 * (-1.0 / 6.0 + a2 * (1.0 / 120.0 + a2 * (-1.0 / 5040.0 + a2 * (1.0 / 362880.0
    + a2 * (-1.0 / 39916800.0)))));
  let c = 1.0 + a2 * (-0.5 + a2 * (1.0 / 24.0 + a2 * (-1.0 / 720.0 + a2 * (1.0 / 40320.0
    + a2 * (-1.0 / 3628800.0 + a2 * (1.0 / 479001600.0))))));
  return vec2(c, s);
}

// (cos angle, sin angle) with the angle reduced by k * pi/2 and the quadrant k mod 4 applied.
fn cosSin(angle: f32) -> vec2<f32> {
  let k = round(angle * TWO_OVER_PI);
  let r = (((angle - k * PIO2_A) - k * PIO2_B) - k * PIO2_C) - k * PIO2_D;
  let cs = cosSinSmall(r);
  switch (i32(k) & 3) {
    case 0: { return cs; }
    case 1: { return vec2(-cs.y, cs.x); }
    case 2: { return -cs; }
    default: { return vec2(cs.y, -cs.x); }
  }
}

/** (cos, direction * sin) of this invocation's angle, with its token and frequency index. */
struct Rotation {
  token: u32,
  i: u32,
  c: f32,
  s: f32,
}

fn rotation(idx: u32) -> Rotation {
  let token = idx / p.half;
  let i = idx % p.half;
  var pos = i32(token % p.seqLen);
  if (USE_POSITIONS) {
    pos = positions[token];
  }
  let freq = f32(p.positionOffset + pos) * invFreq[i];
  let angle = bitcast<f32>(bitcast<u32>(freq) ^ p.zero);
  let cs = cosSin(angle);
  return Rotation(token, i, cs.x, cs.y * p.direction);
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
    let hi = lo + p.half;
    let a = x[lo];
    let b = x[hi];
    out[lo] = a * r.c - b * r.s;
    out[hi] = b * r.c + a * r.s;
  }
}

@compute @workgroup_size(WG)
fn pair(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (idx >= p.tokens * p.half) {
    return;
  }
  let r = rotation(idx);
  let dim = 2u * p.half;
  for (var h = 0u; h < p.heads; h++) {
    let lo = (r.token * p.heads + h) * dim + r.i;
    let hi = lo + p.half;
    let a = x[lo];
    let b = x[hi];
    out[lo] = a * r.c - b * r.s;
    out[hi] = b * r.c + a * r.s;
  }
  for (var h = 0u; h < p.heads2; h++) {
    let lo = (r.token * p.heads2 + h) * dim + r.i;
    let hi = lo + p.half;
    let a = x2[lo];
    let b = x2[hi];
    out2[lo] = a * r.c - b * r.s;
    out2[hi] = b * r.c + a * r.s;
  }
}
