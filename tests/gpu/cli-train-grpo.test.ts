// `tunelab train --method grpo` as a user runs it (the CLI's main() in this process, on dawn.node):
// - fixed completions and rewards (--rollouts FILE): K AdamW steps from an --init-adapter, with the KL term,
//   num_iterations 2 (old log-probabilities, clipped tokens) and gradient accumulation 2, end with the float64
//   CPU reference's adapter (runGrpoTraining on CpuBackend over the same file), and step 1's loss, kl and the
//   advantages (TRL's formula) equal the reference's, on tiny Llama-GQA, Qwen2 and GPT-2;
// - rollouts sampled on stories260K are reproducible: a second run of the same seed, stopped mid-way through
//   a generation batch's iterations and resumed, writes the same rollouts.jsonl and metrics.jsonl (held-out
//   evaluations included) and ends with the same adapter; another seed samples other completions;
// - reward-module exports that reach for the network, modules or eval, loop forever or throw leave the run
//   going: those completions score 0, the failures are counted in metrics.jsonl and named on stderr, and a
//   local server sees no request;
// - bad command lines and files fail with errors that name the flag, the file and the line.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initAdapter, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import { parseRolloutsFile } from '../../src/engine/data/rollouts-file';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { CpuBackend } from '../../src/engine/train/cpu/cpu-backend';
import { buildCpuTrainModel } from '../../src/engine/train/cpu/cpu-train-model';
import type { RolloutRow } from '../../src/engine/train/grpo/rollout-feed';
import { FileRolloutSource } from '../../src/engine/train/grpo/rollout-source';
import { runGrpoTraining } from '../../src/engine/train/grpo/run-grpo';
import { makeGrpoObjective } from '../../src/engine/train/objectives/make-objective';
import type { StepMetrics } from '../../src/engine/train/train-loop';
import { Rng } from '../../src/engine/util/rng';
import { readAdapterDir, writeAdapterDir } from '../../src/node/adapter-files';
import { relativeError } from '../helpers/assert';
import { startCanaryServer } from '../helpers/canary-server';
import { readMetrics } from '../helpers/cli';
import { tunelabInProcess as tunelab } from '../helpers/cli-in-process';
import { fixedRolloutGroups, toJsonl, trlGroupAdvantages } from '../helpers/grpo-cli';
import { loadModel, STORIES260K_DIR, writeTinyModel, type LoadedModel, type TinyKind } from '../helpers/tiny-models';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tunelab-cli-grpo-'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const readJsonl = async <T>(file: string): Promise<T[]> =>
  (await readFile(file, 'utf8')).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

type RolloutLine = RolloutRow & { step: number; generation: number };

/** PEFT's init with B made non-zero (an SFT adapter), on every linear layer. */
function sftLikeAdapter(kind: TinyKind, weights: Parameters<typeof planAdapter>[1], seed: number): LoraAdapter {
  const rng = new Rng(seed);
  const adapter = initAdapter(planAdapter(kind, weights, { r: 4, alpha: 8, dropout: 0, targets: ['all-linear'], useRslora: false }), rng);
  for (const m of adapter.modules) m.b.set(rng.normals(m.b.length, 0.1));
  return adapter;
}

interface FixedCase {
  kind: TinyKind;
  lossType: 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';
  /** Upper clip bound (default: epsilon = 0.2). */
  epsilonHigh?: number;
}

const FIXED_CASES: FixedCase[] = [
  { kind: 'llama', lossType: 'dapo', epsilonHigh: 0.28 },
  { kind: 'qwen2', lossType: 'grpo' },
  { kind: 'gpt2', lossType: 'bnpo' },
];

/** Large enough that the second iteration on each generation batch clips some tokens. */
const FIXED_LR = 4e-3;

describe('tunelab train --method grpo --rollouts FILE against the float64 reference', () => {
  for (const c of FIXED_CASES) {
    it(`${c.kind}, loss ${c.lossType}: K = 4 AdamW steps (num_iterations 2, grad accum 2, beta 0.04) from an --init-adapter equal the CPU reference`, async () => {
      const dir = join(work, `fixed-${c.kind}`);
      await writeTinyModel(join(dir, 'model'), c.kind, { seed: 7 });
      const model = await loadModel(join(dir, 'model'));
      const init = sftLikeAdapter(c.kind, model.weights, 11);
      await writeAdapterDir(join(dir, 'init'), init, 'tiny');
      const G = 4;
      const groups = fixedRolloutGroups(4, G, model.config.vocabSize, model.config.eosTokenIds[0], 5);
      const file = join(dir, 'rollouts.jsonl');
      await writeFile(file, toJsonl(groups));
      const K = 4;
      const out = join(dir, 'run');
      const hyper = { lr: FIXED_LR, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 };
      const grpo = { beta: 0.04, numGenerations: G, numIterations: 2, lossType: c.lossType, epsilonHigh: c.epsilonHigh, maxCompletionLength: 8 };
      const run = await tunelab([
        'train', '--model', join(dir, 'model'), '--method', 'grpo', '--rollouts', file, '--init-adapter', join(dir, 'init'), '--eval-split', '0',
        '--num-generations', String(G), '--num-iterations', '2', '--beta', '0.04', '--loss-type', c.lossType, ...(c.epsilonHigh ? ['--epsilon-high', String(c.epsilonHigh)] : []),
        '--max-completion-length', '8', '--batch-size', '4', '--grad-accum', '2', '--steps', String(K), '--lr', String(FIXED_LR), '--scheduler', 'constant',
        '--max-grad-norm', '0', '--weight-decay', '0', '--weights', 'f32', '--seed', '3', '--out', out, '--quiet',
      ]);
      expect(run.status, run.stderr).toBe(0);

      // The reference: the same objective and feed over the same file on the float64 CPU backend.
      const objective = makeGrpoObjective(grpo);
      const source = new FileRolloutSource(parseRolloutsFile(toJsonl(groups), file, model.config.vocabSize), model.config.eosTokenIds);
      const refSteps: StepMetrics[] = [];
      const refRows: RolloutRow[][] = [];
      let refAdapter: LoraAdapter | undefined;
      const loop = { batchSize: 4, gradAccum: 2, steps: K, scheduler: 'constant' as const, warmupSteps: 0, evalEvery: 0, saveEvery: 0, seed: 3, ...hyper };
      const backend = new CpuBackend(buildCpuTrainModel(model.config, model.weights), init, { reference: init });
      await runGrpoTraining(backend, objective, source, loop, {
        onStep: (m) => void refSteps.push(m),
        onRollouts: (r) => void refRows.push(r.rows),
        onCheckpoint: (ck) => void (refAdapter = ck.adapter),
      });

      const saved = await readAdapterDir(out, c.kind, model.weights);
      let worst = 0;
      saved.modules.forEach((m, i) => {
        worst = Math.max(worst, relativeError(m.a, refAdapter!.modules[i].a), relativeError(m.b, refAdapter!.modules[i].b));
      });
      let moved = 0;
      saved.modules.forEach((m, i) => (moved = Math.max(moved, relativeError(m.b, init.modules[i].b))));
      const rows = (await readMetrics(out)).filter((r) => r.loss !== undefined);
      console.log(
        `GRPO ${c.kind} ${c.lossType}: ${K} steps, worst relative error of A/B vs float64 ${worst.toExponential(2)} (adapter moved ${moved.toExponential(2)}); ` +
          rows.map((r, k) => `step ${r.step}: loss ${r.loss!.toExponential(4)} ref ${refSteps[k].loss.toExponential(4)}, kl ${r.kl!.toExponential(3)} ref ${refSteps[k].objective.kl.toExponential(3)}, clipped ${r['clip_ratio/region_mean']} ref ${refSteps[k].objective['clip_ratio/region_mean']}`).join('; '),
      );
      expect(worst).toBeLessThan(1e-4);
      expect(moved).toBeGreaterThan(1e-2);

      expect(rows.map((r) => r.step)).toEqual([1, 2, 3, 4]);
      rows.forEach((r, k) => {
        const ref = refSteps[k];
        expect(Math.abs(r.loss! - ref.loss), `loss at step ${r.step}`).toBeLessThan(1e-5 * Math.max(1e-3, Math.abs(ref.loss)));
        expect(Math.abs(r.kl! - ref.objective.kl), `kl at step ${r.step}`).toBeLessThan(1e-4 * Math.abs(ref.objective.kl) + 1e-7);
        expect(r['clip_ratio/region_mean']).toBe(ref.objective['clip_ratio/region_mean']);
        expect(r.reward).toBe(ref.objective.reward);
        expect(r.frac_reward_zero_std).toBe(ref.objective.frac_reward_zero_std);
      });
      // Step 1 trains at ratio 1 with the policy equal to the reference; later steps moved away and the
      // second pass over each generation batch clipped tokens.
      expect(Math.abs(rows[0].kl!)).toBeLessThan(1e-6);
      expect(rows[1].kl!).toBeGreaterThan(1e-5);
      expect(rows[0]['clip_ratio/region_mean']).toBe(0);
      expect(rows[1]['clip_ratio/region_mean']! + rows[3]['clip_ratio/region_mean']!).toBeGreaterThan(0);

      // Advantages: TRL's formula on the file's rewards, as the reference computed them, in rollouts.jsonl.
      const written = await readJsonl<RolloutLine>(join(out, 'rollouts.jsonl'));
      expect(written.map((r) => r.generation)).toEqual([...Array(8).fill(0), ...Array(8).fill(1)]);
      expect(written.map((r) => r.step)).toEqual([...Array(8).fill(1), ...Array(8).fill(3)]);
      const refFlat = refRows.flat();
      written.forEach((r, i) => {
        expect(r.advantage).toBe(refFlat[i].advantage);
        expect([r.reward, r.tokens, r.truncated]).toEqual([refFlat[i].reward, refFlat[i].tokens, refFlat[i].truncated]);
      });
      // Each group of rows is a group of the file (its ids shown as text), in the order the seed drew them.
      const tokenizer = new ModelTokenizer(model.files);
      const text = (ids: number[]) => tokenizer.decode(ids, { skipSpecialTokens: true });
      const drawn = new Set<number>();
      for (let g = 0; g < written.length; g += G) {
        const rowsOf = written.slice(g, g + G);
        const index = groups.findIndex((x) => text(x.prompt_input_ids) === rowsOf[0].prompt && x.completion_input_ids.every((ids, k) => text(ids) === rowsOf[k].completion));
        expect(index, `the group of rollouts.jsonl rows ${g + 1}..${g + G}`).toBeGreaterThanOrEqual(0);
        drawn.add(index);
        const group = groups[index];
        const expected = trlGroupAdvantages(group.rewards);
        rowsOf.forEach((r, k) => {
          expect(r.reward).toBe(group.rewards[k]);
          expect(r.tokens).toBe(group.completion_input_ids[k].length);
          expect(Math.abs(r.advantage - expected[k])).toBeLessThan(1e-12);
          expect(r.truncated).toBe(k % 2 === 1);
        });
      }
      // All four groups were trained on, the zero-std one included.
      expect(drawn.size).toBe(4);
    });
  }
});

/** Eight story openings, each with the name the contains={name} reward looks for. */
const NAMES = ['Tim', 'Sue', 'Max', 'Lily', 'Ben', 'Anna', 'Tom', 'Mia'];

async function writePrompts(file: string): Promise<string> {
  await writeFile(file, toJsonl(NAMES.map((name) => ({ prompt: `Once upon a time there was a child named ${name}.`, name }))));
  return file;
}

/**
 * Sampled rollouts on stories260K: 2 prompts x 2 completions of up to 8 tokens per generation batch, and 2
 * held-out prompts x 2 completions at each evaluation (every `evalEvery` steps; 0: none).
 */
function storiesArgs(prompts: string, out: string, seed: number, steps: number, evalEvery = 1): string[] {
  return [
    'train', '--model', STORIES260K_DIR, '--method', 'grpo', '--data', prompts, '--eval-split', '0.25', '--eval-every', String(evalEvery), '--reward', 'contains={name}',
    '--num-generations', '2', '--num-generations-eval', '2', '--batch-size', '4', '--max-completion-length', '8', '--num-iterations', '2', '--beta', '0.04',
    '--lr', '5e-4', '--steps', String(steps), '--seed', String(seed), '--out', out, '--quiet',
  ];
}

const TIMINGS = ['tokens_per_s', 'rollout_tokens_per_s', 'rollout_seconds', 'reward_seconds'];
const withoutTimings = (row: object) => Object.fromEntries(Object.entries(row).filter(([k]) => !TIMINGS.includes(k)));

async function adapterOf(dir: string): Promise<LoraAdapter> {
  return readAdapterDir(dir, 'llama', (await stories()).weights);
}

let storiesModel: Promise<LoadedModel> | undefined;
const stories = () => (storiesModel ??= loadModel(STORIES260K_DIR));

describe('sampled rollouts on stories260K are reproducible', () => {
  it('a second run of the same seed, stopped mid-way through a generation batch and resumed, writes the same rollouts.jsonl and ends with the same adapter; another seed samples other completions', async () => {
    const prompts = await writePrompts(join(work, 'stories-prompts.jsonl'));
    const out = (name: string) => join(work, `stories-${name}`);
    // 3 steps of num_iterations 2: generation batches at steps 1 and 3.
    const full = await tunelab(storiesArgs(prompts, out('a'), 1, 3));
    expect(full.status, full.stderr).toBe(0);
    const a = await readFile(join(out('a'), 'rollouts.jsonl'), 'utf8');
    const rowsA = a.trim().split('\n').map((l) => JSON.parse(l) as RolloutLine);
    expect(rowsA.map((r) => r.generation)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(rowsA.map((r) => r.step)).toEqual([1, 1, 1, 1, 3, 3, 3, 3]);
    expect(new Set(rowsA.map((r) => r.completion)).size).toBeGreaterThan(4);

    // Stopped after step 1, the first of generation batch 0's two steps: step 2 must train on the batch kept
    // in the checkpoint (old and reference log-probabilities included), and step 3 sample generation batch 1
    // with the sampler where the uninterrupted run had it.
    const stopped = await tunelab([...storiesArgs(prompts, out('c'), 1, 3), '--stop-after-step', '1']);
    expect(stopped.status, stopped.stderr).toBe(0);
    expect(await readJsonl<RolloutLine>(join(out('c'), 'rollouts.jsonl'))).toEqual(rowsA.slice(0, 4));
    const resumed = await tunelab([...storiesArgs(prompts, out('c'), 1, 3), '--resume', join(out('c'), 'checkpoints', 'step-1')]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(await readFile(join(out('c'), 'rollouts.jsonl'), 'utf8')).toBe(a);
    const [adapterA, adapterC] = await Promise.all([adapterOf(out('a')), adapterOf(out('c'))]);
    let worst = 0;
    adapterC.modules.forEach((m, i) => (worst = Math.max(worst, relativeError(m.a, adapterA.modules[i].a), relativeError(m.b, adapterA.modules[i].b))));
    console.log(`stories260K GRPO: stop after step 1 + resume vs uninterrupted: worst relative adapter difference ${worst.toExponential(2)}`);
    expect(worst).toBe(0);
    // metrics.jsonl too, the held-out evaluation of the step the run stopped at included; only timings differ.
    const [metricsA, metricsC] = await Promise.all([readMetrics(out('a')), readMetrics(out('c'))]);
    expect(metricsA.map((r) => r.step)).toEqual([0, 1, 1, 2, 2, 3, 3]);
    expect(metricsC.map(withoutTimings)).toEqual(metricsA.map(withoutTimings));

    const other = await tunelab(storiesArgs(prompts, out('d'), 2, 1, 0));
    expect(other.status, other.stderr).toBe(0);
    const rowsD = await readJsonl<RolloutLine>(join(out('d'), 'rollouts.jsonl'));
    expect(rowsD).toHaveLength(4);
    expect(rowsD.map((r) => `${r.prompt}|${r.completion}`)).not.toEqual(rowsA.slice(0, 4).map((r) => `${r.prompt}|${r.completion}`));
    // Where both seeds drew the same prompt, other completions.
    for (const d of rowsD) {
      const same = rowsA.filter((x) => x.generation === 0 && x.prompt === d.prompt);
      expect(same.map((x) => x.completion)).not.toContain(d.completion);
    }
  });
});

/** A reward module whose exports try what the sandbox forbids; `ok` is an honest reward. */
function hostileModule(url: string): string {
  return [
    'export function ok(completion) { return completion.length > 0 ? 1 : 0.5; }',
    `export function net(completion) { fetch('${url}/fetch?c=' + encodeURIComponent(completion)); return 1; }`,
    `export function xhr() { const x = new XMLHttpRequest(); x.open('GET', '${url}/xhr', false); x.send(); return 1; }`,
    "export function mod() { return require('node:fs') ? 1 : 1; }",
    // The word would be refused in the file itself (a test below); built at run time, eval is cut off.
    "export function dyn() { return (0, eval)('imp' + 'ort(\"node:fs\")') ? 1 : 1; }",
    'export const spin = () => { while (true) {} };',
    "export function boom() { throw new RangeError('boom on purpose'); }",
    '',
  ].join('\n');
}

describe('reward functions in the sandbox during a run', () => {
  it('network, modules, eval, an endless loop and a throw score 0 with counted, visible errors; the run completes and no request gets out', async () => {
    const canary = await startCanaryServer();
    try {
      const module = join(work, 'hostile-rewards.mjs');
      await writeFile(module, hostileModule(canary.url));
      const prompts = await writePrompts(join(work, 'sandbox-prompts.jsonl'));
      const out = join(work, 'sandbox-run');
      const run = await tunelab([
        'train', '--model', STORIES260K_DIR, '--method', 'grpo', '--data', prompts, '--eval-split', '0', '--reward-module', module,
        '--reward-time-limit', '200', '--num-generations', '2', '--batch-size', '4', '--max-completion-length', '6', '--steps', '1', '--out', out,
      ]);
      expect(run.status, run.stderr).toBe(0);
      const failing = ['net', 'xhr', 'mod', 'dyn', 'spin', 'boom'];
      const calls = 4 * failing.length;
      const failed = run.stderr.split('\n').find((l) => l.startsWith('step 1:'));
      console.log(`sandbox run: ${failed}`);
      expect(failed).toMatch(new RegExp(`^step 1: ${calls} reward calls failed and scored 0 \\(first: net on group 0, completion 0: TypeError: fetch is not available in the sandbox`));
      const [row] = (await readMetrics(out)).filter((r) => r.loss !== undefined);
      expect(row.reward_errors).toBe(calls);
      for (const name of failing) expect(row[`rewards/${name}/mean`], name).toBe(0);
      expect(row['rewards/ok/mean']).toBeGreaterThan(0);
      const rollouts = await readJsonl<RolloutLine>(join(out, 'rollouts.jsonl'));
      expect(rollouts).toHaveLength(4);
      for (const r of rollouts) {
        expect(r.rewards).toEqual({ ok: r.completion.length > 0 ? 1 : 0.5, net: 0, xhr: 0, mod: 0, dyn: 0, spin: 0, boom: 0 });
        expect(r.reward).toBe(r.rewards.ok);
      }
      expect(canary.requests).toEqual([]);
    } finally {
      await canary.close();
    }
  });

  it('a module that names import() is refused before the model loads, naming the file and line', async () => {
    const module = join(work, 'imports.mjs');
    await writeFile(module, "export function ok() { return 1; }\nexport function load() { return import('node:fs') ? 1 : 0; }\n");
    const run = await tunelab(['train', '--model', join(work, 'no-such-model'), '--method', 'grpo', '--data', join(work, 'no-such-data.jsonl'), '--reward-module', module, '--out', join(work, 'imports-run')]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`${module}:2`);
    expect(run.stderr).toMatch(/import\(\) is not allowed/);
  });
});

describe('bad command lines and files', () => {
  const base = ['train', '--model', STORIES260K_DIR, '--method', 'grpo', '--quiet', '--out', join(tmpdir(), 'tunelab-grpo-never-written')];

  it('--method grpo without reward functions is a usage error naming --reward', async () => {
    const run = await tunelab([...base, '--data', join(work, 'stories-prompts.jsonl')]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--method grpo needs reward functions: --reward LIST/);
  });

  it('batch size x grad accum not a multiple of --num-generations is a usage error, before the model loads', async () => {
    const run = await tunelab([...base.slice(0, 2), join(work, 'no-such-model'), ...base.slice(3), '--data', 'x.jsonl', '--reward', 'json', '--num-generations', '4', '--batch-size', '3', '--grad-accum', '2']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--batch-size x --grad-accum (3 x 2 = 6 completions per step) must be a multiple of --num-generations (4)');
  });

  it('a --rollouts file with a bad line fails naming the file, the line and the field; a group size other than --num-generations names both', async () => {
    const good = fixedRolloutGroups(2, 2, 512, 2, 1);
    const file = join(work, 'bad-rollouts.jsonl');
    await writeFile(file, toJsonl([good[0], { ...good[1], rewards: [1] }]));
    const run = await tunelab([...base, '--rollouts', file, '--num-generations', '2', '--batch-size', '2']);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${file}: line 2: field "rewards" must hold one reward per completion (2), got 1`);

    const sizes = join(work, 'g2-rollouts.jsonl');
    await writeFile(sizes, toJsonl(good));
    const mismatch = await tunelab([...base, '--rollouts', sizes, '--num-generations', '4', '--batch-size', '4']);
    expect(mismatch.status).toBe(2);
    expect(mismatch.stderr).toContain(`${sizes}: its groups have 2 completions each, but --num-generations is 4`);
  });
});
