// The preference objectives every gradient test runs: DPO's four loss types (with label smoothing where it
// applies), SimPO and ORPO, with settings that keep each loss away from its flat or kinked regions on
// tiny random models.

import type { PreferenceConfig } from '../../src/engine/train/objectives/preference-config';

export interface PreferenceCase {
  name: string;
  method: PreferenceConfig['method'];
  settings: Partial<Omit<PreferenceConfig, 'method'>>;
}

export const PREFERENCE_CASES: PreferenceCase[] = [
  { name: 'dpo sigmoid (label smoothing 0.1)', method: 'dpo', settings: { lossType: 'sigmoid', beta: 0.5, labelSmoothing: 0.1 } },
  { name: 'dpo ipo', method: 'dpo', settings: { lossType: 'ipo', beta: 0.5 } },
  { name: 'dpo hinge', method: 'dpo', settings: { lossType: 'hinge', beta: 0.1 } },
  { name: 'dpo robust (label smoothing 0.2)', method: 'dpo', settings: { lossType: 'robust', beta: 0.5, labelSmoothing: 0.2 } },
  { name: 'simpo', method: 'simpo', settings: { beta: 2, simpoGamma: 0.5 } },
  { name: 'orpo', method: 'orpo', settings: { orpoLambda: 0.5 } },
];
