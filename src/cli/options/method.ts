// The training method and its objective's flags, shared by `tunelab train` and `tunelab eval`: --method and
// the preference objectives' settings with TRL's defaults (src/engine/train/objectives/preference-config.ts).
// A flag that does not apply to the chosen method is refused, naming the methods it applies to.

import { choiceFlag, numberFlag, UsageError, type FlagSpec, type ParsedFlags } from '../args';
import type { ObjectiveMethod } from '../../engine/train/objective';
import { DPO_LOSS_TYPES, PREFERENCE_DEFAULTS, type PreferenceConfig } from '../../engine/train/objectives/preference-config';

export const METHODS: readonly ObjectiveMethod[] = ['sft', 'dpo', 'simpo', 'orpo', 'grpo'];

export type PreferenceSettings = Omit<PreferenceConfig, 'method'>;

export const METHOD_FLAG: FlagSpec = {
  name: 'method',
  value: 'NAME',
  help: 'sft (default; text, prompt-completion, chat data), dpo, simpo, orpo (preference pairs: prompt, chosen, rejected), or grpo (prompts and reward functions)',
};

export const PREFERENCE_FLAGS: FlagSpec[] = [
  { name: 'beta', value: 'B', help: `dpo, simpo: beta, how far the model may move from the reference; IPO's tau (default ${PREFERENCE_DEFAULTS.beta}); grpo: the KL coefficient (default 0: no reference)` },
  { name: 'loss-type', value: 'NAME', help: `dpo: ${DPO_LOSS_TYPES.join(', ')} (default ${PREFERENCE_DEFAULTS.lossType}); grpo: grpo, bnpo, dr_grpo, dapo (default dapo)` },
  { name: 'label-smoothing', value: 'E', help: 'dpo (sigmoid, robust), simpo: probability that a preference label is flipped, in [0, 0.5) (default 0)' },
  { name: 'simpo-gamma', value: 'G', help: `simpo: the target reward margin gamma (default ${PREFERENCE_DEFAULTS.simpoGamma})` },
  { name: 'orpo-lambda', value: 'L', help: `orpo: the weight lambda of the odds-ratio term (default ${PREFERENCE_DEFAULTS.orpoLambda})` },
];

/** The methods each objective flag applies to. */
const APPLIES: Record<string, readonly ObjectiveMethod[]> = {
  beta: ['dpo', 'simpo', 'grpo'],
  'loss-type': ['dpo', 'grpo'],
  'label-smoothing': ['dpo', 'simpo'],
  'simpo-gamma': ['simpo'],
  'orpo-lambda': ['orpo'],
};

/** Refuses `name` when given with a method it does not apply to. */
export function requireMethod(flags: ParsedFlags, name: string, method: ObjectiveMethod, applies: readonly ObjectiveMethod[]): void {
  const given = flags.values.has(name) || flags.switches.has(name);
  if (given && !applies.includes(method)) {
    throw new UsageError(`--${name} applies to --method ${applies.join(' or ')}, not ${method}`);
  }
}

export function readMethod(flags: ParsedFlags): ObjectiveMethod {
  return choiceFlag(flags, 'method', METHODS) ?? 'sft';
}

/** The objective's settings for `method` (TRL's defaults where not given). */
export function readPreferenceSettings(flags: ParsedFlags, method: ObjectiveMethod): PreferenceSettings {
  for (const [name, applies] of Object.entries(APPLIES)) requireMethod(flags, name, method, applies);
  // GRPO reads --beta and --loss-type with its own meaning (options/grpo.ts).
  if (method === 'grpo') return { ...PREFERENCE_DEFAULTS };
  const settings: PreferenceSettings = {
    beta: numberFlag(flags, 'beta', { min: { value: 0, exclusive: true } }) ?? PREFERENCE_DEFAULTS.beta,
    lossType: choiceFlag(flags, 'loss-type', DPO_LOSS_TYPES) ?? PREFERENCE_DEFAULTS.lossType,
    labelSmoothing: numberFlag(flags, 'label-smoothing', { min: { value: 0 }, max: { value: 0.5, exclusive: true } }) ?? PREFERENCE_DEFAULTS.labelSmoothing,
    simpoGamma: numberFlag(flags, 'simpo-gamma') ?? PREFERENCE_DEFAULTS.simpoGamma,
    orpoLambda: numberFlag(flags, 'orpo-lambda', { min: { value: 0 } }) ?? PREFERENCE_DEFAULTS.orpoLambda,
  };
  if (method === 'dpo' && flags.values.has('label-smoothing') && (settings.lossType === 'hinge' || settings.lossType === 'ipo')) {
    throw new UsageError(`--label-smoothing applies to the sigmoid and robust DPO losses, not ${settings.lossType}`);
  }
  return settings;
}
