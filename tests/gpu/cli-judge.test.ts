// `tunelab judge` as a user runs it (the command line's main in this process, on the GPU): stories260K with a random adapter answers,
// the tiny verdict judge (tests/helpers/verdict-judge-model.ts) judges with edited short prompts. Checks the
// JSON on stdout and in --json, the base's answers against the CPU reference's greedy text, the positions of
// the answers in each game's prompt, verdicts read from each judgment, and the summary recomputed from
// the items.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRating, parseWinner } from '../../src/engine/eval/judge/verdict';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { generate } from '../../src/engine/model/generate';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { writeAdapterDir } from '../../src/node/adapter-files';
import { tunelabInProcess as tunelab } from '../helpers/cli-in-process';
import { randomLoraAdapter } from '../helpers/lora-fixtures';
import { loadModel, STORIES260K_DIR, type LoadedModel } from '../helpers/tiny-models';
import { writeVerdictJudgeModel } from '../helpers/verdict-judge-model';

const ANSWER_TOKENS = 8;
const QUESTIONS = [
  { question_id: 1, category: 'writing', turns: ['Once upon a time there was a cat', 'Then the cat'] },
  { question_id: 2, category: 'writing', turns: ['Lily went to the park', 'At the park she'] },
];
// Edited FastChat records (shorter templates), under FastChat's names so its choice by name picks them.
const PROMPTS = [
  { name: 'pair-v2', type: 'pairwise', system_prompt: 'Say [[A]], [[B]] or [[C]].', prompt_template: '[Q] {question}\n[A] {answer_a}\n[B] {answer_b}', output_format: '[[A]]' },
  { name: 'single-v1', type: 'single', system_prompt: 'You are a helpful assistant.', prompt_template: 'Rate as "[[rating]]".\n[Q] {question}\n[Answer] {answer}', output_format: '[[rating]]' },
  { name: 'single-v1-multi-turn', type: 'single', system_prompt: 'Rate the second answer.', prompt_template: '[Q1] {question_1}\n[A1] {answer_1}\n[Q2] {question_2}\n[A2] {answer_2}', output_format: '[[rating]]' },
];

let work: string;
let stories: LoadedModel;
const paths = { judge: '', adapter: '', questions: '', prompts: '' };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tunelab-cli-judge-'));
  Object.assign(paths, { judge: join(work, 'judge'), adapter: join(work, 'adapter'), questions: join(work, 'question.jsonl'), prompts: join(work, 'prompts.jsonl') });
  await writeVerdictJudgeModel(paths.judge, { seed: 1 });
  stories = await loadModel(STORIES260K_DIR);
  const adapter = randomLoraAdapter('llama', stories.weights, { r: 4, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'], useRslora: false }, 7, 0.5);
  await writeAdapterDir(paths.adapter, adapter, 'stories260K');
  await writeFile(paths.questions, QUESTIONS.map((q) => JSON.stringify(q)).join('\n') + '\n');
  await writeFile(paths.prompts, PROMPTS.map((p) => JSON.stringify(p)).join('\n') + '\n');
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const common = () => ['judge', '--model', STORIES260K_DIR, '--adapter', paths.adapter, '--judge', paths.judge, '--questions', paths.questions, '--judge-prompts', paths.prompts, '--max-new-tokens', String(ANSWER_TOKENS), '--judge-max-new-tokens', '5'];

/** The CPU reference's greedy first-turn answer of the base (plain text: stories260K has no chat template). */
async function referenceAnswers(): Promise<string[]> {
  const lm = new CpuCausalLm(stories.config, stories.weights);
  const tokenizer = new ModelTokenizer(stories.files);
  const results = await generate(lm, QUESTIONS.map((q) => tokenizer.encode(q.turns[0])), { maxNewTokens: ANSWER_TOKENS, temperature: 0 }, { tokenizer });
  return results.map((r) => (r.text ?? '').trim());
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('tunelab judge', () => {
  it('--pairwise: both orders per question, verdicts from the judgments, the summary from the items', async () => {
    const out = join(work, 'pairwise.json');
    const r = await tunelab([...common(), '--pairwise', '--json', out]);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as Json;
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(result);
    expect(r.stderr).toMatch(/answers of the adapter: 2\/2/);
    expect(r.stderr).toMatch(/answers of the base model: 2\/2/);
    expect(r.stderr).toMatch(/judging turn 1: 2\/2 questions/);
    expect(result).toMatchObject({ mode: 'pairwise', question_count: 2, turns: [1], judge: paths.judge, adapter: paths.adapter });

    const items = result.items as Json[];
    expect(items.map((i) => i.base_answer)).toEqual(await referenceAnswers());
    expect(items.some((i) => i.adapter_answer !== i.base_answer)).toBe(true);
    const tally = { win: 0, loss: 0, tie: 0, unparsable: 0 };
    for (const [n, item] of items.entries()) {
      expect(item.games.map((g: Json) => [g.a, g.b])).toEqual([['adapter', 'base'], ['base', 'adapter']]);
      expect(item.games[0].user_prompt).toBe(`[Q] ${QUESTIONS[n].turns[0]}\n[A] ${item.adapter_answer}\n[B] ${item.base_answer}`);
      expect(item.games[1].user_prompt).toBe(`[Q] ${QUESTIONS[n].turns[0]}\n[A] ${item.base_answer}\n[B] ${item.adapter_answer}`);
      const winners = item.games.map((g: Json) => {
        const v = parseWinner('[[A]]', g.judgment);
        expect(v.kind === 'winner' ? g.winner : g.unparsable).toBe(v.kind === 'winner' ? (v.winner === 'tie' ? 'tie' : v.winner === 'A' ? g.a : g.b) : v.reason);
        return v.kind === 'winner' ? (v.winner === 'tie' ? 'tie' : v.winner === 'A' ? g.a : g.b) : 'error';
      });
      const outcome = winners.includes('error') ? 'unparsable' : winners[0] !== winners[1] || winners[0] === 'tie' ? 'tie' : winners[0] === 'adapter' ? 'win' : 'loss';
      expect(item.outcome).toBe(outcome);
      tally[outcome as keyof typeof tally]++;
    }
    expect(result.results.turn_1).toMatchObject({ judged: 2, ...tally });
    console.log(`tunelab judge --pairwise: ${JSON.stringify(tally)}; judgments ${JSON.stringify(items.flatMap((i) => i.games.map((g: Json) => g.judgment)))}`);
  });

  it('single grading of both turns: turn 2 with the multi-turn prompt and the model\'s own first answer', async () => {
    const r = await tunelab([...common(), '--turns', '2']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as Json;
    expect(result).toMatchObject({ mode: 'single', turns: [1, 2] });
    expect(Object.keys(result.results)).toEqual(['turn_1', 'turn_2', 'average']);
    const items = result.items as Json[];
    expect(items.map((i) => [i.question_id, i.turn, i.prompt])).toEqual([[1, 1, 'single-v1'], [2, 1, 'single-v1'], [1, 2, 'single-v1-multi-turn'], [2, 2, 'single-v1-multi-turn']]);
    const firstTurn = (id: number, who: string) => items.find((i) => i.question_id === id && i.turn === 1)![who].answer;
    for (const item of items) {
      for (const who of ['base', 'adapter']) {
        const g = item[who];
        const v = parseRating(g.judgment);
        expect(v.kind === 'rating' ? g.rating : g.unparsable).toBe(v.kind === 'rating' ? v.rating : v.reason);
        if (item.turn === 2) {
          const q = QUESTIONS[item.question_id - 1];
          expect(g.user_prompt).toBe(`[Q1] ${q.turns[0]}\n[A1] ${firstTurn(item.question_id, who)}\n[Q2] ${q.turns[1]}\n[A2] ${g.answer}`);
        }
      }
    }
    for (const who of ['base', 'adapter']) {
      const ratings = items.flatMap((i) => (i[who].rating !== undefined ? [i[who].rating as number] : []));
      expect(result.results.average[who]).toMatchObject({ judged: 4, rated: ratings.length, unparsable: 4 - ratings.length, score: ratings.length ? ratings.reduce((a, b) => a + b, 0) / ratings.length : null });
    }
  });

  it('a bad question line is one stderr line naming file, line and field, before any model loads', async () => {
    const bad = join(work, 'bad.jsonl');
    await writeFile(bad, '{"question_id": 1, "turns": ["a"]}\n{"question_id": 2, "turns": "b"}\n');
    const r = await tunelab(['judge', '--model', STORIES260K_DIR, '--judge', paths.judge, '--questions', bad, '--judge-prompts', paths.prompts]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('tunelab:'))).toEqual([`tunelab: ${bad}:2: field "turns" must be a non-empty list of strings`]);
  });
});
