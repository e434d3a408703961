// The training loop with the SFT objective on the CPU reference backend: accumulation, metrics, evaluation,
// checkpoints and resume.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TokenizedExample } from '../../src/engine/data/tokenize-sft';
import { initAdapter, planAdapter } from '../../src/engine/lora/adapter';
import { checkpointBytes, readCheckpoint, type TrainCheckpoint } from '../../src/engine/train/checkpoint';
import { buildCpuTrainModel, type CpuTrainModel } from '../../src/engine/train/cpu/cpu-train-model';
import { SftObjective } from '../../src/engine/train/objectives/sft-objective';
import { runTraining, type EvalMetrics, type LoopConfig, type StepMetrics } from '../../src/engine/train/train-loop';
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
