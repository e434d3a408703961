// The training loop with the SFT objective on the CPU reference backend: accumulation, metrics, evaluation,
// checkpoints and resume.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TokenizedExample } from '../../src/engine/data/tokenize-sft';
import { initAdapter, planAdapter } from '../../src/engine/lora/adapter';
import { checkpointBytes, readCheckpoint, type TrainCheckpoint } from '../../src/engine/train/checkpoint';
import { firstNonFiniteValue } from '../../src/engine/train/finite-guard';
import { buildCpuTrainModel, type CpuTrainModel } from '../../src/engine/train/cpu/cpu-train-model';
import { makeObjective } from '../../src/engine/train/objectives/make-objective';
import { SftObjective } from '../../src/engine/train/objectives/sft-objective';
import { runTraining, type EvalMetrics, type LoopConfig, type StepMetrics } from '../../src/engine/train/train-loop';
import { GpuOutOfMemoryError } from '../../src/engine/gpu/errors';
import type { TrainerBackend } from '../../src/engine/train/trainer-backend';
import { Rng } from '../../src/engine/util/rng';
import { CpuBackend } from '../../src/engine/train/cpu/cpu-backend';
import { loadModel, makeTempDir, removeTempDir, type LoadedModel } from '../helpers/tiny-models';
import { writeTinyModel } from '../helpers/tiny-models';

let root: string;
let tiny: LoadedModel;
let model: CpuTrainModel;

const LORA = { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false };

/** Counting sequences (start, start + 1, ...): a pattern the adapter can learn within a few steps. */
function examples(n: number, seed: number): TokenizedExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const length = 4 + rng.int(5);
    const start = 3 + rng.int(40);
    const inputIds = Array.from({ length }, (_, t) => start + t);
    return { line: i + 1, inputIds, trainMask: inputIds.map((_, t) => (t >= 2 ? 1 : 0)) };
  });
}

const CONFIG: LoopConfig = {
  batchSize: 2,
  gradAccum: 2,
  steps: 8,
  lr: 3e-2,
  scheduler: 'cosine',
  warmupSteps: 2,
  maxGradNorm: 1,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  evalEvery: 4,
  saveEvery: 3,
  seed: 7,
};

beforeAll(async () => {
  root = await makeTempDir('tunelab-loop-');
  await writeTinyModel(root, 'llama', { sizes: { numLayers: 1, hiddenSize: 16, headDim: 4, intermediateSize: 24, vocabSize: 64 }, std: 0.3 });
  tiny = await loadModel(root);
  model = buildCpuTrainModel(tiny.config, tiny.weights);
});
afterAll(() => removeTempDir(root));

function freshBackend() {
  return new CpuBackend(model, initAdapter(planAdapter('llama', tiny.weights, LORA), new Rng(1)));
}

async function run(config: LoopConfig, signalAfter?: number, resume?: TrainCheckpoint) {
  const steps: StepMetrics[] = [];
  const evals: EvalMetrics[] = [];
  const checkpoints: TrainCheckpoint[] = [];
  const abort = new AbortController();
  const result = await runTraining(freshBackend(), new SftObjective(), examples(10, 3), examples(3, 4), config, {
    onStep: (m) => {
      steps.push(m);
      if (signalAfter !== undefined && m.step === signalAfter) abort.abort();
    },
    onEval: (m) => void evals.push(m),
    onCheckpoint: (c) => void checkpoints.push(c),
    signal: abort.signal,
  }, resume);
  return { steps, evals, checkpoints, result };
}

describe('runTraining with SFT', () => {
  test('metrics per step, eval before training, every 4 steps, checkpoints every 3 and at the end', async () => {
    const { steps, evals, checkpoints, result } = await run(CONFIG);
    expect(result).toEqual({ step: 8, stopped: false });
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(steps[0].lr).toBe(0); // warmup starts at 0
    expect(steps[1].lr).toBeCloseTo(1.5e-2, 12);
    expect(steps[2].lr).toBeCloseTo(3e-2, 12);
    expect(steps.every((s) => s.tokens > s.trained_tokens && s.grad_norm > 0 && s.tokens_per_s > 0)).toBe(true);
    expect(steps[4].epoch).toBe(2); // 5 steps x 4 examples over 10
    expect(evals.map((e) => e.step)).toEqual([0, 4, 8]);
    expect(evals[2].eval_loss).toBeLessThan(evals[0].eval_loss);
    expect(evals[0].eval_perplexity).toBeCloseTo(Math.exp(evals[0].eval_loss), 10);
    expect(checkpoints.map((c) => c.step)).toEqual([3, 6, 8]);
  });

  test('resume from a checkpoint (through its bytes) logs exactly the losses of the uninterrupted run', async () => {
    const full = await run(CONFIG);
    const stopped = await run(CONFIG, 5);
    expect(stopped.result).toEqual({ step: 5, stopped: true });
    const last = stopped.checkpoints.at(-1)!;
    expect(last.step).toBe(5);
    const planned = planAdapter('llama', tiny.weights, LORA);
    const restored = readCheckpoint(checkpointBytes(last), planned);
    const resumed = await run(CONFIG, undefined, restored);
    expect(resumed.steps.map((s) => s.step)).toEqual([6, 7, 8]);
    // The checkpoint stores f32 (as the GPU computes); this float64 backend then differs by rounding only.
    resumed.steps.forEach((s, i) => {
      expect(Math.abs(s.loss - full.steps[5 + i].loss)).toBeLessThan(1e-8 * full.steps[5 + i].loss);
      expect(Math.abs(s.grad_norm - full.steps[5 + i].grad_norm)).toBeLessThan(1e-6 * full.steps[5 + i].grad_norm);
    });
    // A resume that replayed the data order from the start would differ by far more.
    const replay = await run(CONFIG, undefined, { ...restored, cursor: { epoch: 0, position: 0 } });
    expect(Math.abs(replay.steps[0].loss - full.steps[5].loss)).toBeGreaterThan(1e-3);
    expect(resumed.evals.map((e) => e.step)).toEqual([8]); // no second "before" evaluation
  });

  test('a checkpoint for another LoRA config is refused, naming both', async () => {
    const { checkpoints } = await run({ ...CONFIG, steps: 3 });
    const other = planAdapter('llama', tiny.weights, { ...LORA, r: 3 });
    expect(() => readCheckpoint(checkpointBytes(checkpoints[0]), other)).toThrow(/checkpoint.safetensors: was written for LoRA .*"r":2.* this run has .*"r":3/);
  });

  test('bad settings are named', async () => {
    await expect(run({ ...CONFIG, batchSize: 0 })).rejects.toThrow(/batch size must be a positive integer/);
    await expect(run({ ...CONFIG, scheduler: 'step' as never })).rejects.toThrow(/unknown scheduler/);
  });
});

describe('a non-finite loss, gradient norm or update', () => {
  const EVERY_STEP: LoopConfig = { ...CONFIG, warmupSteps: 0, scheduler: 'constant', saveEvery: 1, evalEvery: 0 };

  /** SFT whose step `badStep` reports `value` as its loss or gradient norm (the steps before are the real ones). */
  async function runTurningBad(what: 'loss' | 'gradient norm', badStep: number, value: number) {
    const steps: StepMetrics[] = [];
    const checkpoints: number[] = [];
    const objective = new SftObjective();
    const backend = freshBackend();
    let calls = 0;
    const trainStep = backend.trainStep.bind(backend);
    backend.trainStep = async (...args) => {
      const out = await trainStep(...args);
      return ++calls === badStep && what === 'gradient norm' ? { ...out, gradNorm: value } : out;
    };
    const evaluate = objective.evaluate.bind(objective);
    objective.evaluate = (...args) => {
      const out = evaluate(...args);
      return calls === badStep && what === 'loss' ? { ...out, loss: value } : out;
    };
    const run = runTraining(backend, objective, examples(10, 3), undefined, EVERY_STEP, {
      onStep: (m) => void steps.push(m),
      onCheckpoint: (c) => void checkpoints.push(c.step),
    });
    return { run, steps, checkpoints };
  }

  test.each([
    ['loss', NaN],
    ['loss', Infinity],
    ['gradient norm', NaN],
    ['gradient norm', -Infinity],
  ] as const)('a %s of %s at step 4 stops the run there: no row and no checkpoint of step 4, checkpoint 3 kept', async (what, value) => {
    const { run, steps, checkpoints } = await runTurningBad(what, 4, value);
    await expect(run).rejects.toThrow(
      `Training stopped at step 4: the ${what} is ${value} (not a finite number), so the adapter can no longer be trusted; the last good checkpoint (step 3) is kept.`,
    );
    await expect(run).rejects.toMatchObject({ name: 'NonFiniteTrainingError', step: 4, lastCheckpoint: 3 });
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3]);
    expect(checkpoints).toEqual([1, 2, 3]);
  });

  test('an update that overflows float32 (finite loss and gradient norm) writes no checkpoint of that step, naming the tensor', async () => {
    const steps: StepMetrics[] = [];
    const checkpoints: number[] = [];
    // An absurd learning rate moves every parameter by ~1e300 in one AdamW step: finite in this float64
    // backend, infinite in the float32 adapter a checkpoint stores.
    const run = runTraining(freshBackend(), new SftObjective(), examples(10, 3), undefined, { ...EVERY_STEP, lr: 1e300, maxGradNorm: 0 }, {
      onStep: (m) => void steps.push(m),
      onCheckpoint: (c) => void checkpoints.push(c.step),
    });
    await expect(run).rejects.toThrow(
      /^Training stopped at step 1: the value \d+ of tensor "model\.layers\.0\.self_attn\.(q|v)_proj\.(A|B)" is -?Infinity \(not a finite number\), so the adapter can no longer be trusted; no checkpoint had been written yet\./,
    );
    await expect(run).rejects.toMatchObject({ name: 'NonFiniteTrainingError', step: 1, lastCheckpoint: 0 });
    // Step 1's own loss (before its update) was finite and is logged; its checkpoint is not written.
    expect(steps.map((s) => s.step)).toEqual([1]);
    expect(Number.isFinite(steps[0].loss)).toBe(true);
    expect(checkpoints).toEqual([]);
  });

  test('firstNonFiniteValue names the first bad value of the adapter or of the moments; a finite checkpoint has none', async () => {
    const { checkpoints } = await run({ ...CONFIG, steps: 2, saveEvery: 1 });
    const good = checkpoints[0];
    expect(firstNonFiniteValue(good)).toBeNull();
    const moments = structuredClone(good.optimizer);
    moments.v[1].b[5] = Infinity;
    expect(firstNonFiniteValue({ adapter: good.adapter, optimizer: moments })).toEqual({ what: 'value 5 of tensor "model.layers.0.self_attn.v_proj.B.exp_avg_sq"', value: Infinity });
    const adapter = structuredClone(good.adapter);
    adapter.modules[0].a[0] = NaN;
    expect(firstNonFiniteValue({ adapter, optimizer: moments })).toEqual({ what: 'value 0 of tensor "model.layers.0.self_attn.q_proj.A"', value: NaN });
  });
});

describe('runTraining with DPO', () => {
  /** Pairs whose chosen answer continues the counting and whose rejected one repeats a token. */
  function pairs(n: number, seed: number) {
    const rng = new Rng(seed);
    return Array.from({ length: n }, (_, i) => {
      const start = 3 + rng.int(40);
      const prompt = [start, start + 1, start + 2];
      return { line: i + 1, prompt, chosen: [start + 3, start + 4, start + 5], rejected: [start + 3, start + 3, start + 3] };
    });
  }

  const DPO_CONFIG: LoopConfig = { ...CONFIG, steps: 12, lr: 3e-2, warmupSteps: 0, evalEvery: 6, saveEvery: 0 };

  async function dpoRun(precomputeReference: boolean, resume?: TrainCheckpoint, stopAfter?: number) {
    const steps: StepMetrics[] = [];
    const evals: EvalMetrics[] = [];
    const checkpoints: TrainCheckpoint[] = [];
    const abort = new AbortController();
    const objective = makeObjective('dpo', { beta: 0.5 });
    const result = await runTraining(freshBackend(), objective, pairs(12, 1), pairs(4, 2), DPO_CONFIG, {
      onStep: (m) => {
        steps.push(m);
        if (m.step === stopAfter) abort.abort();
      },
      onEval: (m) => void evals.push(m),
      onCheckpoint: (c) => void checkpoints.push(c),
      signal: abort.signal,
    }, resume, { precomputeReference });
    return { steps, evals, checkpoints, result };
  }

  test('a fresh adapter starts at log 2 with zero rewards; the reward accuracy and margins grow; eval rows carry eval_ metrics', async () => {
    const { steps, evals } = await dpoRun(false);
    expect(steps[0].loss).toBe(Math.LN2);
    expect(steps[0].objective['rewards/margins']).toBe(0);
    expect(steps[0].objective['rewards/accuracies']).toBe(0);
    expect(steps.at(-1)!.loss).toBeLessThan(0.5);
    expect(steps.at(-1)!.objective['rewards/accuracies']).toBe(1);
    expect(steps.at(-1)!.objective['rewards/margins']).toBeGreaterThan(0.5);
    expect(evals.map((e) => e.step)).toEqual([0, 6, 12]);
    expect(evals[0].eval_loss).toBe(Math.LN2);
    expect(evals[0].eval_perplexity).toBeUndefined();
    // Held-out pairs (4): at least 3 of them now favour the chosen answer, and the held-out loss fell.
    expect(evals[2].objective['eval_rewards/accuracies']).toBeGreaterThanOrEqual(0.75);
    expect(evals[2].eval_loss).toBeLessThan(evals[0].eval_loss - 0.1);
    expect(steps[0].trained_tokens).toBe(2 * 2 * 2 * 3); // 2 micro-batches x 2 pairs x 2 answers x 3 tokens
  });

  test('precomputing the reference log-probabilities gives the same curve as the reference pass in each step', async () => {
    const inStep = await dpoRun(false);
    const cached = await dpoRun(true);
    cached.steps.forEach((s, i) => {
      expect(Math.abs(s.loss - inStep.steps[i].loss)).toBeLessThanOrEqual(1e-12);
      expect(Math.abs(s.objective['rewards/margins'] - inStep.steps[i].objective['rewards/margins'])).toBeLessThanOrEqual(1e-12);
    });
  });

  test('when the device runs out of memory for the reference pass, the reference is precomputed and the step trained again', async () => {
    const cached = await dpoRun(true);
    // A backend whose device refuses any step that scores the reference in the step.
    const inner = freshBackend();
    let refused = 0;
    const backend: TrainerBackend = {
      trainStep: (micro, objective, totals, hyper) => {
        if (micro.some((b) => !b.reference)) {
          refused++;
          return Promise.reject(new GpuOutOfMemoryError('The GPU ran out of memory: test'));
        }
        return inner.trainStep(micro, objective, totals, hyper);
      },
      logProbs: (batch, model) => inner.logProbs(batch, model),
      snapshot: () => inner.snapshot(),
      optimizerState: () => inner.optimizerState(),
      restore: (a, o) => inner.restore(a, o),
    };
    const reasons: string[] = [];
    const progress: number[] = [];
    const steps: StepMetrics[] = [];
    await runTraining(backend, makeObjective('dpo', { beta: 0.5 }), pairs(12, 1), pairs(4, 2), DPO_CONFIG, {
      onStep: (m) => void steps.push(m),
      onReferenceFallback: (reason) => void reasons.push(reason),
      onReferenceProgress: (done, total) => void progress.push(done / total),
    });
    expect(refused).toBe(1);
    expect(reasons).toEqual(['The GPU ran out of memory: test']);
    expect(progress.at(-1)).toBe(1);
    expect(steps.map((s) => s.step)).toEqual(cached.steps.map((s) => s.step));
    steps.forEach((s, i) => expect(s.loss).toBe(cached.steps[i].loss));
    // Any other error is not retried.
    const failing: TrainerBackend = { ...backend, trainStep: () => Promise.reject(new Error('something else')) };
    await expect(runTraining(failing, makeObjective('dpo'), pairs(12, 1), undefined, { ...DPO_CONFIG, evalEvery: 0 })).rejects.toThrow('something else');
  });

  test('a resumed DPO run (through the checkpoint bytes) continues the same curve', async () => {
    const full = await dpoRun(true);
    const stopped = await dpoRun(true, undefined, 5);
    const restored = readCheckpoint(checkpointBytes(stopped.checkpoints.at(-1)!), planAdapter('llama', tiny.weights, LORA));
    const resumed = await dpoRun(true, restored);
    expect(resumed.steps.map((s) => s.step)).toEqual([6, 7, 8, 9, 10, 11, 12]);
    resumed.steps.forEach((s, i) => expect(Math.abs(s.loss - full.steps[5 + i].loss)).toBeLessThan(1e-6 * full.steps[5 + i].loss));
  });
});
