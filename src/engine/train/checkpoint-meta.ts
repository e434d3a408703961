// The JSON a training checkpoint keeps in its safetensors metadata ("state"), read field by field: a
// checkpoint file may be damaged or edited by hand, and a resumed run must not start from a step, a data
// position or an optimizer count that makes no sense. Each refusal names the file and the field.

import type { LoraConfig } from '../lora/lora-config';
import { ModelFormatError } from '../model/errors';
import type { DataCursor } from './data-order';

/**
 * What a resumed run must share with the run that wrote the checkpoint: the training examples as tokenized
 * (a digest, so a changed file, split, length limit or tokenizer is seen) and the seed the data order,
 * dropout and sampling derive from. Written by the command line; older checkpoints have none.
 */
export interface RunFingerprint {
  data: {
    /** sha256 (hex) of the training examples as tokenized, in their order before shuffling. */
    sha256: string;
    examples: number;
    /** The file they came from, for messages. */
    source: string;
  };
  seed: number;
  method: string;
}

export interface CheckpointMeta {
  step: number;
  cursor: DataCursor;
  feed?: unknown;
  optimizerStep: number;
  lora: LoraConfig;
  fingerprint?: RunFingerprint;
}

type Fields = Record<string, unknown>;

const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

const shown = (v: unknown): string => (v === undefined ? 'missing' : JSON.stringify(v));

/** Reads the metadata fields one by one; every error says which field holds what. */
class MetaReader {
  constructor(private readonly file: string) {}

  fail(field: string, detail: string): never {
    throw new ModelFormatError(this.file, `checkpoint metadata field "${field}" ${detail}`);
  }

  object(parent: Fields, key: string, path = key): Fields {
    const v = parent[key];
    if (!isObject(v)) this.fail(path, v === undefined ? 'is missing' : `must be an object, got ${shown(v)}`);
    return v;
  }

  count(parent: Fields, key: string, path = key): number {
    const v = parent[key];
    if (v === undefined) this.fail(path, 'is missing');
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(path, `must be a whole number of at least 0, got ${shown(v)}`);
    return v;
  }

  text(parent: Fields, key: string, path = key): string {
    const v = parent[key];
    if (typeof v !== 'string') this.fail(path, v === undefined ? 'is missing' : `must be a string, got ${shown(v)}`);
    return v;
  }
}

function readFingerprint(r: MetaReader, state: Fields): RunFingerprint | undefined {
  if (state.fingerprint === undefined) return undefined;
  const f = r.object(state, 'fingerprint');
  const data = r.object(f, 'data', 'fingerprint.data');
  const sha256 = r.text(data, 'sha256', 'fingerprint.data.sha256');
  if (!/^[0-9a-f]{64}$/.test(sha256)) r.fail('fingerprint.data.sha256', `must be 64 lowercase hex digits, got ${shown(sha256)}`);
  return {
    data: { sha256, examples: r.count(data, 'examples', 'fingerprint.data.examples'), source: r.text(data, 'source', 'fingerprint.data.source') },
    seed: r.count(f, 'seed', 'fingerprint.seed'),
    method: r.text(f, 'method', 'fingerprint.method'),
  };
}

/** Parses and checks a checkpoint's "state" metadata; `file` names the checkpoint in errors. */
export function parseCheckpointMeta(stateJson: string, file: string): CheckpointMeta {
  let state: unknown;
  try {
    state = JSON.parse(stateJson);
  } catch (err) {
    throw new ModelFormatError(file, `checkpoint metadata is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(state)) throw new ModelFormatError(file, `checkpoint metadata must be a JSON object, got ${shown(state)}`);
  const r = new MetaReader(file);
  const step = r.count(state, 'step');
  const cursor = r.object(state, 'cursor');
  const lora = r.object(state, 'lora');
  return {
    step,
    cursor: { epoch: r.count(cursor, 'epoch', 'cursor.epoch'), position: r.count(cursor, 'position', 'cursor.position') },
    feed: state.feed,
    optimizerStep: r.count(state, 'optimizerStep'),
    // Compared as a whole with the run's LoRA config by readCheckpoint, which names both.
    lora: lora as unknown as LoraConfig,
    fingerprint: readFingerprint(r, state),
  };
}
