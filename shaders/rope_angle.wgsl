// Shared part of rope.wgsl and rope_qkv.wgsl: cos and sin of an f32 angle, to about 1e-7 (the builtins
// only promise 2^-11, and only on [-pi, pi]). Cody-Waite reduction by pi/2 with a four-part constant, exact
// for |angle| < ~2e5 (|k| < 2^17), then Taylor polynomials on [-pi/4, pi/4].

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

/** (cos, direction * sin) of the angle pos * inv rounded to f32 as HF forms it (zero: always 0, see rope.wgsl). */
fn ropeCosSin(pos: i32, inv: f32, zero: u32, direction: f32) -> vec2<f32> {
  let freq = f32(pos) * inv;
  let angle = bitcast<f32>(bitcast<u32>(freq) ^ zero);
  let cs = cosSin(angle);
  return vec2(cs.x, cs.y * direction);
}

/** One invocation's token and frequency index, with the cos and direction * sin of its angle. */
struct Rotation {
  token: u32,
  i: u32,
  c: f32,
  s: f32,
}

/** The pair (a, b) = (x_i, x_{i+D/2}) rotated: (a cos - b sin, b cos + a sin), direction in r.s. */
fn rotatePair(a: f32, b: f32, r: Rotation) -> vec2<f32> {
  return vec2(a * r.c - b * r.s, b * r.c + a * r.s);
}
