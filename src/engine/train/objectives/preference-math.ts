// The per-pair loss of each preference objective in float64, with its derivatives with respect to the
// policy's SUMMED answer log-probabilities (the quantities the model's tokens feed), and the rewards TRL
// logs. Formulas (TRL sources):
//   DPO  (trl/trainer/dpo_trainer.py, _compute_loss): h = (pc - pr) - (rc - rr) over summed log-probs;
//        sigmoid -(1-e) logsig(b h) - e logsig(-b h)   (label smoothing as conservative DPO; e = 0 is TRL's)
//        robust  (-(1-e) logsig(b h) + e logsig(-b h)) / (1 - 2e)
//        hinge   relu(1 - b h)
//        ipo     (h' - 1/(2b))^2 with h' the log-ratios averaged over each answer's tokens
//        rewards b (pc - rc), b (pr - rr)
//   SimPO (trl/experimental/cpo/cpo_trainer.py, cpo_loss with loss_type "simpo"): m = mean pc - mean pr,
//        x = m - gamma / b; -(1-e) logsig(b x) - e logsig(-b x); rewards b * mean log-probs
//   ORPO (trl/experimental/orpo/orpo_trainer.py, odds_ratio_loss): with mean log-probs mc, mr,
//        z = (mc - mr) - (log1mexp(mc) - log1mexp(mr)); the pair term -lambda logsig(z) (the chosen
//        sequence's NLL is added by the objective); rewards lambda * mean log-probs

import type { PreferenceConfig } from './preference-config';

/** One pair's statistics: log-probabilities summed over each answer's tokens, and the token counts. */
export interface PairStats {
  chosen: number;
  rejected: number;
  chosenTokens: number;
  rejectedTokens: number;
  /** The reference's summed log-probabilities (DPO only). */
  refChosen?: number;
  refRejected?: number;
}

export interface PairLoss {
  loss: number;
  /** d loss / d chosen and d loss / d rejected (the summed policy log-probabilities). */
  dChosen: number;
  dRejected: number;
  rewardChosen: number;
  rewardRejected: number;
  /** The log-probabilities TRL logs as logps/chosen and logps/rejected (summed, or averaged per token). */
  logpChosen: number;
  logpRejected: number;
  /** ORPO only: logsig(z) and z (TRL's log_odds_ratio and log_odds_chosen). */
  logOddsRatio?: number;
  logOddsChosen?: number;
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** log(sigmoid(x)) without overflow: -log(1 + exp(-x)). */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** log(1 - exp(m)) for m < 0, split at -ln 2 as TRL's log1mexp does to avoid cancellation. */
export function log1mexp(m: number): number {
  return m < -Math.LN2 ? Math.log1p(-Math.exp(m)) : Math.log(-Math.expm1(m));
}

/**
 * The sigmoid family's loss and d loss / d x for x (the scaled margin before beta), with label smoothing e:
 * -(1-e) logsig(b x) - e logsig(-b x); robust divides by (1 - 2e) and flips the sign of the e term.
 */
function sigmoidLoss(x: number, beta: number, e: number, robust: boolean): { loss: number; d: number } {
  const up = logSigmoid(beta * x);
  const down = logSigmoid(-beta * x);
  // d/dx logsig(b x) = b sig(-b x); d/dx logsig(-b x) = -b sig(b x).
  const dUp = beta * sigmoid(-beta * x);
  const dDown = -beta * sigmoid(beta * x);
  if (!robust) return { loss: -(1 - e) * up - e * down, d: -(1 - e) * dUp - e * dDown };
  const k = 1 - 2 * e;
  return { loss: (-(1 - e) * up + e * down) / k, d: (-(1 - e) * dUp + e * dDown) / k };
}

function dpoPair(c: PreferenceConfig, p: PairStats): PairLoss {
  if (p.refChosen === undefined || p.refRejected === undefined) throw new Error('DPO needs the reference log-probabilities of both answers');
  const chosenRatio = p.chosen - p.refChosen;
  const rejectedRatio = p.rejected - p.refRejected;
  const rewards = { rewardChosen: c.beta * chosenRatio, rewardRejected: c.beta * rejectedRatio, logpChosen: p.chosen, logpRejected: p.rejected };
  if (c.lossType === 'ipo') {
    // trl: the log-ratios averaged over each answer's tokens (clamped to at least one token).
    const nc = Math.max(1, p.chosenTokens);
    const nr = Math.max(1, p.rejectedTokens);
    const gap = chosenRatio / nc - rejectedRatio / nr - 1 / (2 * c.beta);
    return { loss: gap * gap, dChosen: (2 * gap) / nc, dRejected: (-2 * gap) / nr, ...rewards };
  }
  const h = chosenRatio - rejectedRatio;
  let loss: number;
  let d: number;
  if (c.lossType === 'hinge') {
    const slack = 1 - c.beta * h;
    // relu's derivative at 0 is 0, as in torch.
    loss = Math.max(0, slack);
    d = slack > 0 ? -c.beta : 0;
  } else {
    ({ loss, d } = sigmoidLoss(h, c.beta, c.labelSmoothing, c.lossType === 'robust'));
  }
  return { loss, dChosen: d, dRejected: -d, ...rewards };
}

function simpoPair(c: PreferenceConfig, p: PairStats): PairLoss {
  const nc = Math.max(1, p.chosenTokens);
  const nr = Math.max(1, p.rejectedTokens);
  const mc = p.chosen / nc;
  const mr = p.rejected / nr;
  const { loss, d } = sigmoidLoss(mc - mr - c.simpoGamma / c.beta, c.beta, c.labelSmoothing, false);
  return { loss, dChosen: d / nc, dRejected: -d / nr, rewardChosen: c.beta * mc, rewardRejected: c.beta * mr, logpChosen: mc, logpRejected: mr };
}

function orpoPair(c: PreferenceConfig, p: PairStats): PairLoss {
  const nc = Math.max(1, p.chosenTokens);
  const nr = Math.max(1, p.rejectedTokens);
  const mc = p.chosen / nc;
  const mr = p.rejected / nr;
  const z = mc - mr - (log1mexp(mc) - log1mexp(mr));
  const ratio = logSigmoid(z);
  // dz/dmc = 1 / (1 - exp(mc)) = -1 / expm1(mc); dz/dmr = 1 / expm1(mr); d(-lambda logsig z)/dz = -lambda sig(-z).
  const dz = -c.orpoLambda * sigmoid(-z);
  return {
    loss: -c.orpoLambda * ratio,
    dChosen: (dz * (-1 / Math.expm1(mc))) / nc,
    dRejected: (dz * (1 / Math.expm1(mr))) / nr,
    rewardChosen: c.orpoLambda * mc,
    rewardRejected: c.orpoLambda * mr,
    logpChosen: mc,
    logpRejected: mr,
    logOddsRatio: ratio,
    logOddsChosen: z,
  };
}

/** The pair's loss term (ORPO: without the chosen NLL), its derivatives and what TRL logs. */
export function pairLoss(c: PreferenceConfig, p: PairStats): PairLoss {
  if (c.method === 'dpo') return dpoPair(c, p);
  if (c.method === 'simpo') return simpoPair(c, p);
  return orpoPair(c, p);
}
