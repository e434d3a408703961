// Run specs for the TRL export tests: every method, with values chosen so that a swapped or misnamed
// argument reads back wrong (beta1 0.85 vs beta2 0.97, a warmed-up constant schedule), and GRPO prompts,
// rewards and completions on which every reward takes several values.

import type { ChatMessage } from '../../src/engine/data/messages';
import type { PromptRecord } from '../../src/engine/data/prompt-examples';
import type { TrlProjectSpec } from '../../src/engine/export/trl/trl-project';
import type { RewardSpec } from '../../src/engine/train/grpo/rewards';

export const LOOP = { batchSize: 4, gradAccum: 2, steps: 30, lr: 3e-4, scheduler: 'constant' as const, warmupSteps: 5, maxGradNorm: 0.7, beta1: 0.85, beta2: 0.97, eps: 1e-7, weightDecay: 0.01, evalEvery: 10, saveEvery: 0, seed: 17 };
export const LORA = { r: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj'], useRslora: true };
export const PREF = { beta: 0.2, lossType: 'robust' as const, labelSmoothing: 0.1, simpoGamma: 0.7, orpoLambda: 0.3, maxPromptLength: 64, precomputeRef: true };
export const msg = (role: string, content: string, train = role === 'assistant'): ChatMessage => ({ role, content, train });

export function base(method: TrlProjectSpec['method'], records: TrlProjectSpec['records']): TrlProjectSpec {
  return { method, source: 'a test', datasetName: 'test.jsonl', model: { id: 'HuggingFaceTB/SmolLM2-135M-Instruct', revision: 'main', isLocal: false }, lora: LORA, loop: LOOP, maxLength: 256, completionOnly: true, records, notes: [] };
}

export const sftMessages = (): TrlProjectSpec => ({
  ...base('sft', {
    family: 'sft',
    // Several assistant turns: "messages" with assistant_only_loss.
    train: [1, 2, 3, 4, 5].map((i) => ({ line: i, example: { kind: 'chat' as const, messages: [msg('user', `q${i}`), msg('assistant', `a${i}`), msg('user', 'more'), msg('assistant', `b${i}`)] } })),
    eval: [{ line: 6, example: { kind: 'chat', messages: [msg('system', 'be brief'), msg('user', 'q6'), msg('assistant', 'a6')] } }],
  }),
  lora: { ...LORA, targets: ['all-linear'], useRslora: false },
  loop: { ...LOOP, scheduler: 'cosine', warmupSteps: 0, saveEvery: 10 },
});

export const sftPromptCompletion = (): TrlProjectSpec => ({
  ...base('sft', {
    family: 'sft',
    train: [1, 2, 3].map((i) => ({ line: i, example: { kind: 'prompt-completion' as const, prompt: `Q${i} "quoted" \\ é 😀`, completion: ` A${i}` } })),
    eval: [],
  }),
  completionOnly: false,
  loop: { ...LOOP, scheduler: 'linear' },
});

export const pairs = (): TrlProjectSpec['records'] => ({
  family: 'preference',
  train: [1, 2, 3, 4].map((i) => ({ line: i, example: { kind: 'text' as const, prompt: `P${i}`, chosen: ` good ${i}`, rejected: ` bad ${i}` } })),
  eval: [{ line: 5, example: { kind: 'text', prompt: 'P5', chosen: ' good', rejected: ' bad' } }],
});

export const CUSTOM_LEN = '(completion, example) => completion.length / 8 + (example.name === "Sue" ? 1 : 0)';
export const CUSTOM_THROWS = '(completion) => { if (completion.includes("boom")) throw new RangeError("boom in " + completion); return completion.split(" ").length; }';
export const REWARDS: RewardSpec[] = [
  { kind: 'answer-match', name: 'answer-match', weight: 1 },
  { kind: 'answer-match', name: 'answer-regex', weight: 0.5, arg: '/answer:\\s*(\\S+)/i' },
  { kind: 'format', name: 'format', weight: 0.25 },
  { kind: 'regex', name: 'once', weight: 1, arg: '/^\\s*once\\b/im' },
  { kind: 'regex', name: 'dot-end', weight: 1, arg: '\\d{2,}.$' },
  { kind: 'contains', name: 'names', weight: 2, arg: '{name}' },
  { kind: 'contains', name: 'number', weight: 1, arg: 'n={n}' },
  { kind: 'not-contains', name: 'no-bad', weight: -1, arg: 'bad' },
  { kind: 'length', name: 'length', weight: 0.5, arg: '5' },
  { kind: 'json', name: 'json', weight: 1 },
  { kind: 'custom', name: 'custom len', weight: 1, arg: CUSTOM_LEN },
  { kind: 'custom', name: 'custom/throws', weight: 1, arg: CUSTOM_THROWS },
];
export const STOPS = ['\nQuestion:'];
export const PROMPTS: PromptRecord[] = [
  { line: 1, prompt: 'Sue the cat. Once', fields: { answer: 'she ate 6 #### 72', name: 'Sue', n: 72, completion: 'ref text' } },
  { line: 2, prompt: 'Tom', fields: { answer: 'Seven', name: 'Tom', n: 0.5 } },
  { line: 3, prompt: 'Big', fields: { answer: '1,234', name: 'Émile', n: 1e21 } },
  { line: 4, prompt: 'Tiny', fields: { answer: '$5', n: 1e-7 } },
  { line: 5, prompt: 'None', fields: { name: 'Ann', n: 123456789012 } },
  { line: 6, prompt: 'Neg', fields: { answer: '-3.50', name: 'Bo', n: -0.25 } },
];
export const COMPLETIONS = [
  'She ate 6 and then 66 more. #### 72',
  'The answer is 72.',
  'answer: seven',
  'ANSWER:   Seven.',
  '1,234 apples and 1234',
  '$5',
  '  once upon a time, Sue',
  'x\nOnce more 99.',
  '{"a": [1, 2, {"b": null}]}',
  '  [1, 2]\u00a0',
  'NaN',
  'bad words here',
  'one two three four five',
  'word\u2003word\u1680word\u001cword',
  'boom goes the line',
  '',
  'n=72 and n=0.5 and n=1e+21',
  'n=1e-7 n=123456789012 n=-0.25',
  'Émile wrote 12\nQuestion: what? #### 72',
  '-3.5 is it #### -3.50',
  'answer: 1,234\n',
  'ends with 42\n',
  // Paired with PROMPTS[4], [5], [0], ... in turn: each record's number as JavaScript's String() writes it.
  'n=123456789012',
  'n=-0.25 #### -3.5',
  'n=72 and more',
  'n=0.5',
  'n=1e+21',
  'n=1e-7',
  // JavaScript's trim() removes U+FEFF but not U+001C; Python's strip() does the opposite.
  '\ufeff{"ok": true}',
  '{"ok": true}\u001c',
];

export const grpoSpec = (): TrlProjectSpec => ({
  ...base('grpo', { family: 'prompts', train: PROMPTS.slice(0, 4), eval: PROMPTS.slice(4) }),
  loop: { ...LOOP, batchSize: 4, gradAccum: 4 },
  maxLength: undefined,
  grpo: {
    numGenerations: 4,
    numGenerationsEval: 2,
    maxCompletionLength: 48,
    temperature: 0.9,
    topP: 0.95,
    topK: 40,
    stopStrings: STOPS,
    beta: 0.04,
    numIterations: 2,
    epsilon: 0.2,
    epsilonHigh: 0.28,
    lossType: 'dr_grpo',
    scaleRewards: 'batch',
    maskTruncatedCompletions: true,
    rewards: REWARDS,
    rewardTimeLimitMs: 2000,
  },
});
