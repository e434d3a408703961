// GRPO's reward functions: built-ins, custom JavaScript in the sandbox, reward modules, the --reward syntax.
export * from './reward-types';
export { parseRewardSpecs, splitRewardItems } from './parse-reward-specs';
export { createRewardSet, testRewards, DEFAULT_REWARD_TIME_LIMIT_MS, type RewardSetOptions, type RewardModuleSource, type RewardTestResult, type RewardTestRow } from './reward-set';
export { parseRewardModule, type ParsedRewardModule, type RewardModuleExport } from './reward-module';
export { compileBuiltinReward, DEFAULT_FORMAT_PATTERN, countWords, lengthReward, jsonReward, fillExampleFields } from './builtin-rewards';
export { answerMatchReward, extractFinalAnswer, expectedAnswer, answersMatch, parseAnswerNumber, normaliseAnswerText } from './answer-match';
