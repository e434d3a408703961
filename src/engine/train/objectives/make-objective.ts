// The objective a method names: SFT, or DPO / SimPO / ORPO with their settings (validated, TRL's defaults
// for what is not given). The CLI and the studio build runs through this one function.

import type { ObjectiveMethod } from '../objective';
import { PREFERENCE_DEFAULTS, validatePreferenceConfig, type PreferenceConfig } from './preference-config';
import { PreferenceObjective } from './preference-objective';
import { SftObjective } from './sft-objective';

export type MethodObjective = SftObjective | PreferenceObjective;

export function makeObjective(method: 'sft'): SftObjective;
export function makeObjective(method: PreferenceConfig['method'], preference?: Partial<Omit<PreferenceConfig, 'method'>>): PreferenceObjective;
export function makeObjective(method: ObjectiveMethod, preference?: Partial<Omit<PreferenceConfig, 'method'>>): MethodObjective;
export function makeObjective(method: ObjectiveMethod, preference: Partial<Omit<PreferenceConfig, 'method'>> = {}): MethodObjective {
  if (method === 'sft') return new SftObjective();
  const config: PreferenceConfig = { ...PREFERENCE_DEFAULTS, ...preference, method };
  validatePreferenceConfig(config);
  return new PreferenceObjective(config);
}

export function isPreferenceMethod(method: ObjectiveMethod): method is PreferenceConfig['method'] {
  return method !== 'sft';
}
