// Adapter import and export on the studio's side: the PEFT files found in a pick or a .zip, the zip the
// Adapters page makes, the module count the list shows, and the checks against the loaded model.

import { unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { initAdapter, planAdapter } from '../../src/engine/lora/adapter';
import { adapterConfigJson, adapterWeightsBytes, loadPeftAdapter } from '../../src/engine/lora/peft-files';
import { readSafetensors } from '../../src/engine/model/safetensors';
import { Rng } from '../../src/engine/util/rng';
import { fileSafeName, zipPeftFiles } from '../../src/state/adapters-zip';
import { adapterModuleCount, adapterSummary } from '../../src/worker/adapter-summary';
import { readPeftUpload, type UploadedFile } from '../../src/worker/adapter-upload';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';

const stories = await loadModel(STORIES260K_DIR);
const enc = (text: string) => new TextEncoder().encode(text);

/** A q_proj/v_proj adapter for stories260K with random non-zero B. */
function peftFiles(r = 4) {
  const adapter = initAdapter(planAdapter('llama', stories.weights, { r, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'], useRslora: false }), new Rng(1));
  const rng = new Rng(2);
  for (const m of adapter.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = rng.uniform(-0.5, 0.5);
  return { adapter, config: adapterConfigJson(adapter, 'stories260K'), weights: adapterWeightsBytes(adapter) };
}

describe('readPeftUpload', () => {
  const { config, weights } = peftFiles();
  const configBytes = enc(JSON.stringify(config));

  it('takes the two PEFT files picked together, in any order', () => {
    const upload = readPeftUpload([
      { name: 'adapter_model.safetensors', bytes: weights },
      { name: 'adapter_config.json', bytes: configBytes },
    ]);
    expect(upload.config).toEqual(config);
    expect(upload.weights).toEqual(weights);
  });

  it('takes a .zip holding them at its top or in one folder, skipping other entries', () => {
    for (const prefix of ['', 'my-adapter/']) {
      const zip = zipSync({ [`${prefix}adapter_config.json`]: configBytes, [`${prefix}adapter_model.safetensors`]: weights, [`${prefix}README.md`]: enc('hi') });
      const upload = readPeftUpload([{ name: 'run.zip', bytes: zip }]);
      expect(upload.config).toEqual(config);
      expect(upload.weights).toEqual(weights);
    }
  });

  it('names what is missing, repeated or unreadable', () => {
    const only = (files: UploadedFile[]) => () => readPeftUpload(files);
    expect(only([])).toThrow(/No files given/);
    expect(only([{ name: 'adapter_config.json', bytes: configBytes }])).toThrow(/^adapter_model\.safetensors: not found in the 1 picked file/);
    expect(only([{ name: 'a.zip', bytes: zipSync({ 'adapter_model.safetensors': weights }) }])).toThrow(/^adapter_config\.json: not found in a\.zip/);
    expect(only([{ name: 'a.zip', bytes: zipSync({ 'x/adapter_config.json': configBytes, 'y/adapter_config.json': configBytes }) }])).toThrow(
      /adapter_config\.json: appears 2 times in a\.zip \(x\/adapter_config\.json, y\/adapter_config\.json\)/,
    );
    expect(only([{ name: 'broken.zip', bytes: enc('not a zip at all') }])).toThrow(/^broken\.zip: is not a readable \.zip archive/);
    expect(only([{ name: 'a.zip', bytes: new Uint8Array(0) }, { name: 'b.zip', bytes: new Uint8Array(0) }])).toThrow(/2 \.zip files given/);
    expect(only([{ name: 'a.zip', bytes: new Uint8Array(0) }, { name: 'adapter_config.json', bytes: configBytes }])).toThrow(/either one \.zip or the two adapter files/);
    expect(
      only([
        { name: 'adapter_config.json', bytes: enc('{"r": 4,') },
        { name: 'adapter_model.safetensors', bytes: weights },
      ]),
    ).toThrow(/^adapter_config\.json: is not valid JSON/);
    expect(
      only([
        { name: 'adapter_config.json', bytes: new Uint8Array([0xff, 0xfe, 0x7b]) },
        { name: 'adapter_model.safetensors', bytes: weights },
      ]),
    ).toThrow(/^adapter_config\.json: is not UTF-8 text/);
  });
});

describe('the Adapters page zip and the list summary', () => {
  it('zips both PEFT files at the top level, byte for byte, loadable back into the same adapter', () => {
    const { adapter, config, weights } = peftFiles();
    const configText = `${JSON.stringify(config, null, 2)}\n`;
    const zip = zipPeftFiles({ 'adapter_config.json': configText, 'adapter_model.safetensors': weights });
    const entries = unzipSync(zip);
    expect(Object.keys(entries).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(new TextDecoder().decode(entries['adapter_config.json'])).toBe(configText);
    expect(entries['adapter_model.safetensors']).toEqual(weights);
    const upload = readPeftUpload([{ name: 'x.zip', bytes: zip }]);
    const back = loadPeftAdapter(upload.config, upload.weights, 'llama', stories.weights);
    expect(back.modules.map((m) => m.path)).toEqual(adapter.modules.map((m) => m.path));
    back.modules.forEach((m, i) => expect(m.b).toEqual(adapter.modules[i].b));
  });

  it('counts one module per lora_A tensor: 2 targets x 5 layers for stories260K', () => {
    const { config, weights } = peftFiles();
    expect(adapterModuleCount(weights)).toBe(10);
    expect([...readSafetensors(weights).tensors.keys()].filter((k) => k.endsWith('lora_B.weight'))).toHaveLength(10);
    const summary = adapterSummary({ id: 'a', name: 'n', createdAt: '2024-01-01T00:00:00Z', baseModel: 'stories260K', config, weights });
    expect(summary).toMatchObject({ id: 'a', modules: 10, bytes: weights.byteLength });
    expect('weights' in summary).toBe(false);
  });

  it('makes file names safe without losing letters', () => {
    expect(fileSafeName('my run: v2')).toBe('my-run-v2');
    expect(fileSafeName('  Café/ünïcode  ')).toBe('Café-ünïcode');
    expect(fileSafeName('///')).toBe('adapter');
  });

  it('refuses an adapter whose shapes do not fit the model, naming the tensor and both shapes', () => {
    const { config } = peftFiles(4);
    const { weights: rank2 } = peftFiles(2);
    expect(() => loadPeftAdapter(config, rank2, 'llama', stories.weights)).toThrow(
      /adapter_model\.safetensors: tensor "base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight" has shape \[2, 64\], expected \[4, 64\]/,
    );
  });
});
