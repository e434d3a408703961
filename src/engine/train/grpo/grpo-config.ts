// GRPO's settings with TRL's names and defaults (trl/trainer/grpo_config.py, GRPOConfig): num_generations 8,
// max_completion_length 512, temperature 1.0, top_p 1.0, top_k 0 (off), beta 0.0 (no KL term, no reference
// pass), num_iterations 1, epsilon 0.2, epsilon_high = epsilon when not given, loss_type "dapo",
// scale_rewards "group", mask_truncated_completions false. TRL's learning_rate default (1e-6) is for full
// fine-tuning; a LoRA run keeps the shared training default.

export type GrpoLossType = 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';
export const GRPO_LOSS_TYPES: readonly GrpoLossType[] = ['grpo', 'bnpo', 'dr_grpo', 'dapo'];

export type ScaleRewards = 'group' | 'batch' | 'none';
export const SCALE_REWARDS: readonly ScaleRewards[] = ['group', 'batch', 'none'];

export interface GrpoConfig {
  /** G: completions sampled per prompt. */
  numGenerations: number;
  /** Completions per held-out prompt at evaluation (TRL's num_generations_eval; default numGenerations). */
  numGenerationsEval: number;
  maxCompletionLength: number;
  temperature: number;
  topP: number;
  /** 0: off. */
  topK: number;
  /** Generation of a completion stops after any of these strings (the text is cut before it). */
  stopStrings: string[];
  /** KL coefficient; 0: no KL term and no reference log-probabilities. */
  beta: number;
  /** mu: optimizer steps per generation batch (the old log-probabilities are kept for the later ones). */
  numIterations: number;
  /** Lower clipping bound: ratios below 1 - epsilon are clipped. */
  epsilon: number;
  /** Upper clipping bound: ratios above 1 + epsilonHigh are clipped. */
  epsilonHigh: number;
  lossType: GrpoLossType;
  scaleRewards: ScaleRewards;
  /** Leave completions that hit the length limit out of the loss (DAPO). */
  maskTruncatedCompletions: boolean;
}

export const GRPO_DEFAULTS: GrpoConfig = {
  numGenerations: 8,
  numGenerationsEval: 8,
  maxCompletionLength: 512,
  temperature: 1,
  topP: 1,
  topK: 0,
  stopStrings: [],
  beta: 0,
  numIterations: 1,
  epsilon: 0.2,
  epsilonHigh: 0.2,
  lossType: 'dapo',
  scaleRewards: 'group',
  maskTruncatedCompletions: false,
};

/** The config from partial settings: TRL's rule that epsilon_high defaults to epsilon, and num_generations_eval to num_generations. */
export function grpoConfig(given: Partial<GrpoConfig> = {}): GrpoConfig {
  // A field present but undefined (an unset CLI flag or form field) takes its default, as an absent one does.
  const settings = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<GrpoConfig>;
  const epsilon = settings.epsilon ?? GRPO_DEFAULTS.epsilon;
  const numGenerations = settings.numGenerations ?? GRPO_DEFAULTS.numGenerations;
  const config: GrpoConfig = {
    ...GRPO_DEFAULTS,
    ...settings,
    epsilon,
    epsilonHigh: settings.epsilonHigh ?? epsilon,
    numGenerations,
    numGenerationsEval: settings.numGenerationsEval ?? numGenerations,
    stopStrings: [...(settings.stopStrings ?? [])],
  };
  validateGrpoConfig(config);
  return config;
}

/** Refuses settings TRL refuses (or that cannot work), naming the field. */
export function validateGrpoConfig(c: GrpoConfig): void {
  const integer = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  // TRL: "GRPO requires at least 2 generations per prompt to calculate the advantages".
  integer('num_generations', c.numGenerations, 2);
  integer('num_generations_eval', c.numGenerationsEval, 1);
  integer('max_completion_length', c.maxCompletionLength, 1);
  integer('num_iterations', c.numIterations, 1);
  integer('top_k', c.topK, 0);
  if (!(Number.isFinite(c.temperature) && c.temperature > 0)) throw new RangeError(`temperature must be a number above 0 (GRPO samples), got ${c.temperature}`);
  if (!(c.topP > 0 && c.topP <= 1)) throw new RangeError(`top_p must be in (0, 1], got ${c.topP}`);
  if (!(Number.isFinite(c.beta) && c.beta >= 0)) throw new RangeError(`beta must be a number >= 0, got ${c.beta}`);
  if (!(Number.isFinite(c.epsilon) && c.epsilon > 0 && c.epsilon < 1)) throw new RangeError(`epsilon must be in (0, 1), got ${c.epsilon}`);
  if (!(Number.isFinite(c.epsilonHigh) && c.epsilonHigh > 0)) throw new RangeError(`epsilon_high must be a number above 0, got ${c.epsilonHigh}`);
  if (!GRPO_LOSS_TYPES.includes(c.lossType)) throw new RangeError(`unknown loss_type "${c.lossType}" (${GRPO_LOSS_TYPES.join(', ')})`);
  if (!SCALE_REWARDS.includes(c.scaleRewards)) throw new RangeError(`unknown scale_rewards "${c.scaleRewards}" (${SCALE_REWARDS.join(', ')})`);
  c.stopStrings.forEach((s, i) => {
    if (typeof s !== 'string' || s === '') throw new RangeError(`stop string ${i + 1} is empty`);
  });
}

/** Whether the loss reads the frozen reference's log-probabilities (the KL term). */
export function grpoNeedsReference(c: Pick<GrpoConfig, 'beta'>): boolean {
  return c.beta !== 0;
}
