// MT-Bench judging with the REAL engine as the judge: a tiny random Llama on the GPU (its verdict tokens
// boosted, tests/helpers/verdict-judge-model.ts) behind EngineJudge, with FastChat's own pair-v2 and
// single-v1 prompts. Checks that each prompt reaches the network exactly as the chat template renders the
// independently filled template, that the judgments are the network's own greedy generations, and that
// every verdict, the swap/tie accounting and the summary equal what the test computes on its own from
// those generations.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineJudge } from '../../src/engine/eval/judge/engine-judge';
import { mtBenchPromptChoice } from '../../src/engine/eval/judge/prompt-choice';
import { parseJudgePrompts, type JudgePrompt, type JudgeQuestion } from '../../src/engine/eval/judge/records';
import { judgePairwise, judgeSingle } from '../../src/engine/eval/judge/run-judge';
import type { CausalLm, ExtendRequest, LogitsWanted, SequenceState } from '../../src/engine/model/causal-lm';
import { renderChat, type ChatMessage } from '../../src/engine/model/chat-template';
import { generate } from '../../src/engine/model/generate';
import { GpuCausalLm } from '../../src/engine/model/gpu/gpu-model';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { testGpu } from '../helpers/gpu';
import { loadModel, makeTempDir, removeTempDir, type LoadedModel } from '../helpers/tiny-models';
import { writeVerdictJudgeModel } from '../helpers/verdict-judge-model';

// Edited prompts (a shorter template is just another record; FastChat's own ~1900-byte prompts would cost
// minutes per test on a software GPU), named as FastChat's so its choice by name picks them.
const PROMPTS_JSONL = [
  { name: 'pair-v2', type: 'pairwise', system_prompt: 'Compare. Say [[A]], [[B]] or [[C]].', prompt_template: '[Question]\n{question}\n\n[A]\n{answer_a}\n\n[B]\n{answer_b}', output_format: '[[A]]' },
  { name: 'single-v1', type: 'single', system_prompt: 'You are a helpful assistant.', prompt_template: 'Rate 1 to 10 as "[[rating]]".\n[Question]\n{question}\n[Answer]\n{answer}', output_format: '[[rating]]' },
].map((r) => JSON.stringify(r)).join('\n');
const prompts = parseJudgePrompts(PROMPTS_JSONL, 'edited.jsonl').items;
const promptNamed = (name: string) => prompts.find((p) => p.name === name)!;
const NEW_TOKENS = 5;

/** Passes every call to the GPU model and records each sequence's first tokens (its prompt). */
class RecordingLm implements CausalLm {
  readonly prompts: number[][] = [];
  constructor(private readonly inner: CausalLm) {}
  get config() {
    return this.inner.config;
  }
  createSequence(capacity: number): SequenceState {
    return this.inner.createSequence(capacity);
  }
  extend(requests: readonly ExtendRequest[], wanted: LogitsWanted): Promise<Float32Array[]> {
    for (const r of requests) if (r.sequence.length === 0) this.prompts.push(Array.from(r.tokens));
    return this.inner.extend(requests, wanted);
  }
  releaseSequence(sequence: SequenceState): void {
    this.inner.releaseSequence(sequence);
  }
  dispose(): void {}
}

const questions: JudgeQuestion[] = [
  'Write a short poem about the sea.',
  'Explain why the sky is blue.',
  'Give three tips for learning to cook.',
  'Describe a cat in one sentence.',
  'What is the capital of France?',
  'Summarise the plot of a fairy tale.',
].map((text, i) => ({ questionId: 81 + i, category: 'writing', turns: [text] }));
const adapterAnswers = new Map(questions.map((q, i) => [q.questionId, [`Adapter answer ${i}: ${'a calm and careful reply '.repeat(i + 1)}`]]));
const baseAnswers = new Map(questions.map((q, i) => [q.questionId, [`Base answer ${i}: ${'short '.repeat(2 * i + 1)}`]]));

/** The messages, filled here with String.replace (FastChat's values hold no braces). */
function pairMessages(p: JudgePrompt, q: JudgeQuestion, a: string, b: string): ChatMessage[] {
  return [
    { role: 'system', content: p.systemPrompt },
    { role: 'user', content: p.promptTemplate.replace('{question}', q.turns[0]).replace('{answer_a}', a).replace('{answer_b}', b) },
  ];
}

/** FastChat's "[[A]]" reading, written again here: exactly one of the three verdict strings, else none. */
function expectedWinner(judgment: string): 'A' | 'B' | 'tie' | 'error' {
  const present = (['[[A]]', '[[B]]', '[[C]]'] as const).filter((t) => judgment.includes(t));
  return present.length !== 1 ? 'error' : present[0] === '[[C]]' ? 'tie' : present[0] === '[[A]]' ? 'A' : 'B';
}

describe('judging with the engine on the GPU (tiny random judge)', () => {
  let dir: string;
  let loaded: LoadedModel;
  let model: GpuCausalLm;
  let tokenizer: ModelTokenizer;

  beforeAll(async () => {
    dir = await makeTempDir('tunelab-judge-');
    await writeVerdictJudgeModel(dir, { seed: 1 });
    loaded = await loadModel(dir);
    model = await GpuCausalLm.create(await testGpu(), loaded.config, loaded.weights, { weightFormat: 'f32' });
    tokenizer = new ModelTokenizer(loaded.files);
  });

  afterAll(async () => {
    model?.dispose();
    if (dir) await removeTempDir(dir);
  });

  /** The network's own greedy continuations of `messages`, one batch, without EngineJudge. */
  async function greedy(conversations: ChatMessage[][]): Promise<{ ids: number[][]; texts: string[] }> {
    const ids = conversations.map((m) => tokenizer.encode(renderChat(loaded.files.tokenizerConfig, m), { addSpecialTokens: false }));
    const results = await generate(model, ids, { maxNewTokens: NEW_TOKENS, temperature: 0, stopTokenIds: tokenizer.eosTokenIds }, { tokenizer });
    return { ids, texts: results.map((r) => r.text ?? '') };
  }

  it('pairwise with pair-v2: prompts as built, verdicts and swap accounting as computed from the generations', async () => {
    const lm = new RecordingLm(model);
    const judge = new EngineJudge(lm, tokenizer, loaded.files, { name: 'tiny', maxNewTokens: NEW_TOKENS, batchSize: 4 });
    const result = await judgePairwise({ judge, questions, candidate: adapterAnswers, baseline: baseAnswers, prompts: mtBenchPromptChoice(prompts, 'pairwise', false), parallel: 2 });

    const p = promptNamed('pair-v2');
    const conversations = questions.flatMap((q) => [
      pairMessages(p, q, adapterAnswers.get(q.questionId)![0], baseAnswers.get(q.questionId)![0]),
      pairMessages(p, q, baseAnswers.get(q.questionId)![0], adapterAnswers.get(q.questionId)![0]),
    ]);
    const expected = await greedy(conversations);
    // Every prompt reached the network exactly as rendered (in the order the batches were sent).
    expect(lm.prompts).toEqual(expected.ids);
    expect(expected.ids[0].length).toBeGreaterThan(100);
    expect(result.pairs.flatMap((r) => r.games.map((g) => g.messages))).toEqual(conversations);
    expect(result.pairs.flatMap((r) => r.games.map((g) => g.judgment))).toEqual(expected.texts);

    // Verdicts, outcomes and counts, computed here from the same generations.
    const tally = { win: 0, loss: 0, tie: 0, inconsistent: 0, unparsable: 0, unparsableGames: 0 };
    result.pairs.forEach((pair, i) => {
      const g1 = expectedWinner(expected.texts[2 * i]);
      const g2 = expectedWinner(expected.texts[2 * i + 1]);
      // Game 1 has the adapter as A, game 2 as B: name the winners.
      const n1 = g1 === 'A' ? 'candidate' : g1 === 'B' ? 'baseline' : g1;
      const n2 = g2 === 'A' ? 'baseline' : g2 === 'B' ? 'candidate' : g2;
      expect([pair.games[0].winner, pair.games[1].winner]).toEqual([n1, n2]);
      tally.unparsableGames += Number(n1 === 'error') + Number(n2 === 'error');
      let outcome: string;
      if (n1 === 'error' || n2 === 'error') outcome = 'unparsable';
      else if (n1 !== n2) (outcome = 'tie'), tally.inconsistent++;
      else outcome = n1 === 'tie' ? 'tie' : n1 === 'candidate' ? 'win' : 'loss';
      tally[outcome as 'win' | 'loss' | 'tie' | 'unparsable']++;
      expect(pair.outcome).toBe(outcome);
    });
    const decided = tally.win + tally.loss + tally.tie;
    expect(result.summary).toMatchObject({
      judged: questions.length,
      win: tally.win,
      loss: tally.loss,
      tie: tally.tie,
      inconsistent: tally.inconsistent,
      unparsable: tally.unparsable,
      unparsable_games: tally.unparsableGames,
      win_rate: decided > 0 ? tally.win / decided : null,
      win_rate_adjusted: decided > 0 ? (tally.win + tally.tie / 2) / decided : null,
    });
    console.log(`pair-v2 on the tiny judge: ${JSON.stringify(tally)}; judgments ${JSON.stringify(expected.texts)}`);
    // The run covered parsed verdicts, unparsable ones and ties (else it would prove little). A random judge
    // barely notices which answer is where, so wins and losses are left to the stub judge's unit tests.
    expect(tally.unparsableGames).toBeGreaterThan(0);
    expect(tally.unparsableGames).toBeLessThan(2 * questions.length);
    expect(tally.tie).toBeGreaterThan(0);
  });

  it('single-answer grading with single-v1: ratings parsed or counted unparsable exactly', async () => {
    const lm = new RecordingLm(model);
    const judge = new EngineJudge(lm, tokenizer, loaded.files, { name: 'tiny', maxNewTokens: NEW_TOKENS, batchSize: 8 });
    const result = await judgeSingle({ judge, questions, answers: adapterAnswers, prompts: mtBenchPromptChoice(prompts, 'single', false), parallel: 8 });
    const p = promptNamed('single-v1');
    const conversations = questions.map((q): ChatMessage[] => [
      { role: 'system', content: p.systemPrompt },
      { role: 'user', content: p.promptTemplate.replace('{question}', q.turns[0]).replace('{answer}', adapterAnswers.get(q.questionId)![0]) },
    ]);
    const expected = await greedy(conversations);
    expect(lm.prompts).toEqual(expected.ids);
    expect(result.grades.map((g) => g.judgment)).toEqual(expected.texts);
    // Written again here: the [[n]] ratings found; one distinct value in 1-10 is a rating, else unparsable.
    const ratings = expected.texts.map((t) => {
      const found = [...new Set([...t.matchAll(/\[\[(\d+)\]\]/g)].map((m) => Number(m[1])))];
      return found.length === 1 && found[0] >= 1 && found[0] <= 10 ? found[0] : null;
    });
    expect(result.grades.map((g) => (g.verdict.kind === 'rating' ? g.verdict.rating : null))).toEqual(ratings);
    const rated = ratings.filter((r): r is number => r !== null);
    expect(result.summary).toMatchObject({ judged: questions.length, rated: rated.length, unparsable: questions.length - rated.length });
    expect(rated.length).toBeGreaterThan(0);
    expect(rated.length).toBeLessThan(questions.length);
    expect(result.summary.score).toBeCloseTo(rated.reduce((a, b) => a + b, 0) / rated.length, 12);
    console.log(`single-v1 on the tiny judge: ratings ${JSON.stringify(ratings)}; judgments ${JSON.stringify(expected.texts)}`);
  });
});
