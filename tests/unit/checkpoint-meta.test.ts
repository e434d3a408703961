// A training checkpoint's metadata (src/engine/train/checkpoint-meta.ts) is checked field by field: a
// damaged or hand-edited checkpoint is refused naming the file and the field, and the data and seed
// fingerprint a command-line run records survives the round trip (older checkpoints have none).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initAdapter, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import { ModelFormatError } from '../../src/engine/model/errors';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../src/engine/model/safetensors';
import { checkpointBytes, readCheckpoint, type RunFingerprint, type TrainCheckpoint } from '../../src/engine/train/checkpoint';
import { parseCheckpointMeta } from '../../src/engine/train/checkpoint-meta';
import { Rng } from '../../src/engine/util/rng';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel } from '../helpers/tiny-models';

const FILE = 'runs/x/checkpoints/step-20';
const LORA = { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false };
const FINGERPRINT: RunFingerprint = { data: { sha256: 'ab'.repeat(32), examples: 1000, source: 'train.jsonl' }, seed: 3, method: 'sft' };

/** A well-formed state with `edit` applied (a field set, or deleted when the value is undefined). */
function state(edit: (s: Record<string, any>) => void = () => {}): string {
  const s: Record<string, any> = { step: 20, cursor: { epoch: 1, position: 7 }, optimizerStep: 20, lora: LORA, fingerprint: structuredClone(FINGERPRINT) };
  edit(s);
  return JSON.stringify(s);
}

function refusal(text: string): string {
  try {
    parseCheckpointMeta(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ModelFormatError);
    return (err as Error).message;
  }
  return expect.fail('expected a ModelFormatError');
}

describe('checkpoint metadata', () => {
  it('reads every field of a well-formed state', () => {
    expect(parseCheckpointMeta(state((s) => (s.feed = { generation: 2 })), FILE)).toEqual({
      step: 20, cursor: { epoch: 1, position: 7 }, feed: { generation: 2 }, optimizerStep: 20, lora: LORA, fingerprint: FINGERPRINT,
    });
  });

  it('a state without a fingerprint (written before it was recorded) still reads, with none', () => {
    expect(parseCheckpointMeta(state((s) => delete s.fingerprint), FILE).fingerprint).toBeUndefined();
  });

  it.each([
    ['step missing', (s: any) => delete s.step, '"step" is missing'],
    ['step negative', (s: any) => (s.step = -3), '"step" must be a whole number of at least 0, got -3'],
    ['step fractional', (s: any) => (s.step = 2.5), '"step" must be a whole number of at least 0, got 2.5'],
    ['step a string', (s: any) => (s.step = '20'), '"step" must be a whole number of at least 0, got "20"'],
    ['step beyond 2^53', (s: any) => (s.step = 2 ** 60), `"step" must be a whole number of at least 0, got ${2 ** 60}`],
    ['cursor missing', (s: any) => delete s.cursor, '"cursor" is missing'],
    ['cursor an array', (s: any) => (s.cursor = [1, 7]), '"cursor" must be an object, got [1,7]'],
    ['cursor.position negative', (s: any) => (s.cursor.position = -1), '"cursor.position" must be a whole number of at least 0, got -1'],
    ['cursor.epoch missing', (s: any) => delete s.cursor.epoch, '"cursor.epoch" is missing'],
    ['cursor.epoch null', (s: any) => (s.cursor.epoch = null), '"cursor.epoch" must be a whole number of at least 0, got null'],
    ['optimizerStep missing', (s: any) => delete s.optimizerStep, '"optimizerStep" is missing'],
    ['lora missing', (s: any) => delete s.lora, '"lora" is missing'],
    ['fingerprint a string', (s: any) => (s.fingerprint = 'abc'), '"fingerprint" must be an object, got "abc"'],
    ['fingerprint.data missing', (s: any) => delete s.fingerprint.data, '"fingerprint.data" is missing'],
    ['fingerprint.data.sha256 short', (s: any) => (s.fingerprint.data.sha256 = 'ab12'), '"fingerprint.data.sha256" must be 64 lowercase hex digits, got "ab12"'],
    ['fingerprint.data.examples negative', (s: any) => (s.fingerprint.data.examples = -5), '"fingerprint.data.examples" must be a whole number of at least 0, got -5'],
    ['fingerprint.data.source missing', (s: any) => delete s.fingerprint.data.source, '"fingerprint.data.source" is missing'],
    ['fingerprint.seed a string', (s: any) => (s.fingerprint.seed = '3'), '"fingerprint.seed" must be a whole number of at least 0, got "3"'],
    ['fingerprint.method a number', (s: any) => (s.fingerprint.method = 1), '"fingerprint.method" must be a string, got 1'],
  ])('%s: refused naming the field', (_name, edit, detail) => {
    expect(refusal(state(edit))).toBe(`${FILE}: checkpoint metadata field ${detail}`);
  });

  it('metadata that is not JSON, or not an object, is refused naming the file', () => {
    expect(refusal('{"step": 20, "cursor":')).toMatch(/^runs\/x\/checkpoints\/step-20: checkpoint metadata is not valid JSON \(/);
    expect(refusal('[20]')).toBe(`${FILE}: checkpoint metadata must be a JSON object, got [20]`);
    expect(refusal('null')).toBe(`${FILE}: checkpoint metadata must be a JSON object, got null`);
  });
});

describe('readCheckpoint', () => {
  let dir: string;
  let tiny: LoadedModel;
  beforeAll(async () => {
    dir = await makeTempDir('tunelab-checkpoint-meta-');
    await writeTinyModel(dir, 'llama');
    tiny = await loadModel(dir);
  });
  afterAll(() => removeTempDir(dir));

  const planned = () => planAdapter('llama', tiny.weights, LORA);
  function checkpoint(fingerprint?: RunFingerprint): TrainCheckpoint {
    const adapter: LoraAdapter = initAdapter(planned(), new Rng(1));
    const zeros = adapter.modules.map((m) => ({ a: new Float32Array(m.a.length), b: new Float32Array(m.b.length) }));
    return { step: 20, cursor: { epoch: 1, position: 7 }, adapter, optimizer: { step: 20, m: zeros, v: zeros }, fingerprint };
  }

  /** The checkpoint's bytes with its state metadata edited, tensors unchanged. */
  function withState(bytes: Uint8Array, edit: (s: Record<string, any>) => void): Uint8Array {
    const st = readSafetensors(bytes, FILE);
    const s = JSON.parse(st.metadata.state);
    edit(s);
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, t] of st.tensors) tensors[name] = { dtype: 'F32', shape: t.shape, data: t.toFloat32() };
    return writeSafetensors(tensors, { ...st.metadata, state: JSON.stringify(s) });
  }

  it('the fingerprint a run records comes back; a checkpoint written without one reads with none', () => {
    expect(readCheckpoint(checkpointBytes(checkpoint(FINGERPRINT)), planned(), FILE).fingerprint).toEqual(FINGERPRINT);
    const old = readCheckpoint(checkpointBytes(checkpoint()), planned(), FILE);
    expect(old.fingerprint).toBeUndefined();
    expect(old.step).toBe(20);
  });

  it('a checkpoint whose step was removed or whose cursor went negative is refused naming the field', () => {
    const bytes = checkpointBytes(checkpoint(FINGERPRINT));
    expect(() => readCheckpoint(withState(bytes, (s) => delete s.step), planned(), FILE)).toThrow(`${FILE}: checkpoint metadata field "step" is missing`);
    expect(() => readCheckpoint(withState(bytes, (s) => (s.cursor.position = -4)), planned(), FILE)).toThrow(
      `${FILE}: checkpoint metadata field "cursor.position" must be a whole number of at least 0, got -4`,
    );
  });
});
