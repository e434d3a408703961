// The preference objectives' gradient, on the GPU between the LM head's forward and backward (one submit per
// step): from each row's loss (-log p of its label) it forms every sequence's summed answer log-probability,
// each pair's d loss / d (summed log-probs) for DPO (sigmoid, robust, hinge, IPO), SimPO or ORPO, and writes
// every row's d loss / d (row loss) for the weighted cross-entropy backward. It mirrors, in f32,
// src/engine/train/objectives/preference-math.ts (the float64 reference and the formulas' sources).
//
// Layout: sequence 2p is pair p's chosen answer, 2p + 1 its rejected one; rowInfo[i] = sequence index
// (bits 0..29) | response (bit 30: the label is an answer token) | labelled (bit 31: the label is trained).
// rowLoss (N) f32: 0 on unlabelled rows. refRows (N) f32: the reference's row losses (refMode 2);
// refSums (S) f32: the reference's summed answer log-probabilities (refMode 1); refMode 0: no reference.
// seqRows (S) vec2<u32>: (first row, rows) of each sequence. sums (S) vec4<f32>, scratch: (policy sum,
// answer tokens, reference sum, d loss / d policy sum). rowGrad (N) f32, out: d loss / d row loss
// (= -d loss / d log p). ORPO adds the chosen sequences' NLL: -invChosenTokens on every labelled row of an
// even sequence.
//
// Bindings: 0 rowLoss, 1 refRows, 2 refSums, 3 rowInfo, 4 seqRows (read), 5 sums, 6 rowGrad (read_write),
//           7 params (uniform).
// Dispatch: (1, 1, 1): one workgroup; three phases separated by storage barriers (sequences, pairs, rows).
// Caller guarantees: S = 2 * pairs >= 2; the rows of each sequence are contiguous; WG is a power of two.

override WG: u32 = 256u;

const MODE_DPO_SIGMOID: u32 = 0u;
const MODE_DPO_ROBUST: u32 = 1u;
const MODE_DPO_HINGE: u32 = 2u;
const MODE_DPO_IPO: u32 = 3u;
const MODE_SIMPO: u32 = 4u;
const MODE_ORPO: u32 = 5u;

const SEQUENCE_MASK: u32 = 0x3fffffffu;
const RESPONSE_BIT: u32 = 0x40000000u;
const LABELLED_BIT: u32 = 0x80000000u;

struct Params {
  rows: u32,
  sequences: u32,
  mode: u32,
  refMode: u32,
  beta: f32,
  labelSmoothing: f32,
  gamma: f32,
  lambda: f32,
  invStepPairs: f32,
  invChosenTokens: f32,
}

@group(0) @binding(0) var<storage, read> rowLoss: array<f32>;
@group(0) @binding(1) var<storage, read> refRows: array<f32>;
@group(0) @binding(2) var<storage, read> refSums: array<f32>;
@group(0) @binding(3) var<storage, read> rowInfo: array<u32>;
@group(0) @binding(4) var<storage, read> seqRows: array<vec2<u32>>;
@group(0) @binding(5) var<storage, read_write> sums: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> rowGrad: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}

// exp(x) - 1 without cancellation near 0 (a short series where exp(x) - 1 would lose digits).
fn expm1(x: f32) -> f32 {
  if (abs(x) < 0.1) { return x * (1.0 + x / 2.0 * (1.0 + x / 3.0 * (1.0 + x / 4.0 * (1.0 + x / 5.0)))); }
  return exp(x) - 1.0;
}

// log(1 - exp(m)) for m < 0, split at -ln 2 as TRL's log1mexp.
fn log1mexp(m: f32) -> f32 {
  if (m < -0.6931472) { return log(1.0 - exp(m)); }
  return log(-expm1(m));
}

// d/dx of -(1-e) logsig(b x) - e logsig(-b x), or of the robust form (-(1-e) logsig(b x) + e logsig(-b x)) / (1-2e).
fn sigmoidFamilyGrad(x: f32, robust: bool) -> f32 {
  let b = p.beta;
  let e = p.labelSmoothing;
  if (robust) { return b * (-(1.0 - e) * sigmoid(-b * x) - e * sigmoid(b * x)) / (1.0 - 2.0 * e); }
  return b * (-(1.0 - e) * sigmoid(-b * x) + e * sigmoid(b * x));
}

// (d loss / d chosen sum, d loss / d rejected sum) of one pair, before the 1 / pairs of the step.
fn pairGrad(c: vec4<f32>, r: vec4<f32>) -> vec2<f32> {
  let nc = max(1.0, c.y);
  let nr = max(1.0, r.y);
  if (p.mode == MODE_SIMPO) {
    let d = sigmoidFamilyGrad(c.x / nc - r.x / nr - p.gamma / p.beta, false);
    return vec2<f32>(d / nc, -d / nr);
  }
  if (p.mode == MODE_ORPO) {
    let mc = c.x / nc;
    let mr = r.x / nr;
    let z = (mc - mr) - (log1mexp(mc) - log1mexp(mr));
    let dz = -p.lambda * sigmoid(-z);
    return vec2<f32>(dz * (-1.0 / expm1(mc)) / nc, dz * (1.0 / expm1(mr)) / nr);
  }
  let chosenRatio = c.x - c.z;
  let rejectedRatio = r.x - r.z;
  if (p.mode == MODE_DPO_IPO) {
    let gap = chosenRatio / nc - rejectedRatio / nr - 1.0 / (2.0 * p.beta);
    return vec2<f32>(2.0 * gap / nc, -2.0 * gap / nr);
  }
  let h = chosenRatio - rejectedRatio;
  var d = 0.0;
  if (p.mode == MODE_DPO_HINGE) {
    d = select(0.0, -p.beta, 1.0 - p.beta * h > 0.0);
  } else {
    d = sigmoidFamilyGrad(h, p.mode == MODE_DPO_ROBUST);
  }
  return vec2<f32>(d, -d);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  // Phase 1: each sequence's summed answer log-probability, answer tokens and reference sum.
  for (var s = lid; s < p.sequences; s += WG) {
    let range = seqRows[s];
    var policy = 0.0;
    var tokens = 0.0;
    var reference = 0.0;
    for (var i = range.x; i < range.x + range.y; i++) {
      if ((rowInfo[i] & RESPONSE_BIT) != 0u) {
        policy -= rowLoss[i];
        tokens += 1.0;
        if (p.refMode == 2u) { reference -= refRows[i]; }
      }
    }
    if (p.refMode == 1u) { reference = refSums[s]; }
    sums[s] = vec4<f32>(policy, tokens, reference, 0.0);
  }
  storageBarrier();

  // Phase 2: each pair's gradient with respect to its two sums, over the step's pairs.
  for (var pair = lid; 2u * pair + 1u < p.sequences; pair += WG) {
    let c = sums[2u * pair];
    let r = sums[2u * pair + 1u];
    let g = pairGrad(c, r) * p.invStepPairs;
    sums[2u * pair].w = g.x;
    sums[2u * pair + 1u].w = g.y;
  }
  storageBarrier();

  // Phase 3: every row's d loss / d row loss = -(d loss / d log p).
  for (var i = lid; i < p.rows; i += WG) {
    let info = rowInfo[i];
    let s = info & SEQUENCE_MASK;
    var dLogp = 0.0;
    if ((info & RESPONSE_BIT) != 0u) { dLogp = sums[s].w; }
    if (p.mode == MODE_ORPO && (info & LABELLED_BIT) != 0u && (s & 1u) == 0u) { dLogp -= p.invChosenTokens; }
    rowGrad[i] = -dLogp;
  }
}
