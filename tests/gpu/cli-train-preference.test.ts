// `tunelab train --method dpo` and `tunelab eval --method dpo` as a user runs them (the command line's main in
// this process, on one shared dawn.node device) against the float64 CPU reference: K AdamW steps of DPO from an --init-adapter (so the
// reference is base + that adapter, frozen) on two pre-tokenized pairs end with the reference's adapter, and
// every logged loss and reward equals the reference's; a fresh adapter logs loss log 2 and zero rewards at
// step 1 exactly; a non-finite loss stops SFT and DPO runs with a non-zero exit, naming the step, keeping
// the last checkpoint; eval prints the preference metrics of the base against itself.

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initAdapter, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import { buildCpuTrainModel } from '../../src/engine/train/cpu/cpu-train-model';
import { cpuObjectiveSteps } from '../../src/engine/train/cpu/cpu-train-step';
import { makeObjective } from '../../src/engine/train/objectives/make-objective';
import { Rng } from '../../src/engine/util/rng';
import { readAdapterDir, writeAdapterDir } from '../../src/node/adapter-files';
import { relativeError } from '../helpers/assert';
import { readMetrics } from '../helpers/cli';
import { tunelabInProcess } from '../helpers/cli-in-process';
import { loadModel, STORIES260K_DIR, type LoadedModel } from '../helpers/tiny-models';

const tunelab = (args: string[]) => tunelabInProcess([...args, '--quiet']);
const SAMPLE = join(__dirname, '../../public/datasets/stories-preference');


let work: string;
let stories: LoadedModel;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tunelab-cli-dpo-'));
  stories = await loadModel(STORIES260K_DIR);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** PEFT's init with B made non-zero, as an SFT adapter would be. */
function sftLikeAdapter(seed: number): LoraAdapter {
  const rng = new Rng(seed);
  const adapter = initAdapter(planAdapter('llama', stories.weights, { r: 4, alpha: 8, dropout: 0, targets: ['all-linear'], useRslora: false }), rng);
  for (const m of adapter.modules) m.b.set(rng.normals(m.b.length, 0.1));
  return adapter;
}

describe('tunelab train --method dpo against the float64 reference', () => {
  it('K = 4 AdamW steps from an --init-adapter (two pre-tokenized pairs in one batch of 2, no clipping, constant lr) equal cpuObjectiveSteps', async () => {
    const init = sftLikeAdapter(3);
    const initDir = join(work, 'init');
    await writeAdapterDir(initDir, init, 'stories260K');
    const rng = new Rng(8);
    const ids = (n: number) => Array.from({ length: n }, () => 3 + rng.int(500));
    const pairs = [
      { prompt_input_ids: [1, ...ids(5)], chosen_input_ids: ids(9), rejected_input_ids: ids(7) },
      { prompt_input_ids: [1, ...ids(3)], chosen_input_ids: ids(6), rejected_input_ids: ids(10) },
    ];
    await writeFile(join(work, 'pairs.jsonl'), pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
    const out = join(work, 'dpo-k-steps');
    const hyper = { lr: 5e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 };
    const K = 4;
    const run = await tunelab([
      'train', '--model', STORIES260K_DIR, '--method', 'dpo', '--beta', '0.2', '--init-adapter', initDir, '--data', join(work, 'pairs.jsonl'),
      '--eval-split', '0', '--batch-size', '2', '--max-grad-norm', '0', '--scheduler', 'constant', '--lr', String(hyper.lr), '--weight-decay', '0',
      '--steps', String(K), '--weights', 'f32', '--out', out,
    ]);
    expect(run.status, run.stderr).toBe(0);

    const objective = makeObjective('dpo', { beta: 0.2 });
    const batch = objective.batch(pairs.map((p, i) => ({ line: i + 1, prompt: p.prompt_input_ids, chosen: p.chosen_input_ids, rejected: p.rejected_input_ids })));
    const ref = cpuObjectiveSteps(buildCpuTrainModel(stories.config, stories.weights), init, batch, objective, hyper, K, init);
    const saved = await readAdapterDir(out, 'llama', stories.weights);
    let worst = 0;
    saved.modules.forEach((m, i) => {
      worst = Math.max(worst, relativeError(m.a, ref.adapter.modules[i].a), relativeError(m.b, ref.adapter.modules[i].b));
    });
    console.log(`DPO ${K} steps from an init adapter: worst relative error of A/B vs float64: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
    // The adapter really moved away from the reference.
    expect(relativeError(saved.modules[0].b, init.modules[0].b)).toBeGreaterThan(1e-3);

    const rows = (await readMetrics(out)).filter((r) => r.loss !== undefined);
    expect(rows.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    // Step 1: the policy is the reference, so these are log 2 and zeros on both sides; later steps are not.
    expect(rows[0].loss).toBe(ref.losses[0]);
    expect(rows[0]['rewards/chosen']).toBe(ref.metrics[0]['rewards/chosen']);
    expect(rows[0]['rewards/margins']).toBe(0);
    rows.forEach((r, k) => {
      console.log(`step ${r.step}: loss ${r.loss} ref ${ref.losses[k]}; margin ${r['rewards/margins']} ref ${ref.metrics[k]['rewards/margins']}`);
      expect(Math.abs(r.loss! - ref.losses[k]) / ref.losses[k]).toBeLessThan(1e-5);
      for (const name of ['rewards/chosen', 'rewards/rejected', 'rewards/margins', 'logps/chosen', 'logps/rejected']) {
        expect(Math.abs(r[name]! - ref.metrics[k][name]), `${name} at step ${r.step}`).toBeLessThan(1e-4 * (1 + Math.abs(ref.metrics[k][name])));
      }
      expect(r['rewards/accuracies']).toBe(ref.metrics[k]['rewards/accuracies']);
    });
    expect(Math.abs(rows[K - 1]['rewards/margins']!)).toBeGreaterThan(1e-3);
    const run1 = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(run1).toMatchObject({ method: 'dpo', beta: 0.2, loss_type: 'sigmoid', reference: `base + ${initDir} (frozen)` });
  });

  it('a fresh adapter logs loss log 2 and zero rewards and margins at step 1, exactly', async () => {
    const out = join(work, 'dpo-fresh');
    const run = await tunelab([
      'train', '--model', STORIES260K_DIR, '--method', 'dpo', '--data', join(SAMPLE, 'train.jsonl'), '--eval-split', '0',
      '--batch-size', '4', '--steps', '1', '--target', 'all-linear', '--out', out,
    ]);
    expect(run.status, run.stderr).toBe(0);
    const [row] = await readMetrics(out);
    expect(row.step).toBe(1);
    expect(row.loss).toBe(Math.LN2);
    expect(row['rewards/chosen']).toBe(0);
    expect(row['rewards/rejected']).toBe(0);
    expect(row['rewards/margins']).toBe(0);
    expect(row['logps/chosen']).toBeLessThan(-10);
  });
});

describe('a non-finite loss stops the run (SFT runs too: tests/unit/train-loop.test.ts)', () => {
  for (const method of ['dpo'] as const) {
    it(`${method}: at the step it happens, exit status 1, the message names it, the last checkpoint stays`, async () => {
      const out = join(work, `nan-${method}`);
      const data = join(SAMPLE, 'train.jsonl');
      // An absurd learning rate moves every parameter by ~1e30 in one AdamW step: the next forward overflows.
      const run = await tunelab([
        'train', '--model', STORIES260K_DIR, '--method', method, '--data', data, '--eval-split', '0', '--batch-size', '2', '--steps', '6',
        '--lr', '1e30', '--max-grad-norm', '0', '--scheduler', 'constant', '--save-every', '1', '--target', 'all-linear', '--out', out,
      ]);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/Training stopped at step 2: the (loss|gradient norm) is (NaN|-?Infinity) \(not a finite number\).*the last good checkpoint \(step 1\) is kept/);
      const rows = await readMetrics(out);
      expect(rows.map((r) => r.step)).toEqual([1]);
      expect(Number.isFinite(rows[0].loss)).toBe(true);
      expect(await readdir(join(out, 'checkpoints'))).toEqual(['step-1']);
    });
  }
});

describe('tunelab eval --method dpo', () => {
  it('the base against itself: loss log 2, zero margins, and the preference accuracy of its own log-probabilities', async () => {
    const run = await tunelab(['eval', '--model', STORIES260K_DIR, '--method', 'dpo', '--data', join(SAMPLE, 'eval.jsonl'), '--samples', '0', '--max-new-tokens', '4']);
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ method: 'dpo', pairs: 40, loss: Math.LN2, mean_margin: 0, 'rewards/accuracies': 0 });
    // The share of pairs whose chosen answer has the higher summed log-probability: a k / 40 fraction.
    expect(Number.isInteger(result.preference_accuracy * 40)).toBe(true);
    expect(result.preference_accuracy).toBe(result['logps/accuracy']);
    expect(result.preference_accuracy).toBeGreaterThan(0.2);
    expect(result.preference_accuracy).toBeLessThan(0.9);
  });
});
