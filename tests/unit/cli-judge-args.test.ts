// `tunelab judge` flags: every flag read, the defaults, and one-line usage errors for what does not go
// together; the judge inputs refused with the bad line's own message before any model is loaded.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args';
import { readJudgeInputs } from '../../src/cli/commands/judge-inputs';
import { main } from '../../src/cli/main';
import { parseJudgeArgs } from '../../src/cli/options/judge';
import type { TextSink } from '../../src/cli/streams';

const BASE = ['--model', 'm', '--judge', 'j', '--questions', 'q.jsonl'];
const MT_BENCH = resolve(__dirname, '../../../shared/assets/datasets/mt-bench');

function usageError(parse: () => unknown): string {
  try {
    parse();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  return expect.fail('expected a UsageError');
}

describe('tunelab judge flags', () => {
  it('reads every flag', () => {
    const a = parseJudgeArgs([
      ...BASE, '--adapter', 'ad', '--pairwise', '--judge-prompts', 'p.jsonl', '--judge-prompt=pair-v2', '--reference-answers', 'r.jsonl',
      '--turns', '2', '--limit', '5', '--max-new-tokens', '64', '--judge-max-new-tokens=32', '--batch-size', '4', '--json', 'out.json',
      '--backend', 'cpu', '--weights', 'f32', '--quiet',
    ]);
    expect(a).toMatchObject({
      model: 'm', adapter: 'ad', judge: { type: 'model', model: 'j' }, questions: 'q.jsonl', pairwise: true, judgePrompts: 'p.jsonl',
      judgePrompt: 'pair-v2', referenceAnswers: 'r.jsonl', turns: 2, limit: 5, maxNewTokens: 64, judgeMaxNewTokens: 32, batchSize: 4,
      json: 'out.json', backend: 'cpu', weights: 'f32', quiet: true,
    });
  });

  it('defaults: single grading, first turns, FastChat\'s 1024 answer tokens, batch 8', () => {
    expect(parseJudgeArgs(BASE)).toMatchObject({ pairwise: false, turns: 1, maxNewTokens: 1024, judgeMaxNewTokens: 1024, batchSize: 8, adapter: undefined, limit: undefined, json: undefined, judgePrompts: undefined });
  });

  it('an endpoint judge instead of a model, with its model name', () => {
    expect(parseJudgeArgs(['--model', 'm', '--questions', 'q', '--judge-endpoint', 'http://127.0.0.1:8000/v1', '--judge-endpoint-model', 'gpt-x']).judge).toEqual({ type: 'endpoint', url: 'http://127.0.0.1:8000/v1', model: 'gpt-x' });
  });

  it('one-line usage errors', () => {
    expect(usageError(() => parseJudgeArgs(['--model', 'm', '--questions', 'q']))).toBe('tunelab judge needs --judge (e.g. --judge Qwen/Qwen2.5-0.5B-Instruct)');
    expect(usageError(() => parseJudgeArgs(['--model', 'm', '--judge', 'j']))).toBe('tunelab judge needs --questions (e.g. --questions question.jsonl)');
    expect(usageError(() => parseJudgeArgs([...BASE, '--pairwise']))).toBe('--pairwise compares an adapter with the base: give --adapter DIR');
    expect(usageError(() => parseJudgeArgs([...BASE, '--judge-endpoint', 'http://x']))).toBe('--judge and --judge-endpoint exclude each other');
    expect(usageError(() => parseJudgeArgs(['--model', 'm', '--questions', 'q', '--judge-endpoint', 'http://x']))).toBe("--judge-endpoint needs --judge-endpoint-model (the server's model name)");
    expect(usageError(() => parseJudgeArgs([...BASE, '--judge-endpoint-model', 'x']))).toBe('--judge-endpoint-model goes with --judge-endpoint');
    expect(usageError(() => parseJudgeArgs([...BASE, '--turns', '3']))).toBe('--turns must be one of 1, 2, got "3"');
    expect(usageError(() => parseJudgeArgs([...BASE, '--limit', '0']))).toBe('--limit must be an integer >= 1, got 0');
    expect(usageError(() => parseJudgeArgs([...BASE, '--api-key', 'k']))).toMatch(/^unknown flag --api-key for "tunelab judge"/);
  });

  it('is listed in the usage and has its own help', async () => {
    const out: string[] = [];
    const sink: TextSink = { write: (t: string) => out.push(t) };
    expect(await main(['--help'], { stdout: sink, stderr: sink })).toBe(0);
    expect(out.join('')).toMatch(/\n {2}judge {5}LLM-as-a-judge \(MT-Bench\)/);
    out.length = 0;
    expect(await main(['judge', '--help'], { stdout: sink, stderr: sink })).toBe(0);
    expect(out.join('')).toMatch(/^usage: tunelab judge --model DIR\|HUB-ID \[--adapter DIR\] --judge DIR\|HUB-ID --questions FILE \[--pairwise\]/);
    expect(out.join('')).toContain('--judge-prompts FILE');
  });
});

describe('tunelab judge inputs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tunelab-judge-args-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const args = (extra: string[]) => parseJudgeArgs(['--model', 'm', '--judge', 'j', ...extra]);

  it('FastChat\'s prompts beside the questions by default; --limit; both turns pick the multi-turn prompts', async () => {
    const one = await readJudgeInputs(args(['--questions', join(MT_BENCH, 'mt_bench_question.jsonl'), '--limit', '3']));
    expect(one.questions.map((q) => q.questionId)).toEqual([81, 82, 83]);
    expect(one.promptsFile).toBe(join(MT_BENCH, 'judge_prompts.jsonl'));
    expect(one.plans.map((p) => [p.turn, p.prompts.general.name, p.prompts.reference?.name])).toEqual([[1, 'single-v1', 'single-math-v1']]);
    const two = await readJudgeInputs(args(['--questions', join(MT_BENCH, 'mt_bench_question.jsonl'), '--pairwise', '--adapter', 'a', '--turns', '2', '--reference-answers', join(MT_BENCH, 'mt_bench_reference_answer_gpt-4.jsonl')]));
    expect(two.plans.map((p) => [p.turn, p.prompts.general.name, p.prompts.reference?.name])).toEqual([[1, 'pair-v2', 'pair-math-v1'], [2, 'pair-v2-multi-turn', 'pair-math-v1-multi-turn']]);
    expect(two.references?.get(101)?.[0]).toMatch(/^If you have just overtaken/);
  });

  it('refuses a bad line naming file, line and field; a missing prompts file; a prompt of the wrong kind', async () => {
    const q = join(dir, 'question.jsonl');
    await writeFile(q, '{"question_id": 1, "turns": ["a"]}\n{"question_id": 2, "turns": []}\n{"turns": ["x"]}\n');
    await expect(readJudgeInputs(args(['--questions', q]))).rejects.toThrow(`${q}:2: field "turns" must be a non-empty list of strings (and 1 more bad lines)`);
    await writeFile(q, '{"question_id": 1, "turns": ["a"]}\n');
    await expect(readJudgeInputs(args(['--questions', q]))).rejects.toThrow(`${join(dir, 'judge_prompts.jsonl')}: cannot read the judge prompts (give --judge-prompts FILE) (no such file)`);
    const p = join(MT_BENCH, 'judge_prompts.jsonl');
    await expect(readJudgeInputs(args(['--questions', q, '--judge-prompts', p, '--judge-prompt', 'pair-v2']))).rejects.toThrow('--judge-prompt pair-v2 is a pairwise prompt; this is single-answer grading (add --pairwise for pairwise prompts)');
    await expect(readJudgeInputs(args(['--questions', q, '--judge-prompts', p, '--judge-prompt', 'single-v1-multi-turn']))).rejects.toThrow('--judge-prompt single-v1-multi-turn judges turn 2: add --turns 2');
    await expect(readJudgeInputs(args(['--questions', q, '--judge-prompts', p, '--judge-prompt', 'nope']))).rejects.toThrow(/--judge-prompt nope: .* has no such prompt \(it has: pair-v2, /);
    const custom = await readJudgeInputs(args(['--questions', q, '--judge-prompts', p, '--judge-prompt', 'single-math-v1']));
    expect(custom.plans).toEqual([{ turn: 1, prompts: { general: expect.objectContaining({ name: 'single-math-v1' }) } }]);
  });
});
