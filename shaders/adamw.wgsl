// One AdamW step (torch.optim.AdamW: decoupled weight decay) over n elements, in place on param, m, v.
// Per element i (offset + j, j < n), with f32 scalars the host computed in float64 from lr and step t:
//   g  = grad[i] * coef            only when CLIP and coef = clip[clip_index] < 1 (clip_grad_norm_)
//   p  = param[i] * decay          decay = 1 - lr * wd
//   m  = lerp(m, g, w)             w = 1 - beta1; torch's lerp: fma(w, g - m, m) for w < 0.5,
//                                  else fma(w - 1, g - m, g)
//   v  = v * beta2 + ((1 - beta2) * g) * g
//   p  = p + (neg_step_size * m) / (sqrt(v) / bc2_sqrt + eps)
//        neg_step_size = -lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t)
// This is torch's single-tensor op order (param.mul_, exp_avg.lerp_, exp_avg_sq.mul_.addcmul_,
// addcdiv_) on the CPU. Bitwise equality with torch is not promised: WGSL allows sqrt and division a
// few ULP of error and lets the driver contract a * b + c into an fma.
//
// Bindings: 0 param (write), 1 grad (read), 2 m (write), 3 v (write), 4 clip (read), 5 params (uniform).
// Dispatch: grid1d(ceil(n / WG)); one invocation per element.
// Caller guarantees: m and v start at zero before step 1; param, m, v are distinct buffers and none
// aliases grad or clip; offset + n fits all four buffers. With CLIP = false, `clip` is not read (any
// read-only buffer may be bound there, e.g. grad again).

override WG: u32 = 256u;
override CLIP: bool = false;

struct Params {
  n: u32,
  offset: u32,
  clip_index: u32,
  decay: f32,
  lerp_weight: f32,
  beta2: f32,
  one_minus_beta2: f32,
  neg_step_size: f32,
  bias_correction2_sqrt: f32,
  eps: f32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> clip: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn adamw_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let j = (wid.x + wid.y * nwg.x) * WG + lid;
  if (j >= p.n) { return; }
  let i = p.offset + j;

  var g = grad[i];
  if (CLIP) {
    let coef = clip[p.clip_index];
    if (coef < 1.0) { g = g * coef; }
  }
  let decayed = param[i] * p.decay;
  let m_old = m[i];
  var m_new: f32;
  if (p.lerp_weight < 0.5) {
    m_new = fma(p.lerp_weight, g - m_old, m_old);
  } else {
    m_new = fma(p.lerp_weight - 1.0, g - m_old, g);
  }
  let v_new = v[i] * p.beta2 + (p.one_minus_beta2 * g) * g;
  let denom = sqrt(v_new) / p.bias_correction2_sqrt + p.eps;
  param[i] = decayed + (p.neg_step_size * m_new) / denom;
  m[i] = m_new;
  v[i] = v_new;
}
