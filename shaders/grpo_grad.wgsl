// GRPO's per-token gradient, on the GPU between the LM head's forward and backward (one submit per step):
// from each row's loss (-log p of its label under the policy) and the row's GRPO terms it writes every row's
// d loss / d (row loss) for the weighted cross-entropy backward. It mirrors, in f32, tokenTerm of
// src/engine/train/grpo/grpo-math.ts (the float64 reference; TRL's GRPOTrainer._compute_loss):
//   ratio = exp(logp - old), unclipped = ratio A, clipped = clamp(ratio, 1 - epsLow, 1 + epsHigh) A;
//   d loss / d logp = -ratio A where unclipped <= clipped (the min takes that branch), else 0;
//   beta != 0 adds beta (1 - exp(ref - logp)), the derivative of the k3 estimate exp(d) - d - 1, d = ref - logp.
// Each row's token weight (loss type and accumulation, fixed per step by GrpoObjective.totals) multiplies it.
//
// rowLoss (N) f32: -log p of each row's label (0 where unlabelled). rows (N) vec4<f32>: (token weight,
// advantage, old log p, reference log p), weight 0 where the row has no loss token. rowGrad (N) f32, out:
// -(weight * d loss / d logp). oldFromPolicy = 1 (num_iterations 1): the old log p is the policy's own, so
// the ratio is exactly 1 (TRL detaches it: ratio = exp(logp - logp.detach())).
//
// Bindings: 0 rowLoss, 1 rows (read), 2 rowGrad (read_write), 3 params (uniform).
// Dispatch: grid1d(ceil(N / WG)); one invocation per row.

override WG: u32 = 256u;

struct Params {
  rows: u32,
  oldFromPolicy: u32,
  epsilonLow: f32,
  epsilonHigh: f32,
  beta: f32,
}

@group(0) @binding(0) var<storage, read> rowLoss: array<f32>;
@group(0) @binding(1) var<storage, read> rows: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> rowGrad: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// exp(x) - 1 without cancellation near 0 (the KL term's reference is close to the policy).
fn expm1(x: f32) -> f32 {
  if (abs(x) < 0.1) { return x * (1.0 + x / 2.0 * (1.0 + x / 3.0 * (1.0 + x / 4.0 * (1.0 + x / 5.0)))); }
  return exp(x) - 1.0;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.rows) { return; }
  let r = rows[i];
  let weight = r.x;
  if (weight == 0.0) {
    rowGrad[i] = 0.0;
    return;
  }
  let logp = -rowLoss[i];
  let advantage = r.y;
  var ratio = 1.0;
  if (p.oldFromPolicy == 0u) { ratio = exp(logp - r.z); }
  let unclipped = ratio * advantage;
  let clipped = clamp(ratio, 1.0 - p.epsilonLow, 1.0 + p.epsilonHigh) * advantage;
  var dLogp = 0.0;
  if (unclipped <= clipped) { dLogp = -unclipped; }
  if (p.beta != 0.0) { dLogp -= p.beta * expm1(r.w - logp); }
  rowGrad[i] = -weight * dLogp;
}
