// The answers a model gives to MT-Bench questions, as FastChat's gen_model_answer.py collects them: the
// first turn from the question alone, the second turn from the conversation so far (question 1, the
// model's own answer 1, question 2); each answer stripped of surrounding whitespace. Unlike FastChat, which
// samples writing and roleplay at temperature 0.7 (temperature_config in common.py), decoding is greedy
// unless the caller asks otherwise. Questions of a turn are decoded together, `batchSize` at a time.
//
// Public API: answerQuestions(lm, tokenizer, sources, questions, options) -> string[][] (per question, per turn).

import type { CausalLm } from '../../model/causal-lm';
import type { ChatMessage } from '../../model/chat-template';
import { generate } from '../../model/generate';
import { resolveGenerateOptions, type GenerateOverrides, type GenerationSources } from '../../model/generation-options';
import type { ModelTokenizer } from '../../model/tokenizer';
import { ConversationEncoder, type PromptStyle } from './conversation';
import type { JudgeQuestion } from './records';

export interface AnswerOptions {
  /** 1: the first turn only; 2: both turns of two-turn questions (one-turn questions get one answer). */
  turns: 1 | 2;
  maxNewTokens: number;
  /** Sampling over the model's generation_config.json; default greedy. */
  generation?: Omit<GenerateOverrides, 'maxNewTokens'>;
  /** Default: the model's chat template when it has one, else plain text. */
  style?: PromptStyle;
  /** Sequences per generate() call (default 8). */
  batchSize?: number;
  signal?: AbortSignal;
  /** Called after each batch with the answers finished so far, of all that will be generated. */
  onProgress?(done: number, total: number): void;
}

export async function answerQuestions(
  lm: CausalLm,
  tokenizer: ModelTokenizer,
  sources: GenerationSources,
  questions: readonly JudgeQuestion[],
  options: AnswerOptions,
): Promise<string[][]> {
  const encoder = new ConversationEncoder(tokenizer, options.style);
  const decode = resolveGenerateOptions(sources, { temperature: 0, ...options.generation, maxNewTokens: options.maxNewTokens }, (t) => tokenizer.tokenId(t));
  const batchSize = Math.max(1, options.batchSize ?? 8);
  const answers: string[][] = questions.map(() => []);
  const turnsOf = (q: JudgeQuestion) => Math.min(options.turns, q.turns.length);
  const total = questions.reduce((n, q) => n + turnsOf(q), 0);
  let done = 0;
  for (let turn = 0; turn < options.turns; turn++) {
    const asked = questions.flatMap((q, i) => (turnsOf(q) > turn ? [i] : []));
    for (let start = 0; start < asked.length; start += batchSize) {
      options.signal?.throwIfAborted();
      const chunk = asked.slice(start, start + batchSize);
      const prompts = chunk.map((i) => promptIds(encoder, lm, questions[i], answers[i], turn));
      const results = await generate(lm, prompts, decode, { tokenizer, signal: options.signal });
      options.signal?.throwIfAborted();
      results.forEach((r, j) => answers[chunk[j]].push((r.text ?? '').trim()));
      done += chunk.length;
      options.onProgress?.(done, total);
    }
  }
  return answers;
}

/** The conversation up to `turn`'s question: earlier questions with the model's own earlier answers. */
function promptIds(encoder: ConversationEncoder, lm: CausalLm, question: JudgeQuestion, earlier: readonly string[], turn: number): number[] {
  const messages: ChatMessage[] = [];
  for (let t = 0; t < turn; t++) messages.push({ role: 'user', content: question.turns[t] }, { role: 'assistant', content: earlier[t] });
  messages.push({ role: 'user', content: question.turns[turn] });
  const ids = encoder.encode(messages);
  if (ids.length >= lm.config.maxPositions) {
    throw new RangeError(`question ${question.questionId}, turn ${turn + 1}: the prompt has ${ids.length} tokens and the model's context holds ${lm.config.maxPositions}`);
  }
  return ids;
}
