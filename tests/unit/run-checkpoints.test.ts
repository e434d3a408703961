// A studio run's checkpoints in IndexedDB (fake-indexeddb), written by the training loop on the CPU
// reference backend: a run keeps exactly its newest two however many it writes; a resume continues from
// the newest usable one, and from the one before when the newest is cut short, damaged or non-finite
// (the same losses as the uninterrupted run from there); none usable is refused, naming each problem.

import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import type { TokenizedExample } from '../../src/engine/data/tokenize-sft';
import { initAdapter, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import { checkpointBytes, readCheckpoint, type TrainCheckpoint } from '../../src/engine/train/checkpoint';
import { buildCpuTrainModel, type CpuTrainModel } from '../../src/engine/train/cpu/cpu-train-model';
import { CpuBackend } from '../../src/engine/train/cpu/cpu-backend';
import { SftObjective } from '../../src/engine/train/objectives/sft-objective';
import { runTraining, type LoopConfig, type StepMetrics } from '../../src/engine/train/train-loop';
import { Rng } from '../../src/engine/util/rng';
import { openStudioDb, type StudioDb } from '../../src/storage/db';
import type { CheckpointRecord, RunRecord } from '../../src/storage/records';
import { addRun, deleteRunData, getCheckpoint, getRun, KEPT_CHECKPOINTS, rewindRun, runCheckpoints, saveCheckpoint } from '../../src/storage/runs-store';
import { fallbackNote, resumeCheckpoint } from '../../src/worker/run-resume';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel } from '../helpers/tiny-models';
import { V3_RUNS } from '../helpers/v3-database';

const LORA = { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false };
const CONFIG: LoopConfig = {
  batchSize: 2,
  gradAccum: 1,
  steps: 12,
  lr: 3e-2,
  scheduler: 'constant',
  warmupSteps: 0,
  maxGradNorm: 1,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  evalEvery: 0,
  saveEvery: 1,
  seed: 5,
};

let root: string;
let tiny: LoadedModel;
let model: CpuTrainModel;
let db: StudioDb;

function examples(n: number): TokenizedExample[] {
  const rng = new Rng(3);
  return Array.from({ length: n }, (_, i) => {
    const start = 3 + rng.int(40);
    const inputIds = Array.from({ length: 6 }, (_, t) => start + t);
    return { line: i + 1, inputIds, trainMask: inputIds.map((_, t) => (t >= 2 ? 1 : 0)) };
  });
}

const plan = (): LoraAdapter => planAdapter('llama', tiny.weights, LORA);

const RUN: RunRecord = { ...V3_RUNS[0], id: 'run-a', name: 'run a', status: 'running', step: 0, checkpointStep: 0 };

/** Trains RUN (from `resume` when given), storing each checkpoint through saveCheckpoint as the studio does. */
async function train(resume?: TrainCheckpoint, steps = CONFIG.steps): Promise<StepMetrics[]> {
  const rows: StepMetrics[] = [];
  const backend = new CpuBackend(model, initAdapter(plan(), new Rng(1)));
  await runTraining(backend, new SftObjective(), examples(12), undefined, { ...CONFIG, steps }, {
    onStep: (m) => void rows.push(m),
    onCheckpoint: async (c) => {
      const record: CheckpointRecord = { runId: RUN.id, step: c.step, bytes: checkpointBytes(c), savedAt: new Date().toISOString() };
      await saveCheckpoint(db, record, (r) => ({ ...r, checkpointStep: c.step }));
    },
  }, resume);
  return rows;
}

async function stepsStored(runId = RUN.id): Promise<number[]> {
  return (await runCheckpoints(db, runId)).map((c) => c.step);
}

/** Overwrites a stored checkpoint's bytes (what a write cut short or a damaged disk leaves). */
async function damage(step: number, bytes: (old: Uint8Array) => Uint8Array): Promise<void> {
  const stored = (await db.get('checkpoints', [RUN.id, step]))!;
  await db.put('checkpoints', { ...stored, bytes: bytes(stored.bytes) });
}

beforeAll(async () => {
  root = await makeTempDir('tunelab-run-checkpoints-');
  await writeTinyModel(root, 'llama', { sizes: { numLayers: 1, hiddenSize: 16, headDim: 4, intermediateSize: 24, vocabSize: 64 }, std: 0.3 });
  tiny = await loadModel(root);
  model = buildCpuTrainModel(tiny.config, tiny.weights);
});
afterAll(() => removeTempDir(root));

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  db = await openStudioDb();
  await addRun(db, RUN);
});
afterEach(() => {
  db.close();
  vi.unstubAllGlobals();
});

describe('a run keeps its newest two checkpoints', () => {
  test('after 12 checkpoints the store holds exactly steps 12 and 11, and the record points at 12', async () => {
    await train();
    expect(KEPT_CHECKPOINTS).toBe(2);
    expect(await stepsStored()).toEqual([12, 11]);
    expect(await db.count('checkpoints')).toBe(2);
    expect((await getRun(db, RUN.id)).checkpointStep).toBe(12);
    expect((await getCheckpoint(db, RUN.id))?.step).toBe(12);
  });

  test("another run's checkpoints are never pruned; deleting a run deletes all of its own", async () => {
    await addRun(db, { ...RUN, id: 'run-b' });
    const other: CheckpointRecord = { runId: 'run-b', step: 40, bytes: Uint8Array.from([1, 2, 3]), savedAt: '2025-01-01T00:00:00.000Z' };
    await saveCheckpoint(db, other, (r) => r);
    await train(undefined, 5);
    expect(await stepsStored()).toEqual([5, 4]);
    expect(await stepsStored('run-b')).toEqual([40]);
    await deleteRunData(db, RUN.id);
    expect(await stepsStored()).toEqual([]);
    expect(await runCheckpoints(db, 'run-b')).toStrictEqual([other]);
  });

  test('a rewind to step 11 deletes checkpoint 12; the next checkpoint then prunes to two again', async () => {
    await train();
    await rewindRun(db, RUN.id, 11, (r) => ({ ...r, step: 11, checkpointStep: 11 }));
    expect(await stepsStored()).toEqual([11]);
    const resume = await resumeCheckpoint(db, RUN, plan);
    await train(resume!.checkpoint);
    expect(await stepsStored()).toEqual([12, 11]);
  });
});

describe('resume picks the newest usable checkpoint', () => {
  test('the newest when it reads back: no fallback note', async () => {
    await train();
    const resume = await resumeCheckpoint(db, RUN, plan);
    expect(resume?.checkpoint.step).toBe(12);
    expect(resume?.skipped).toEqual([]);
    expect(fallbackNote(resume)).toBeUndefined();
  });

  test('the newest cut short: the one before, and training from it gives the uninterrupted losses', async () => {
    const full = await train();
    await damage(12, (old) => old.slice(0, 100));
    const resume = await resumeCheckpoint(db, RUN, plan);
    expect(resume?.checkpoint.step).toBe(11);
    expect(resume?.skipped).toHaveLength(1);
    expect(resume?.skipped[0]).toMatch(/^the checkpoint at step 12: header length \d+ runs past the end of the file \(100 bytes\)$/);
    expect(fallbackNote(resume)).toMatch(/^Could not resume from the checkpoint at step 12: header length \d+ runs past the end of the file \(100 bytes\); resumed from the checkpoint at step 11 instead\.$/);
    // Continuing from 11 retrains step 12 to the same loss (the checkpoint stores f32; this backend is float64).
    await rewindRun(db, RUN.id, 11, (r) => r);
    const again = await train(resume!.checkpoint);
    expect(again.map((s) => s.step)).toEqual([12]);
    expect(Math.abs(again[0].loss - full[11].loss)).toBeLessThan(1e-8 * full[11].loss);
    // The step-11 checkpoint was really read: with a fresh adapter instead the loss differs.
    const fresh = readCheckpoint(checkpointBytes({ ...resume!.checkpoint, adapter: initAdapter(plan(), new Rng(1)) }), plan());
    await rewindRun(db, RUN.id, 11, (r) => r);
    const wrong = await train(fresh);
    expect(Math.abs(wrong[0].loss - full[11].loss)).toBeGreaterThan(1e-4);
  });

  test('the newest with damaged metadata or a non-finite value: the one before, naming the problem', async () => {
    await train();
    // Damaged JSON in the header: the state string's first quote becomes a byte JSON cannot parse.
    await damage(12, (old) => {
      const bytes = old.slice();
      bytes[8] = 0x7e; // '{' -> '~'
      return bytes;
    });
    let resume = await resumeCheckpoint(db, RUN, plan);
    expect(resume?.checkpoint.step).toBe(11);
    expect(resume?.skipped[0]).toMatch(/^the checkpoint at step 12: header is not valid JSON/);

    // A checkpoint an earlier version wrote with an Infinity in it.
    const bad = readCheckpoint((await db.get('checkpoints', [RUN.id, 11]))!.bytes, plan());
    bad.adapter.modules[1].b[3] = -Infinity;
    await damage(12, () => checkpointBytes({ ...bad, step: 12 }));
    resume = await resumeCheckpoint(db, RUN, plan);
    expect(resume?.checkpoint.step).toBe(11);
    expect(resume?.skipped).toEqual(['the checkpoint at step 12: the value 3 of tensor "model.layers.0.self_attn.v_proj.B" is -Infinity']);
  });

  test('none usable: refused, naming both; nothing stored changes', async () => {
    await train();
    await damage(12, (old) => old.slice(0, 4));
    await damage(11, (old) => old.slice(0, 100));
    await expect(resumeCheckpoint(db, RUN, plan)).rejects.toThrow(
      /^No checkpoint of the run "run a" can be resumed from: the checkpoint at step 12: is 4 bytes, too short for a safetensors header; the checkpoint at step 11: header length \d+ runs past the end of the file \(100 bytes\)\. Its curve stays saved; start a new run to train again\.$/,
    );
    expect(await stepsStored()).toEqual([12, 11]);
  });

  test('a run without checkpoints resumes from the start', async () => {
    expect(await resumeCheckpoint(db, RUN, plan)).toBeUndefined();
  });
});
