// Issue 14 item 8 for adapter imports: seeded mutations of valid adapter zips (through the zip directory
// reader, the config parser and the import against stories260K) and of valid adapter_config.json files
// (through the PEFT config parser, rank_pattern / alpha_pattern matching and the import) each end in an
// imported adapter or a ModelFormatError, within the time limit; and random rank_pattern keys are either
// refused or quick to match.

import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { initAdapter, planAdapter } from '../../src/engine/lora/adapter';
import { parseAdapterConfigBytes } from '../../src/engine/lora/peft-config-text';
import { patternKeyCost } from '../../src/engine/lora/pattern-key-cost';
import { adapterConfigJson, adapterWeightsBytes, importPeftAdapter } from '../../src/engine/lora/peft-files';
import { patternRegex } from '../../src/engine/lora/rank-pattern';
import { ModelFormatError } from '../../src/engine/model/errors';
import { Rng } from '../../src/engine/util/rng';
import { zipPeftFiles } from '../../src/state/adapters-zip';
import { readPeftUpload } from '../../src/worker/adapter-upload';
import { fuzz } from '../helpers/fuzz';
import { deflatedEntry, handZip } from '../helpers/hostile-zip';
import { llamaModules, peftConfig, peftWeights } from '../helpers/peft-adapters';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';

const stories = await loadModel(STORIES260K_DIR);
const enc = (text: string) => new TextEncoder().encode(text);
const isRefusal = (err: unknown) => err instanceof ModelFormatError;

/** Tunelab's own export of a small rank-1 q_proj adapter: a small archive, so mutations often hit its headers. */
function tunelabAdapter() {
  const adapter = initAdapter(planAdapter('llama', stories.weights, { r: 1, alpha: 2, dropout: 0, targets: ['q_proj'], useRslora: false }), new Rng(7));
  return { config: `${JSON.stringify(adapterConfigJson(adapter, 'stories260K'), null, 2)}\n`, weights: adapterWeightsBytes(adapter) };
}

/** A PEFT adapter with rank_pattern, alpha_pattern (regex keys), rsLoRA, and a NaN as Python writes it in an ignored field. */
function patternedAdapter() {
  const rankOf = (p: string) => (p.endsWith('q_proj') ? 2 : 1);
  const alphaOf = (p: string) => (/layers\.[01]\.self_attn\.v_proj$/.test(p) ? 4 : 2);
  const config = peftConfig({ r: 1, lora_alpha: 2, use_rslora: true, rank_pattern: { q_proj: 2 }, alpha_pattern: { 'layers\\.[01]\\.self_attn\\.v_proj': 4 } });
  const text = `{"some_future_field": NaN, ${JSON.stringify(config, null, 2).slice(1)}`;
  return { config: text, weights: peftWeights(llamaModules(stories.config, ['q_proj', 'v_proj'], rankOf, alphaOf, 11)) };
}

const tunelab = tunelabAdapter();
const patterned = patternedAdapter();

describe('fuzzing adapter imports', () => {
  it('zips: 5000 mutations of three valid archives end in an adapter or a ModelFormatError', async () => {
    const seeds = [
      zipPeftFiles({ 'adapter_config.json': tunelab.config, 'adapter_model.safetensors': tunelab.weights }),
      zipSync({ 'run/adapter_config.json': enc(patterned.config), 'run/adapter_model.safetensors': patterned.weights, 'run/README.md': enc('# run') }),
      handZip([deflatedEntry('adapter_config.json', enc(tunelab.config)), deflatedEntry('adapter_model.safetensors', tunelab.weights)]),
    ];
    for (const zip of seeds) expect(readPeftUpload([{ name: 'seed.zip', bytes: zip }]).weights.length).toBeGreaterThan(0);
    const summary = await fuzz(
      seeds,
      (bytes) => {
        const files = readPeftUpload([{ name: 'fuzz.zip', bytes }]);
        return importPeftAdapter(files.config, files.weights, 'llama', stories.weights);
      },
      { seed: 14, cases: 5000, caseLimitMs: 500, isRefusal },
    );
    // Most mutations are caught (CRC-32, headers, JSON); some land in ignored bytes (a comment, a README's data, times).
    expect(summary.refused).toBeGreaterThan(4000);
    expect(summary.accepted).toBeGreaterThan(10);
  });

  it('configs: 5000 mutations of two valid adapter_config.json files end in an adapter or a ModelFormatError', async () => {
    const seeds: [Uint8Array, Uint8Array][] = [
      [enc(tunelab.config), tunelab.weights],
      [enc(patterned.config), patterned.weights],
    ];
    for (const [config, weights] of seeds) expect(importPeftAdapter(parseAdapterConfigBytes(config, 'seed'), weights, 'llama', stories.weights).adapter.modules.length).toBeGreaterThan(0);
    // fuzz() mutates round robin, so case c mutates seed c % 2: its weights go with it.
    let c = 0;
    const summary = await fuzz(
      seeds.map(([config]) => config),
      (bytes) => {
        const weights = seeds[c++ % seeds.length][1];
        return importPeftAdapter(parseAdapterConfigBytes(bytes, 'adapter_config.json'), weights, 'llama', stories.weights);
      },
      { seed: 15, cases: 5000, caseLimitMs: 500, isRefusal },
    );
    expect(summary.refused).toBeGreaterThan(3000);
    expect(summary.accepted).toBeGreaterThan(100);
  });

  it('pattern keys: of 20000 random regular expressions, every one accepted matches hostile module names in milliseconds', () => {
    const pieces = ['.', '*', '+', '?', '(', ')', '|', '[', ']', '{', '}', '\\', 'a', 'q', '_', '1', ',', 'd', '.*', '(?:', '{2,}', 'layers', 'z', '^', '$', '\\.', '\\d'];
    const names = ['model.layers.27.self_attn.q_proj.and.a.longer.tail.xx', 'a'.repeat(60), '.'.repeat(60), 'model.layers.0.self_attn.q_proj'];
    const rng = new Rng(16);
    const timeOf = (regex: RegExp) => {
      const t0 = performance.now();
      for (const name of names) regex.test(name);
      return performance.now() - t0;
    };
    let accepted = 0;
    let hazards = 0;
    for (let c = 0; c < 20000; c++) {
      const key = Array.from({ length: 1 + Math.floor(rng.next() * 14) }, () => pieces[Math.floor(rng.next() * pieces.length)]).join('');
      let regex: RegExp;
      try {
        new RegExp(key);
        regex = patternRegex(key);
      } catch {
        continue;
      }
      if (patternKeyCost(key).hazard) {
        hazards++;
        continue;
      }
      accepted++;
      // Timed twice when slow, so a garbage collection pause is not taken for backtracking.
      const first = timeOf(regex);
      const ms = first < 20 ? first : timeOf(regex);
      expect(ms, `key ${JSON.stringify(key)}`).toBeLessThan(20);
    }
    // Both kinds occur: the generator also writes nested and chained quantifiers ("(.*)+", ".*.*.*z").
    expect(accepted).toBeGreaterThan(3000);
    expect(hazards).toBeGreaterThan(100);
  });
});
