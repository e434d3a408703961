// The Train page's fields of the preference methods, with TRL's names and defaults: DPO's beta, loss type
// and label smoothing (DPOConfig), SimPO's beta and gamma (CPOConfig, loss_type "simpo"), ORPO's lambda
// (ORPOConfig.beta), the maximum prompt length, and whether DPO's reference log-probabilities are computed
// once before training (precompute_ref_log_probs). A check names the first bad field.

import { DEFAULT_MAX_PROMPT_LENGTH } from '../engine/data/tokenize-preference';
import { DPO_LOSS_TYPES, PREFERENCE_DEFAULTS, type DpoLossType, type PreferenceMethod } from '../engine/train/objectives/preference-config';
import type { StoredPreferenceSettings } from '../storage/records';

export const LOSS_TYPE_NOTES: Record<DpoLossType, string> = {
  sigmoid: 'sigmoid: the DPO paper’s loss, −log σ(β · margin)',
  ipo: 'ipo: squared distance of the margin from 1 / (2β), on token-averaged log-probabilities',
  hinge: 'hinge: max(0, 1 − β · margin), the SLiC loss',
  robust: 'robust: the sigmoid loss made unbiased for labels flipped with the label-smoothing probability',
};

/** Label smoothing enters DPO's sigmoid and robust losses and SimPO's sigmoid (TRL ignores it elsewhere). */
export function usesLabelSmoothing(method: PreferenceMethod, lossType: DpoLossType): boolean {
  return method === 'simpo' || (method === 'dpo' && (lossType === 'sigmoid' || lossType === 'robust'));
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export class PreferenceForm {
  beta = $state(PREFERENCE_DEFAULTS.beta);
  lossType = $state<DpoLossType>(PREFERENCE_DEFAULTS.lossType);
  labelSmoothing = $state(PREFERENCE_DEFAULTS.labelSmoothing);
  simpoGamma = $state(PREFERENCE_DEFAULTS.simpoGamma);
  orpoLambda = $state(PREFERENCE_DEFAULTS.orpoLambda);
  maxPromptLength = $state(DEFAULT_MAX_PROMPT_LENGTH);
  precomputeRef = $state(false);

  /** TRL's defaults; the prompt may take at most the whole max length. */
  reset(maxLength: number): void {
    this.beta = PREFERENCE_DEFAULTS.beta;
    this.lossType = PREFERENCE_DEFAULTS.lossType;
    this.labelSmoothing = PREFERENCE_DEFAULTS.labelSmoothing;
    this.simpoGamma = PREFERENCE_DEFAULTS.simpoGamma;
    this.orpoLambda = PREFERENCE_DEFAULTS.orpoLambda;
    this.maxPromptLength = Math.min(DEFAULT_MAX_PROMPT_LENGTH, maxLength);
    this.precomputeRef = false;
  }

  /** What is wrong with the fields `method` uses (the first problem, naming its field), or null. */
  problem(method: PreferenceMethod, maxLength: number): string | null {
    const checks: [boolean, string][] = [
      [method === 'orpo' || (isNum(this.beta) && this.beta > 0), 'Beta must be a number above 0.'],
      [method !== 'dpo' || DPO_LOSS_TYPES.includes(this.lossType), `Loss type must be one of ${DPO_LOSS_TYPES.join(', ')}.`],
      [
        !usesLabelSmoothing(method, this.lossType) || (isNum(this.labelSmoothing) && this.labelSmoothing >= 0 && this.labelSmoothing < 0.5),
        'Label smoothing must be at least 0 and below 0.5.',
      ],
      [method !== 'simpo' || isNum(this.simpoGamma), 'SimPO gamma must be a number.'],
      [method !== 'orpo' || (isNum(this.orpoLambda) && this.orpoLambda >= 0), 'ORPO lambda must be 0 or more.'],
      [
        Number.isInteger(this.maxPromptLength) && this.maxPromptLength >= 1 && this.maxPromptLength <= maxLength,
        `Max prompt length must be a whole number from 1 to the max length (${maxLength}).`,
      ],
    ];
    return checks.find(([ok]) => !ok)?.[1] ?? null;
  }

  /** The stored settings of a `method` run (fields the method does not read keep TRL's defaults). */
  settings(method: PreferenceMethod): StoredPreferenceSettings {
    return {
      beta: method === 'orpo' ? PREFERENCE_DEFAULTS.beta : this.beta,
      lossType: method === 'dpo' ? this.lossType : PREFERENCE_DEFAULTS.lossType,
      labelSmoothing: usesLabelSmoothing(method, this.lossType) ? this.labelSmoothing : PREFERENCE_DEFAULTS.labelSmoothing,
      simpoGamma: method === 'simpo' ? this.simpoGamma : PREFERENCE_DEFAULTS.simpoGamma,
      orpoLambda: method === 'orpo' ? this.orpoLambda : PREFERENCE_DEFAULTS.orpoLambda,
      maxPromptLength: this.maxPromptLength,
      // Only DPO has a reference to compute.
      precomputeRef: method === 'dpo' && this.precomputeRef,
    };
  }
}
