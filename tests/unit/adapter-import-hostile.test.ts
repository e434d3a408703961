// Hostile adapter uploads, each built here byte by byte: zip bombs refused from the sizes the central
// directory declares before anything is inflated (a ~4 GiB entry, zip64 entries and archives, ratios deflate
// cannot reach), archives whose data contradicts their directory, oversized files and picks, and the
// adapter_config.json values that would allocate without bound or scale by NaN. Through the worker's import,
// nothing saved before is touched.

import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { deflateSync, Inflate, zipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { initAdapter, planAdapter } from '../../src/engine/lora/adapter';
import { adapterConfigJson, adapterWeightsBytes, importPeftAdapter } from '../../src/engine/lora/peft-files';
import type { LinearWeights, ModelWeights, WeightTensor } from '../../src/engine/model/weights';
import { Rng } from '../../src/engine/util/rng';
import { openStudioDb, type StudioDb } from '../../src/storage/db';
import { listAdapters } from '../../src/storage/adapters-store';
import type { AdapterRecord } from '../../src/storage/records';
import { checkUploadSizes, readPeftUpload } from '../../src/worker/adapter-upload';
import { createAdaptersService } from '../../src/worker/adapters-service';
import type { ActiveModel } from '../../src/worker/model-session';
import type { WorkerDeps } from '../../src/worker/worker-deps';
import { deflatedEntry, handZip, storedEntry, type HandEntry } from '../helpers/hostile-zip';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';
import { refusalMessage } from '../helpers/assert';

const stories = await loadModel(STORIES260K_DIR);
const enc = (text: string) => new TextEncoder().encode(text);
const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** A q_proj/v_proj adapter for stories260K: its config (object and text) and weights. */
function peftFiles() {
  const adapter = initAdapter(planAdapter('llama', stories.weights, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false }), new Rng(1));
  const config = adapterConfigJson(adapter, 'stories260K');
  return { config, configText: enc(JSON.stringify(config)), weights: adapterWeightsBytes(adapter) };
}
const good = peftFiles();

const upload = (zip: Uint8Array, name = 'hostile.zip') => () => readPeftUpload([{ name, bytes: zip }]);
/** A zip with a true config entry and the given weights entry. */
const withWeights = (weights: HandEntry) => handZip([storedEntry('adapter_config.json', good.configText), weights]);

describe('the hand-written zips are read like fflate reads them', () => {
  it('stored and deflated entries, at the top or in a folder, give the same files back', () => {
    for (const zip of [
      withWeights(storedEntry('adapter_model.safetensors', good.weights)),
      handZip([deflatedEntry('a/adapter_config.json', good.configText), deflatedEntry('a/adapter_model.safetensors', good.weights), deflatedEntry('a/README.md', enc('hi'))]),
    ]) {
      const files = readPeftUpload([{ name: 'x.zip', bytes: zip }]);
      expect(files.config).toEqual(good.config);
      expect(files.weights).toEqual(good.weights);
    }
  });
});

describe('zip bombs are refused from the declared sizes, before anything is inflated', () => {
  const zeros = new Uint8Array(64 * 1024);

  it('an entry declaring about 4 GiB (the largest 32-bit size) with a small real deflate payload', () => {
    const bomb = withWeights(deflatedEntry('adapter_model.safetensors', zeros, { size: 0xfffffff0 }));
    const t0 = performance.now();
    expect(refusalMessage(upload(bomb))).toBe(
      'hostile.zip: entry "adapter_model.safetensors" declares 4 GiB (4294967280 bytes) uncompressed, over the 1 GiB (1073741824 bytes) limit for an adapter\'s weights; nothing was inflated',
    );
    // Allocating the declared 4 GiB (as fflate's unzipSync does) would take seconds and the memory.
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('an adapter_config.json entry declaring more than 1 MiB', () => {
    const zip = handZip([deflatedEntry('adapter_config.json', zeros, { size: 2 * MiB }), storedEntry('adapter_model.safetensors', good.weights)]);
    expect(refusalMessage(upload(zip))).toBe(
      'hostile.zip: entry "adapter_config.json" declares 2 MiB (2097152 bytes) uncompressed, over the 1 MiB (1048576 bytes) limit for an adapter_config.json; nothing was inflated',
    );
  });

  it('a zip64 entry, declaring 4 GiB or telling the truth, and a zip64 archive', () => {
    const zip64Message = 'uses zip64 (for entries or archives over 4 GiB), which Tunelab does not read: an adapter is far smaller, so zip it again without zip64';
    const bomb = withWeights(deflatedEntry('adapter_model.safetensors', zeros, { size: 4 * GiB, zip64: true }));
    expect(refusalMessage(upload(bomb))).toBe(`hostile.zip: entry "adapter_model.safetensors" ${zip64Message}`);
    const honest = withWeights({ ...storedEntry('adapter_model.safetensors', good.weights), zip64: true });
    expect(refusalMessage(upload(honest))).toBe(`hostile.zip: entry "adapter_model.safetensors" ${zip64Message}`);
    const archive = handZip([storedEntry('adapter_config.json', good.configText), storedEntry('adapter_model.safetensors', good.weights)], { zip64Archive: true });
    expect(refusalMessage(upload(archive))).toBe(`hostile.zip: the archive ${zip64Message}`);
  });

  it('a declared ratio deflate cannot reach (600 MiB from a few hundred bytes), under the size limit', () => {
    const entry = deflatedEntry('adapter_model.safetensors', zeros, { size: 600 * MiB });
    expect(refusalMessage(upload(withWeights(entry)))).toBe(
      `hostile.zip: entry "adapter_model.safetensors" declares ${600 * MiB} bytes inflated from ${entry.data.length}, more than deflate's largest ratio (1032:1) allows`,
    );
  });

  it('an entry that inflates past the size it declares stops there', () => {
    const bomb = deflateSync(new Uint8Array(16 * MiB));
    const entry = deflatedEntry('adapter_model.safetensors', new Uint8Array(0), { data: bomb, size: 100 * 1024, compressedSize: bomb.length });
    const push = vi.spyOn(Inflate.prototype, 'push');
    try {
      expect(refusalMessage(upload(withWeights(entry)))).toBe('hostile.zip: entry "adapter_model.safetensors" inflates to more than the 102400 bytes it declares');
      // One push of 1600 compressed bytes (at most 1.6 MB inflated) found it, not the 16 MiB stream.
      expect(push.mock.calls.map(([chunk]) => chunk.length)).toEqual([1600]);
    } finally {
      push.mockRestore();
    }
  });

  it('duplicated PEFT entries are refused before either is inflated (one is not even deflate data)', () => {
    const zip = handZip([
      storedEntry('adapter_config.json', good.configText),
      deflatedEntry('a/adapter_model.safetensors', zeros, { size: 0xfffffff0 }),
      { ...deflatedEntry('b/adapter_model.safetensors', zeros), data: new Uint8Array(16).fill(0xff) },
    ]);
    expect(refusalMessage(upload(zip))).toBe(
      'adapter_model.safetensors: appears 2 times in hostile.zip (a/adapter_model.safetensors, b/adapter_model.safetensors); give one adapter at a time',
    );
  });
});

describe('archives whose data contradicts their directory', () => {
  const weights = () => storedEntry('adapter_model.safetensors', good.weights);

  it.each<[string, HandEntry, string]>([
    ['inflates short of its size', deflatedEntry('adapter_model.safetensors', good.weights, { size: good.weights.length + 10 }), `inflates to ${good.weights.length} bytes but declares ${good.weights.length + 10}`],
    ['stored with two sizes', { ...weights(), size: good.weights.length - 1 }, `is stored uncompressed yet declares ${good.weights.length} bytes stored for ${good.weights.length - 1} bytes of content`],
    ['encrypted', { ...weights(), flags: 0x801 }, 'is encrypted'],
    ['bzip2', { ...weights(), method: 12 }, 'uses compression method 12 (only stored and deflate are read)'],
    ['not deflate data', { ...weights(), method: 8, data: new Uint8Array(good.weights.length).fill(0xff) }, 'is not valid deflate data (invalid block type)'],
  ])('%s', (_what, entry, detail) => {
    expect(refusalMessage(upload(withWeights(entry)))).toBe(`hostile.zip: entry "adapter_model.safetensors" ${detail}`);
  });

  it('a damaged entry is caught by its CRC-32', () => {
    const entry = weights();
    const message = refusalMessage(upload(withWeights({ ...entry, crc32: (entry.crc32 ^ 1) >>> 0 })));
    const hex = (v: number) => v.toString(16).padStart(8, '0');
    expect(message).toBe(`hostile.zip: entry "adapter_model.safetensors" is damaged: its CRC-32 is ${hex(entry.crc32)}, the archive says ${hex((entry.crc32 ^ 1) >>> 0)}`);
  });

  it('a central directory that runs past the end record, and an entry whose data runs past the archive', () => {
    const zip = withWeights(weights());
    const end = zip.length - 22;
    const past = zip.slice();
    new DataView(past.buffer).setUint32(end + 12, new DataView(zip.buffer).getUint32(end + 12, true) + 1, true);
    expect(refusalMessage(upload(past))).toMatch(/^hostile\.zip: is not a readable \.zip archive \(its central directory \(\d+ bytes at \d+\) runs past the end record at \d+\)$/);
    const long = withWeights({ ...weights(), compressedSize: 10 ** 8, size: 10 ** 8 });
    expect(refusalMessage(upload(long))).toBe('hostile.zip: is not a readable .zip archive (the data of "adapter_model.safetensors" runs past the end of the archive)');
  });
});

describe('upload size limits, from sizes alone', () => {
  it('names the file, its size and the limit', () => {
    expect(refusalMessage(() => checkUploadSizes([{ name: 'adapter_model.safetensors', size: 2 * GiB }]))).toBe(
      "adapter_model.safetensors: is 2 GiB (2147483648 bytes), over the 1 GiB (1073741824 bytes) limit for an adapter's weights",
    );
    expect(refusalMessage(() => checkUploadSizes([{ name: 'run.zip', size: 1.5 * GiB }]))).toBe(
      'run.zip: is 1.5 GiB (1610612736 bytes), over the 1 GiB (1074790400 bytes) limit for an adapter upload',
    );
    expect(refusalMessage(() => checkUploadSizes([{ name: 'adapter_config.json', size: MiB + 1 }]))).toBe(
      'adapter_config.json: is 1 MiB (1048577 bytes), over the 1 MiB (1048576 bytes) limit for an adapter_config.json',
    );
    expect(
      refusalMessage(() =>
        checkUploadSizes([
          { name: 'adapter_config.json', size: MiB },
          { name: 'adapter_model.safetensors', size: GiB },
          { name: 'README.md', size: 10 },
        ]),
      ),
    ).toBe('The 3 picked files are 1 GiB (1074790410 bytes) together, over the 1 GiB (1074790400 bytes) limit for an adapter upload.');
  });

  it('an adapter_config.json of 1 MiB and a byte, picked or zipped', () => {
    const padded = new Uint8Array(MiB + 1).fill(0x20);
    padded.set(good.configText);
    expect(refusalMessage(() => readPeftUpload([{ name: 'adapter_config.json', bytes: padded }, { name: 'adapter_model.safetensors', bytes: good.weights }]))).toMatch(
      /^adapter_config\.json: is 1 MiB \(1048577 bytes\), over the 1 MiB/,
    );
    // Deflated spaces declare a size that deflate can reach; the limit on the declared size refuses it.
    const zip = handZip([deflatedEntry('adapter_config.json', padded), storedEntry('adapter_model.safetensors', good.weights)]);
    expect(refusalMessage(upload(zip))).toMatch(/^hostile\.zip: entry "adapter_config\.json" declares 1 MiB \(1048577 bytes\) uncompressed, over the 1 MiB/);
  });
});

describe('adapter_config.json values refused before anything is allocated, naming the field and the value', () => {
  const importWith = (over: Record<string, unknown>) => () => importPeftAdapter({ ...good.config, ...over }, good.weights, 'llama', stories.weights);
  const over4096 = "over the largest rank Tunelab imports (4096; a rank above a layer's width adds nothing)";

  it.each<[Record<string, unknown>, string]>([
    [{ r: 1e9 }, `field "r" is 1000000000, ${over4096}`],
    [{ r: 4097 }, `field "r" is 4097, ${over4096}`],
    [{ rank_pattern: { q_proj: 1e9 } }, `field "rank_pattern": the value of "q_proj" is 1000000000, ${over4096}`],
    [{ lora_alpha: -1 }, 'field "lora_alpha" must be a positive finite number, got -1'],
    [{ lora_alpha: 0 }, 'field "lora_alpha" must be a positive finite number, got 0'],
    [{ lora_alpha: 'Infinity' }, 'field "lora_alpha" must be a positive finite number, got "Infinity"'],
    [{ alpha_pattern: { v_proj: 0 } }, 'field "alpha_pattern": the value of "v_proj" must be a positive finite number, got 0'],
  ])('%j', (over, detail) => {
    expect(refusalMessage(importWith(over))).toBe(`adapter_config.json: ${detail}`);
  });

  it.each([
    ['"lora_alpha": NaN', 'field "lora_alpha" must be a positive finite number, got NaN'],
    ['"lora_alpha": Infinity', 'field "lora_alpha" must be a positive finite number, got Infinity'],
    ['"lora_alpha": -Infinity', 'field "lora_alpha" must be a positive finite number, got -Infinity'],
    ['"alpha_pattern": {"v_proj": NaN}', 'field "alpha_pattern": the value of "v_proj" must be a positive finite number, got NaN'],
    ['"r": NaN', 'field "r" must be a positive integer, got NaN'],
  ])("Python's json.dumps writing %s", (field, detail) => {
    // What PEFT's save_pretrained writes for float('nan') and float('inf'): bare words, not JSON.
    const key = field.slice(1, field.indexOf('"', 1));
    const rest = Object.fromEntries(Object.entries(good.config).filter(([k]) => k !== key));
    const text = `{${field}, ${JSON.stringify(rest).slice(1)}`;
    const files = readPeftUpload([{ name: 'adapter_config.json', bytes: enc(text) }, { name: 'adapter_model.safetensors', bytes: good.weights }]);
    expect(refusalMessage(() => importPeftAdapter(files.config, files.weights, 'llama', stories.weights))).toBe(`adapter_config.json: ${detail}`);
  });

  it('a bare NaN in a field Tunelab ignores is read as NaN; NaN and Infinity inside strings stay text; other breakage is still "not valid JSON"', () => {
    const text = `{"some_future_field": NaN, ${JSON.stringify({ ...good.config, base_model_name_or_path: 'NaN "Infinity" -Infinity' }).slice(1)}`;
    const files = readPeftUpload([{ name: 'adapter_config.json', bytes: enc(text) }, { name: 'adapter_model.safetensors', bytes: good.weights }]);
    expect(files.config).toEqual({ some_future_field: NaN, ...good.config, base_model_name_or_path: 'NaN "Infinity" -Infinity' });
    expect(importPeftAdapter(files.config, files.weights, 'llama', stories.weights).warnings).toEqual([
      'adapter_config.json: field "some_future_field" is unknown to Tunelab and was ignored',
    ]);
    expect(refusalMessage(() => readPeftUpload([{ name: 'adapter_config.json', bytes: enc('{"lora_alpha": NaN,') }, { name: 'adapter_model.safetensors', bytes: good.weights }]))).toMatch(
      /^adapter_config\.json: is not valid JSON \(/,
    );
  });
});

describe('the f32 adapter a config asks for is bounded by the model it targets (Qwen2.5-0.5B shapes, no weights)', () => {
  // 24 layers of q (896 -> 896), k and v (896 -> 128), o (896 -> 896), gate and up (896 -> 4864), down (4864 -> 896).
  const shapeOnly = (source: string, shape: number[]): WeightTensor => ({
    source,
    shape,
    read: () => {
      throw new Error(`${source}: shapes only`);
    },
  });
  const linear = (path: string, out: number, inF: number): LinearWeights => ({ weight: shapeOnly(`${path}.weight`, [out, inF]), module: { path, fanInFanOut: false } });
  const norm = { weight: shapeOnly('norm', [896]) };
  const embedding = shapeOnly('model.embed_tokens.weight', [151936, 896]);
  const qwen: ModelWeights = {
    tokenEmbedding: embedding,
    lmHead: embedding,
    tied: true,
    finalNorm: norm,
    layers: Array.from({ length: 24 }, (_, l) => {
      const p = `model.layers.${l}`;
      return {
        attnNorm: norm,
        mlpNorm: norm,
        q: linear(`${p}.self_attn.q_proj`, 896, 896),
        k: linear(`${p}.self_attn.k_proj`, 128, 896),
        v: linear(`${p}.self_attn.v_proj`, 128, 896),
        o: linear(`${p}.self_attn.o_proj`, 896, 896),
        gate: linear(`${p}.mlp.gate_proj`, 4864, 896),
        up: linear(`${p}.mlp.up_proj`, 4864, 896),
        down: linear(`${p}.mlp.down_proj`, 896, 4864),
      };
    }),
  };
  const perRank = 24 * (2 * (896 + 896) + 2 * (896 + 128) + 3 * (896 + 4864));
  const config = (over: Record<string, unknown>) => ({ ...good.config, target_modules: 'all-linear', ...over });

  const limitText = 'over the 1 GiB (1073741824 bytes) limit of an adapter';

  it('rank 512 on every linear layer (1.05 GiB of f32) is refused; 256 passes the check and goes on to the tensors', () => {
    expect(refusalMessage(() => importPeftAdapter(config({ r: 512 }), good.weights, 'qwen2', qwen))).toBe(
      `adapter_config.json: field "r" = 512 over the 168 targeted modules of this model needs 1.05 GiB (${4 * 512 * perRank} bytes) of f32 LoRA weights, ${limitText}`,
    );
    expect(refusalMessage(() => importPeftAdapter(config({ r: 256 }), good.weights, 'qwen2', qwen))).toMatch(/^adapter_model\.safetensors: tensor ".*" has shape \[4, 64\], expected \[256, 896\]/);
  });

  it('training is bounded the same way, so what Tunelab trains and exports comes back in', () => {
    const lora = { r: 512, alpha: 16, dropout: 0, targets: ['all-linear'], useRslora: false };
    expect(refusalMessage(() => planAdapter('qwen2', qwen, lora))).toBe(
      `LoRA rank 512 on the 168 targeted modules is 1.05 GiB (${4 * 512 * perRank} bytes) of f32 weights, over the 1 GiB (1073741824 bytes) an adapter may take (what Tunelab imports back); lower the rank or target fewer modules`,
    );
    expect(planAdapter('qwen2', qwen, { ...lora, r: 8 }).modules).toHaveLength(168);
  });

  it('one rank_pattern entry pads every module to its rank, and is named', () => {
    expect(refusalMessage(() => importPeftAdapter(config({ r: 8, rank_pattern: { 'model.layers.0.mlp.down_proj': 1024 } }), good.weights, 'qwen2', qwen))).toBe(
      `adapter_config.json: field rank_pattern "model.layers.0.mlp.down_proj" = 1024 over the 168 targeted modules of this model needs 2.1 GiB (${4 * 1024 * perRank} bytes) of f32 LoRA weights, ${limitText}`,
    );
  });
});

describe('through the worker: a refused import leaves every saved adapter as it was', () => {
  let db: StudioDb;
  const active = { config: { architecture: 'llama' }, layout: stories.weights, info: { source: 'stories260K' } } as unknown as ActiveModel;
  const service = () => createAdaptersService({ db: async () => db, models: { active } } as unknown as WorkerDeps);
  const file = (name: string, bytes: Uint8Array) => new File([bytes.slice()], name);
  /** A picked file that is never to be read: only its size is known. */
  const unreadFile = (name: string, size: number) =>
    ({
      name,
      size,
      arrayBuffer: () => {
        throw new Error(`${name} was read`);
      },
    }) as unknown as File;
  const saved = async () => (await listAdapters(db, (r: AdapterRecord) => r)).map((r) => ({ id: r.id, name: r.name, config: r.config, weights: Array.from(r.weights) }));

  beforeEach(async () => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    db = await openStudioDb();
  });
  afterEach(() => {
    db.close();
    vi.unstubAllGlobals();
  });

  it('imports a good zip, then refuses a bomb, a zip64 entry, oversized picks and a NaN alpha without touching it', async () => {
    const api = service();
    await api.importAdapter([file('good.zip', zipSync({ 'adapter_config.json': good.configText, 'adapter_model.safetensors': good.weights }))], 'kept');
    const before = await saved();
    expect(before.map((r) => r.name)).toEqual(['kept']);
    const zeros = new Uint8Array(64 * 1024);
    const attempts: [File[], string][] = [
      [[file('bomb.zip', withWeights(deflatedEntry('adapter_model.safetensors', zeros, { size: 0xfffffff0 })))], 'bomb.zip: entry "adapter_model.safetensors" declares 4 GiB'],
      [[file('z64.zip', withWeights(deflatedEntry('adapter_model.safetensors', zeros, { size: 4 * GiB, zip64: true })))], 'z64.zip: entry "adapter_model.safetensors" uses zip64'],
      [[unreadFile('adapter_model.safetensors', 3 * GiB), file('adapter_config.json', good.configText)], 'adapter_model.safetensors: is 3 GiB (3221225472 bytes), over the 1 GiB'],
      [[unreadFile('huge.zip', 5 * GiB)], 'huge.zip: is 5 GiB (5368709120 bytes), over the 1 GiB (1074790400 bytes) limit for an adapter upload'],
      [
        [file('adapter_config.json', enc(JSON.stringify(good.config).replace('"lora_alpha":8', '"lora_alpha":NaN'))), file('adapter_model.safetensors', good.weights)],
        'field "lora_alpha" must be a positive finite number, got NaN',
      ],
    ];
    for (const [files, message] of attempts) {
      await expect(api.importAdapter(files, 'hostile')).rejects.toThrow(message);
      expect(await saved()).toEqual(before);
    }
  });
});
