// Seeded mutation fuzzing (issue 14 item 8) of two parsers of files from the internet: the safetensors
// reader (header and data) and the config.json reader. Every mutated file must end in a valid result that
// holds the parser's promises, or in the parser's typed error, quickly; anything else fails with the seed
// and case to replay it.

import { describe, expect, it } from 'vitest';
import { readModelConfig, type ModelConfig } from '../../src/engine/model/config';
import { ModelFormatError, UnsupportedModelError } from '../../src/engine/model/errors';
import { readSafetensors, writeSafetensors, type SafetensorsFile } from '../../src/engine/model/safetensors';
import { Rng } from '../../src/engine/util/rng';
import { fuzz } from '../helpers/fuzz';
import { tinyConfig } from '../helpers/tiny-models';

const BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, U8: 1, BOOL: 1 } as const;

/** Small valid safetensors files: every writable dtype, metadata or none, an empty tensor, a scalar, model-like names. */
function safetensorsSeeds(): Uint8Array[] {
  const rng = new Rng(5);
  const values = (n: number) => rng.normals(n, 1);
  return [
    writeSafetensors(
      {
        'model.embed_tokens.weight': { dtype: 'BF16', shape: [6, 4], data: values(24) },
        'model.layers.0.self_attn.q_proj.weight': { dtype: 'BF16', shape: [4, 4], data: values(16) },
        'model.norm.weight': { dtype: 'BF16', shape: [4], data: values(4) },
      },
      { format: 'pt' },
    ),
    writeSafetensors({
      'h.0.attn.c_attn.weight': { dtype: 'F32', shape: [2, 6], data: values(12) },
      'h.0.attn.c_attn.bias': { dtype: 'F16', shape: [6], data: values(6) },
      empty: { dtype: 'F32', shape: [0, 3], data: [] },
      scalar: { dtype: 'I32', shape: [], data: [7] },
    }),
    writeSafetensors({ 'base_model.model.lm_head.lora_A.weight': { dtype: 'F16', shape: [3, 5], data: values(15) } }, { format: 'pt', note: 'é ü ✓' }),
  ];
}

/** What a valid result promises: every tensor a view inside the file, its bytes its shape times its dtype, readable. */
function checkSafetensors(file: SafetensorsFile, bytes: Uint8Array): void {
  for (const [name, t] of file.tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.bytes.buffer !== bytes.buffer || t.bytes.byteOffset + t.bytes.byteLength > bytes.byteOffset + bytes.byteLength) throw new Error(`"${name}" is not a view inside the file`);
    if (t.bytes.byteLength !== count * BYTES[t.dtype]) throw new Error(`"${name}" has ${t.bytes.byteLength} bytes for ${count} ${t.dtype} values`);
    const isFloat = t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16' || t.dtype === 'F64';
    const read = isFloat ? t.toFloat32() : t.dtype === 'I32' || t.dtype === 'I64' ? t.toInt32() : t.bytes;
    if (read.length !== count) throw new Error(`"${name}" read ${read.length} of ${count} values`);
    const bad = t.firstNonFinite();
    if (bad >= 0 && Number.isFinite(t.valueAt(bad))) throw new Error(`"${name}" reported ${t.valueAt(bad)} at ${bad} as not finite`);
  }
  for (const [key, value] of Object.entries(file.metadata)) if (typeof value !== 'string') throw new Error(`metadata "${key}" is not a string`);
  // The format's promise: the tensors' bytes tile the data after the header, back to back, to its end.
  const ranges = [...file.tensors.values()].map((t) => [t.bytes.byteOffset, t.bytes.byteOffset + t.bytes.byteLength]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = bytes.byteOffset + 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  for (const [begin, end] of ranges) {
    if (begin !== at) throw new Error(`a tensor starts at byte ${begin}, expected ${at} (a gap or an overlap)`);
    at = end;
  }
  if (at !== bytes.byteOffset + bytes.byteLength) throw new Error(`the tensors end at byte ${at} of ${bytes.byteLength}`);
}

/** config.json seeds: the three architectures as transformers writes them, with their optional fields. */
function configSeeds(): Uint8Array[] {
  const configs = [
    tinyConfig('llama'),
    tinyConfig('llama', { llama3Rope: true, tied: true }),
    tinyConfig('qwen2'),
    tinyConfig('gpt2'),
    tinyConfig('gpt2', { sizes: { intermediateSize: 96 } }),
  ];
  return configs.map((c) => new TextEncoder().encode(JSON.stringify(c, null, 2)));
}

/** What a valid config promises to the model code: whole, positive sizes that fit together. */
function checkConfig(c: ModelConfig): void {
  const sizes = { vocabSize: c.vocabSize, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, numLayers: c.numLayers, numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim, maxPositions: c.maxPositions };
  if (!['llama', 'qwen2', 'gpt2'].includes(c.architecture)) throw new Error(`architecture ${String(c.architecture)}`);
  for (const [key, v] of Object.entries(sizes)) if (!Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) throw new Error(`${key} is ${v}`);
  if (c.numHeads % c.numKvHeads !== 0) throw new Error(`numHeads ${c.numHeads} is not a multiple of numKvHeads ${c.numKvHeads}`);
  if (c.headDim % 2 !== 0 && c.positions === 'rope') throw new Error(`odd head dimension ${c.headDim} with RoPE`);
  if (!(c.normEps > 0) || !(c.ropeTheta > 0)) throw new Error(`normEps ${c.normEps}, ropeTheta ${c.ropeTheta}`);
  for (const id of [...c.eosTokenIds, c.bosTokenId ?? 0, c.padTokenId ?? 0]) if (!Number.isSafeInteger(id) || id < 0) throw new Error(`token id ${id}`);
}

/** JSON values that probe a field's checks: wrong types, zero and signs, fractions, 32-bit edges, prototype names. */
const FIELD_VALUES: unknown[] = [null, true, 0, -1, 1, 1.5, 2, 3, 7, 1e308, -0, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 + 2, '', '64', 'constructor', '__proto__', [], ['toString'], [1, 2], {}, { rope_type: 'llama3' }];

/** Each seed with one field (top level or inside rope_scaling) replaced by each of FIELD_VALUES, or removed. */
function fieldMutations(): string[] {
  const out: string[] = [];
  for (const seed of configSeeds().map((b) => JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>)) {
    const scaling = seed.rope_scaling && typeof seed.rope_scaling === 'object' ? (seed.rope_scaling as Record<string, unknown>) : undefined;
    for (const key of Object.keys(seed)) {
      for (const value of [...FIELD_VALUES, undefined]) out.push(JSON.stringify({ ...seed, [key]: value }));
    }
    for (const key of Object.keys(scaling ?? {})) {
      for (const value of [...FIELD_VALUES, undefined]) out.push(JSON.stringify({ ...seed, rope_scaling: { ...scaling, [key]: value } }));
    }
  }
  return out;
}

const CASES = 4000;
const CASE_LIMIT_MS = 250;

describe('fuzzing the model file parsers', () => {
  it(`safetensors: ${CASES} mutations of valid files end in a valid file or a ModelFormatError`, async () => {
    const summary = await fuzz(
      safetensorsSeeds(),
      (bytes) => checkSafetensors(readSafetensors(bytes, 'fuzz.safetensors'), bytes),
      { seed: 14, cases: CASES, caseLimitMs: CASE_LIMIT_MS, isRefusal: (e) => e instanceof ModelFormatError },
    );
    expect(summary.accepted + summary.refused).toBe(CASES);
    expect(summary.refused).toBeGreaterThan(CASES / 2);
    expect(summary.accepted).toBeGreaterThan(0);
  });

  it(`config.json: ${CASES} mutations of Llama, Qwen2 and GPT-2 configs end in a valid config or a typed refusal`, async () => {
    const decoder = new TextDecoder();
    const summary = await fuzz(configSeeds(), (bytes) => checkConfig(readModelConfig(decoder.decode(bytes), 'config.json')), {
      seed: 14,
      cases: CASES,
      caseLimitMs: CASE_LIMIT_MS,
      isRefusal: (e) => e instanceof ModelFormatError || e instanceof UnsupportedModelError,
    });
    expect(summary.accepted + summary.refused).toBe(CASES);
    expect(summary.refused).toBeGreaterThan(CASES / 4);
    expect(summary.accepted).toBeGreaterThan(CASES / 20);
  });

  it('config.json: every field of each seed set to each probing value ends in a valid config or a typed refusal', () => {
    const cases = fieldMutations();
    let refused = 0;
    for (const [i, text] of cases.entries()) {
      let config: ModelConfig;
      try {
        config = readModelConfig(text, 'config.json');
      } catch (err) {
        if (!(err instanceof ModelFormatError || err instanceof UnsupportedModelError)) throw new Error(`field case ${i} crashed: ${String(err)}\n${text}`);
        refused++;
        continue;
      }
      try {
        checkConfig(config);
      } catch (err) {
        throw new Error(`field case ${i} was accepted but ${(err as Error).message}\n${text}`);
      }
    }
    expect(cases.length).toBeGreaterThan(2000);
    expect(refused).toBeGreaterThan(cases.length / 10);
  });
});
