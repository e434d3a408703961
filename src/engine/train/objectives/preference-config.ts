// The settings of the preference objectives (DPO and its reference-free cousins SimPO and ORPO), with TRL's
// names and defaults: DPOConfig (beta 0.1, loss_type "sigmoid", label_smoothing 0), CPOConfig with
// loss_type "simpo" (simpo_gamma 0.5, cpo_alpha 0: pure SimPO) and ORPOConfig (its `beta` is the paper's
// lambda, 0.1). Sources: trl/trainer/dpo_config.py, trl/experimental/cpo/cpo_config.py,
// trl/experimental/orpo/orpo_config.py.

export type PreferenceMethod = 'dpo' | 'simpo' | 'orpo';
export const PREFERENCE_METHODS: readonly PreferenceMethod[] = ['dpo', 'simpo', 'orpo'];

/** DPOTrainer's loss types this engine implements. */
export type DpoLossType = 'sigmoid' | 'ipo' | 'hinge' | 'robust';
export const DPO_LOSS_TYPES: readonly DpoLossType[] = ['sigmoid', 'ipo', 'hinge', 'robust'];

export interface PreferenceConfig {
  method: PreferenceMethod;
  /** DPO and SimPO: the inverse temperature beta (IPO: its regulariser tau). */
  beta: number;
  /** DPO only. */
  lossType: DpoLossType;
  /** DPO sigmoid and robust, SimPO: the probability that a preference label is flipped. */
  labelSmoothing: number;
  /** SimPO: the target reward margin gamma. */
  simpoGamma: number;
  /** ORPO: lambda, the weight of the odds-ratio term (TRL's ORPOConfig.beta). */
  orpoLambda: number;
}

export const PREFERENCE_DEFAULTS: Omit<PreferenceConfig, 'method'> = {
  beta: 0.1,
  lossType: 'sigmoid',
  labelSmoothing: 0,
  simpoGamma: 0.5,
  orpoLambda: 0.1,
};

/** Whether the objective compares against a frozen reference model (DPO does; SimPO and ORPO do not). */
export function needsReference(method: PreferenceMethod): boolean {
  return method === 'dpo';
}

/** Whether log-probabilities are averaged over the answer's tokens (IPO, SimPO, ORPO) rather than summed. */
export function averagesLogps(config: Pick<PreferenceConfig, 'method' | 'lossType'>): boolean {
  return config.method !== 'dpo' || config.lossType === 'ipo';
}

/** Refuses settings TRL refuses, naming the field. */
export function validatePreferenceConfig(c: PreferenceConfig): void {
  if (!PREFERENCE_METHODS.includes(c.method)) throw new RangeError(`unknown preference method "${c.method}" (dpo, simpo, orpo)`);
  if (!DPO_LOSS_TYPES.includes(c.lossType)) throw new RangeError(`unknown loss type "${c.lossType}" (${DPO_LOSS_TYPES.join(', ')})`);
  if (!(Number.isFinite(c.beta) && c.beta > 0)) throw new RangeError(`beta must be a number above 0, got ${c.beta}`);
  if (!(c.labelSmoothing >= 0 && c.labelSmoothing < 0.5)) {
    // TRL requires [0, 0.5) for robust DPO; for the sigmoid forms above 0.5 the label is more likely wrong than right.
    throw new RangeError(`label smoothing must be at least 0 and below 0.5, got ${c.labelSmoothing}`);
  }
  if (!Number.isFinite(c.simpoGamma)) throw new RangeError(`SimPO gamma must be a number, got ${c.simpoGamma}`);
  if (!(Number.isFinite(c.orpoLambda) && c.orpoLambda >= 0)) throw new RangeError(`ORPO lambda must be 0 or more, got ${c.orpoLambda}`);
}
