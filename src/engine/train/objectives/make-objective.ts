// The objective a method names: SFT, or DPO / SimPO / ORPO with their settings (validated, TRL's defaults
// for what is not given). The CLI and the studio build runs through this one function.

import type { ObjectiveMethod } from '../objective';
import { PREFERENCE_DEFAULTS, validatePreferenceConfig, type PreferenceConfig } from './preference-config';
import { PreferenceObjective } from './preference-objective';
import { SftObjective } from './sft-objective';
import { grpoConfig, type GrpoConfig } from '../grpo/grpo-config';
import { GrpoObjective } from '../grpo/grpo-objective';

export type MethodObjective = SftObjective | PreferenceObjective;

/** GRPO with TRL's defaults for what is not given (validated). */
export function makeGrpoObjective(settings: Partial<GrpoConfig> = {}): GrpoObjective {
  return new GrpoObjective(grpoConfig(settings));
}

export function makeObjective(method: 'sft'): SftObjective;
export function makeObjective(method: PreferenceConfig['method'], preference?: Partial<Omit<PreferenceConfig, 'method'>>): PreferenceObjective;
export function makeObjective(method: Exclude<ObjectiveMethod, 'grpo'>, preference?: Partial<Omit<PreferenceConfig, 'method'>>): MethodObjective;
export function makeObjective(method: Exclude<ObjectiveMethod, 'grpo'>, preference: Partial<Omit<PreferenceConfig, 'method'>> = {}): MethodObjective {
  if (method === 'sft') return new SftObjective();
  const config: PreferenceConfig = { ...PREFERENCE_DEFAULTS, ...preference, method };
  validatePreferenceConfig(config);
  return new PreferenceObjective(config);
}

export function isPreferenceMethod(method: ObjectiveMethod): method is PreferenceConfig['method'] {
  return method === 'dpo' || method === 'simpo' || method === 'orpo';
}
