// rank_pattern / alpha_pattern keys are regular expressions matched by backtracking against every targeted
// module's name: keys whose matching can explode are refused by name before any is run, the keys real
// adapters use are accepted, and many keys cost one compile each, not one per module and key pair.

import { describe, expect, it } from 'vitest';
import { parsePeftConfig } from '../../src/engine/lora/peft-config';
import { importPeftAdapter } from '../../src/engine/lora/peft-files';
import { MAX_KEY_REPEATS, patternKeyCost } from '../../src/engine/lora/pattern-key-cost';
import { llamaModules, peftConfig, peftWeights } from '../helpers/peft-adapters';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';
import { refusalMessage } from '../helpers/assert';

const parseWith = (over: Record<string, unknown>) => () => parsePeftConfig(peftConfig(over));

describe('keys whose backtracking can explode are refused, naming the field and the key', () => {
  it.each([
    ['(.*)*z', 'repeats a group that itself repeats or alternates ("(.*)*"), which can take exponential time to match'],
    ['(a|a)*q_proj', 'repeats a group that itself repeats or alternates ("(a|a)*"), which can take exponential time to match'],
    ['(?:x?){30}q_proj', 'repeats a group that itself repeats or alternates ("(?:x?){30}"), which can take exponential time to match'],
    ['((a+)b)+', 'repeats a group that itself repeats or alternates ("((a+)b)+"), which can take exponential time to match'],
    ['(q)_\\1', 'has a back-reference ("\\1")'],
    ['(?<m>q)\\k<m>', 'has a back-reference ("\\k")'],
    ['.*.*.*q_proj', `has 3 variable quantifiers (at most ${MAX_KEY_REPEATS}: each multiplies the time to match a module name by up to its length)`],
  ])('%s', (key, detail) => {
    for (const field of ['rank_pattern', 'alpha_pattern']) {
      expect(refusalMessage(parseWith({ [field]: { [key]: 4 } }))).toBe(`adapter_config.json: field "${field}": key "${key}" ${detail}`);
    }
  });

  it('a key that only parses inside PEFT\'s wrapper group, and too many quantifiers across a field', () => {
    expect(refusalMessage(parseWith({ rank_pattern: { 'q_proj)|(v_proj': 4 } }))).toMatch(/^adapter_config\.json: field "rank_pattern": key "q_proj\)\|\(v_proj" is not a regular expression Tunelab can read \(/);
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`.*layers\\.\\d+\\.x${i}`, 4]));
    expect(refusalMessage(parseWith({ rank_pattern: many }))).toBe(
      'adapter_config.json: field "rank_pattern": its keys hold more than 32 variable quantifiers (*, +, ?, {m,n}) together, too slow to match; name the modules instead',
    );
    const tooMany = Object.fromEntries(Array.from({ length: 4097 }, (_, i) => [`model.layers.${i}.self_attn.q_proj`, 4]));
    expect(refusalMessage(parseWith({ rank_pattern: tooMany }))).toBe('adapter_config.json: field "rank_pattern" has 4097 entries, over the limit of 4096');
  });
});

describe('the keys real adapters use pass', () => {
  it.each([
    'q_proj',
    'model.layers.0.self_attn.q_proj',
    'layers\\.\\d+\\.self_attn\\.q_proj',
    '(layers\\.\\d+\\.)?q_proj',
    '.*\\.(q|v)_proj',
    'mlp\\.(gate|up)_proj',
    '[qv]_proj',
    '(?:self_attn\\.)?q_proj',
    'x{2}',
    'a{',
  ])('%s', (key) => {
    expect(patternKeyCost(key).hazard).toBeUndefined();
    expect(parsePeftConfig(peftConfig({ rank_pattern: { [key]: 4 } })).config.rankPattern).toEqual([{ key, value: 4 }]);
  });
});

describe('many keys', () => {
  it('1000 rank_pattern entries against a model import in well under a second (each key compiled once)', async () => {
    const stories = await loadModel(STORIES260K_DIR);
    const c = stories.config;
    const rankOf = (p: string) => (p === 'model.layers.0.self_attn.q_proj' ? 2 : 4);
    const modules = llamaModules(c, ['q_proj', 'v_proj'], rankOf, () => 8, 5);
    const pattern: Record<string, number> = { 'model.layers.0.self_attn.q_proj': 2 };
    for (let i = 0; i < 999; i++) pattern[`model.layers.${100 + i}.self_attn.q_proj`] = 4;
    const t0 = performance.now();
    const imported = importPeftAdapter(peftConfig({ r: 4, lora_alpha: 8, rank_pattern: pattern }), peftWeights(modules), 'llama', stories.weights);
    const ms = performance.now() - t0;
    expect(imported.adapter.config.r).toBe(4);
    expect(imported.warnings.filter((w) => w.includes('applies to no targeted module'))).toHaveLength(999);
    expect(ms).toBeLessThan(1000);
  });
});
