import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../src/engine/model/config';
import { modelRopeFrequencies } from '../../src/engine/model/rope-frequencies';

const BASE = {
  architectures: ['LlamaForCausalLM'],
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 1,
  num_attention_heads: 4,
  head_dim: 16,
  vocab_size: 512,
  rope_theta: 10000,
};

function relErr(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

describe('modelRopeFrequencies', () => {
  it('default: theta^(-2i/D) in float32', () => {
    const f = modelRopeFrequencies(parseModelConfig(BASE));
    expect(f.length).toBe(8);
    // D = 16, theta = 10^4: 10^(-i/2).
    for (let i = 0; i < 8; i++) expect(relErr(f[i], 10 ** (-i / 2))).toBeLessThan(2 ** -22);
  });

  it('linear: every frequency divided by the factor', () => {
    const f = modelRopeFrequencies(parseModelConfig({ ...BASE, rope_scaling: { type: 'linear', factor: 4 } }));
    for (let i = 0; i < 8; i++) expect(relErr(f[i], 10 ** (-i / 2) / 4)).toBeLessThan(2 ** -21);
  });

  it('llama3: high band kept, low band divided by factor, the middle blended', () => {
    // factor 8, original context 64, low_freq_factor 1, high_freq_factor 4:
    // wavelengths under 64 / 4 = 16 are kept, over 64 / 1 = 64 are divided by 8, between them
    // f' = (1 - s) f / 8 + s f with s = (64 / wavelength - 1) / (4 - 1) and wavelength = 2 pi / f.
    const config = parseModelConfig({
      ...BASE,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
    });
    const f = modelRopeFrequencies(config);
    // i = 0: f = 1, wavelength 2 pi = 6.28 < 16: unchanged.
    expect(f[0]).toBe(1);
    // i = 1: f = 10^-0.5 = 0.316227766, wavelength 19.869: s = (64 * 0.316227766 / 6.283185307 - 1) / 3
    //   = (3.221070 - 1) / 3 = 0.740357; f' = 0.316227766 * (0.740357 + 0.259643 / 8) = 0.316227766 * 0.772812 = 0.244385.
    expect(relErr(f[1], 0.244385)).toBeLessThan(2e-6);
    // i = 2: f = 0.1, wavelength 62.83 (just under 64): s = (1.018592 - 1) / 3 = 0.0061972;
    //   f' = 0.1 * (0.0061972 + 0.9938028 / 8) = 0.1 * 0.1304226 = 0.01304226.
    expect(relErr(f[2], 0.01304226)).toBeLessThan(2e-6);
    // i >= 3: wavelength 198.7 and longer: divided by 8.
    for (let i = 3; i < 8; i++) expect(relErr(f[i], 10 ** (-i / 2) / 8)).toBeLessThan(2 ** -21);
  });

  it("llama3 with Llama 3.1's settings keeps the fastest and slows the slowest frequency eightfold", () => {
    const f = modelRopeFrequencies(
      parseModelConfig({
        ...BASE,
        head_dim: 128,
        rope_theta: 500000,
        rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      }),
    );
    expect(f.length).toBe(64);
    expect(f[0]).toBe(1);
    // Last pair: 500000^(-126/128) = 2.4e-6, wavelength 2.6e6 >> 8192.
    expect(relErr(f[63], 500000 ** (-126 / 128) / 8)).toBeLessThan(1e-6);
    // Wavelength 2 pi / f: 1956 at i = 28 (kept), 2402 at i = 29 ... 6695 at i = 34 (blended), 8219 from i = 35 (divided).
    const bands = { kept: 0, blended: 0, divided: 0 };
    const wavelength = (i: number) => (2 * Math.PI) / 500000 ** (-(2 * i) / 128);
    for (let i = 0; i < 64; i++) {
      const base = 500000 ** (-(2 * i) / 128);
      if (wavelength(i) < 2048) {
        expect(relErr(f[i], base), `i=${i}`).toBeLessThan(1e-6);
        bands.kept++;
      } else if (wavelength(i) > 8192) {
        expect(relErr(f[i], base / 8), `i=${i}`).toBeLessThan(1e-6);
        bands.divided++;
      } else {
        expect(f[i]).toBeLessThan(base);
        expect(f[i]).toBeGreaterThan(base / 8);
        bands.blended++;
      }
    }
    expect(bands).toEqual({ kept: 29, blended: 6, divided: 29 });
  });
});
