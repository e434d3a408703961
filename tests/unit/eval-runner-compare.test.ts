// Before and after: paired standard errors on hand values (per item for means, per document for
// perplexity), retention perplexity on stories260K's CPU reference against a brute-force sum, and
// runBeforeAfter over two scripted targets (comparisons, the forgetting row, target order).

import { beforeAll, describe, expect, it } from 'vitest';
import { runBeforeAfter } from '../../src/engine/eval/before-after';
import { compareSuiteResults } from '../../src/engine/eval/compare-results';
import { perplexityChange } from '../../src/engine/eval/retention-stats';
import { runSuite, type LoadedSuite } from '../../src/engine/eval/run-suite';
import type { EvalModel, ItemOutcome, SuiteResult } from '../../src/engine/eval/run-types';
import type { RetentionSuiteSpec } from '../../src/engine/eval/suite-types';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { fakeConfig } from '../helpers/fake-lm';
import type { NextLogits } from '../helpers/fake-lm';
import { ScoringFakeLm, uniformLogits } from '../helpers/scoring-fake-lm';
import { STORIES_BOS, STORIES_EOS, storiesTokenizer } from '../helpers/stories-tokenizer';
import { loadModel, STORIES260K_DIR } from '../helpers/tiny-models';

const V = 512;

function result(kind: SuiteResult['kind'], items: ItemOutcome[], scores: SuiteResult['scores']): SuiteResult {
  return { suiteId: 's', suiteName: 's', kind, scores, items, total: items.length, cancelled: false, ms: 0 };
}

describe('paired comparisons on hand values', () => {
  it('mean metrics: the stderr of per-item differences, not of independent samples', () => {
    const base = [1, 0, 1, 1, 0];
    const other = [1, 1, 1, 1, 0];
    const outcomes = (v: number[]) => v.map((x, i) => ({ id: `i${i}`, scores: { 'acc,none': x } }));
    const a = result('multiple-choice', outcomes(base), { 'acc,none': { value: 0.6, stderr: Math.sqrt(0.3 / 5) } });
    const b = result('multiple-choice', outcomes(other), { 'acc,none': { value: 0.8, stderr: Math.sqrt(0.2 / 5) } });
    const [c] = compareSuiteResults(a, b, 1);
    // d = [0, 1, 0, 0, 0]: mean 0.2, sample variance (0.04 * 4 + 0.64) / 4 = 0.2, stderr sqrt(0.2 / 5) = 0.2.
    expect(c).toMatchObject({ metric: 'acc,none', method: 'paired-items', target: 1, significant: false });
    expect(c.difference).toBeCloseTo(0.2, 12);
    expect(c.stderr).toBeCloseTo(0.2, 12);
    // Independent samples would give sqrt(0.3 / 5 + 0.2 / 5) = 0.316.
    const unpaired = compareSuiteResults(a, { ...b, items: b.items.slice(1) }, 1)[0];
    expect(unpaired.method).toBe('independent');
    expect(unpaired.stderr).toBeCloseTo(Math.sqrt(0.1), 12);
  });

  it('perplexity: per-document paired change, by hand for equal-length documents', () => {
    // 4 tokens each; base NLL 8 per document (log-perplexity 2), the model d = [1, 2, 3] more.
    const base = [8, 8, 8].map((nll) => ({ nll, tokens: 4 }));
    const model = [9, 10, 11].map((nll) => ({ nll, tokens: 4 }));
    const c = perplexityChange(base, model);
    // D = 6 / 12 = 0.5; residuals d_i - 4 D = [-1, 0, 1]: se = sqrt(2 / (3 * 2)) / 4.
    expect(c.logPerplexity.value).toBeCloseTo(0.5, 12);
    expect(c.logPerplexity.stderr).toBeCloseTo(Math.sqrt(1 / 3) / 4, 12);
    expect(c.relative.value).toBeCloseTo(Math.exp(0.5) - 1, 12);
    expect(c.relative.stderr).toBeCloseTo((Math.exp(0.5) * Math.sqrt(1 / 3)) / 4, 12);
    // exp(2.5) - exp(2); the base's residuals are all 0, so r_i = exp(2.5) (b_i - 2.5 * 4) = exp(2.5) [-1, 0, 1].
    expect(c.perplexity.value).toBeCloseTo(Math.exp(2.5) - Math.exp(2), 10);
    expect(c.perplexity.stderr).toBeCloseTo((Math.exp(2.5) * Math.sqrt(1 / 3)) / 4, 10);
  });
});

const retentionSpec: RetentionSuiteSpec = { id: 'ret', name: 'retention', createdAt: 0, origin: { type: 'file', fileName: 'general.jsonl' }, kind: 'retention', options: {} };
const TEXTS = ['Once upon a time, there was a little dog.', 'Lily liked to play in the park with her ball.', 'The sun was warm.'];

describe('retention on stories260K (CPU reference)', () => {
  let model: EvalModel;
  beforeAll(async () => {
    const { files, config, weights } = await loadModel(STORIES260K_DIR);
    model = { lm: new CpuCausalLm(config, weights), tokenizer: new ModelTokenizer(files) };
  });

  /** Sum of log p(t_k | t_<k) over a text's tokens after BOS, from one whole-sequence forward. */
  async function bruteNll(text: string): Promise<{ nll: number; tokens: number }> {
    const ids = [STORIES_BOS, ...model.tokenizer.encode(text, { addSpecialTokens: false })];
    const s = model.lm.createSequence(ids.length);
    const [logits] = await model.lm.extend([{ sequence: s, tokens: ids.slice(0, -1) }], 'all');
    model.lm.releaseSequence(s);
    let nll = 0;
    for (let k = 1; k < ids.length; k++) {
      const row = logits.subarray((k - 1) * V, k * V);
      const max = row.reduce((m, x) => Math.max(m, x), -Infinity);
      nll -= row[ids[k]] - max - Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
    }
    return { nll, tokens: ids.length - 1 };
  }

  it('per-document NLL and token counts, and the set perplexity exp(sum NLL / sum tokens)', async () => {
    const r = await runSuite(retentionSpec, TEXTS.map((text, i) => ({ id: `d${i}`, text })), model, { batchSize: 2, seed: 0 });
    const want = await Promise.all(TEXTS.map(bruteNll));
    r.items.forEach((o, i) => {
      expect(o.detail!.tokens).toBe(want[i].tokens);
      expect(Math.abs((o.detail!.nll as number) - want[i].nll)).toBeLessThan(1e-5 * want[i].nll);
    });
    const total = want.reduce((s, w) => s + w.nll, 0) / want.reduce((s, w) => s + w.tokens, 0);
    expect(r.scores['perplexity,none'].value).toBeCloseTo(Math.exp(total), 4);
    expect(r.scores['perplexity,none'].stderr).toBeGreaterThan(0);
    const bytes = TEXTS.reduce((s, t) => s + t.length, 0); // ASCII: one byte per character
    expect(r.scores['bits_per_byte,none'].value).toBeCloseTo(want.reduce((s, w) => s + w.nll, 0) / (bytes * Math.LN2), 5);
  });
});

describe('runBeforeAfter over two scripted targets', () => {
  const tokenizer = storiesTokenizer();
  // The "adapter" moves probability to EOS, a token no text or choice contains: every other token's
  // log-probability drops by the same c = log(511 + e^4) - ln 512, so choices keep their order.
  const eosBiased = () => {
    const logits = new Float32Array(V);
    logits[STORIES_EOS] = 4;
    return logits;
  };
  const c = Math.log(V - 1 + Math.exp(4)) - Math.log(V);

  it('runs every suite per target in order, compares paired, and flags the retention loss as forgetting', async () => {
    const selected: string[] = [];
    const target = (label: string, next: NextLogits) => ({
      label,
      select: async (): Promise<EvalModel> => {
        selected.push(label);
        return { lm: new ScoringFakeLm(fakeConfig(V, 512), next), tokenizer };
      },
    });
    const suites: LoadedSuite[] = [
      {
        spec: { id: 'mc', name: 'mc', createdAt: 0, origin: { type: 'file', fileName: 'mc' }, kind: 'multiple-choice', options: { fewShot: { shots: 0, seed: 1 }, metrics: ['acc'] } },
        items: [
          { id: 'a', context: 'Q: sky?\nA:', choices: [' blue', ' red'], gold: 1, targetDelimiter: ' ' },
          { id: 'b', context: 'Q: sky?\nA:', choices: [' red', ' blue'], gold: 1, targetDelimiter: ' ' },
        ],
      },
      { spec: retentionSpec, items: TEXTS.map((text, i) => ({ id: `d${i}`, text })) },
    ];
    const done: string[] = [];
    const r = await runBeforeAfter(suites, [target('base', uniformLogits(V)), target('adapter', eosBiased)], {
      batchSize: 4,
      seed: 0,
      onSuiteDone: (t, s) => done.push(`${t}:${s.suiteId}`),
    });
    expect(selected).toEqual(['base', 'adapter']);
    expect(done).toEqual(['0:mc', '0:ret', '1:mc', '1:ret']);
    expect(r.cancelled).toBe(false);
    const acc = r.comparisons.find((x) => x.suiteId === 'mc' && x.metric === 'acc,none')!;
    expect(acc).toMatchObject({ target: 1, difference: 0, stderr: 0, significant: false, method: 'paired-items' });
    const ppl = r.comparisons.find((x) => x.suiteId === 'ret' && x.metric === 'perplexity,none')!;
    expect(ppl.method).toBe('paired-documents');
    expect(ppl.base.value).toBeCloseTo(V, 6);
    expect(ppl.difference).toBeCloseTo(V * Math.exp(c) - V, 6);
    expect(ppl.relative!.value).toBeCloseTo(Math.exp(c) - 1, 9);
    expect(ppl.stderr).toBeCloseTo(0, 6); // every token loses exactly c: no per-document spread
    expect(r.forgetting.map((f) => [f.suiteId, f.metric, f.worse])).toEqual([
      ['mc', 'acc,none', false],
      ['ret', 'perplexity,none', true],
    ]);
  });

  it('a cancel during the first target ends the evaluation with no comparisons', async () => {
    const controller = new AbortController();
    const make = (label: string) => ({ label, select: async (): Promise<EvalModel> => ({ lm: new ScoringFakeLm(fakeConfig(V, 512), uniformLogits(V)), tokenizer }) });
    const suite: LoadedSuite = { spec: retentionSpec, items: TEXTS.map((text, i) => ({ id: `d${i}`, text })) };
    const r = await runBeforeAfter([suite], [make('base'), make('adapter')], {
      batchSize: 1,
      seed: 0,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done >= 1) controller.abort();
      },
    });
    expect(r.cancelled).toBe(true);
    expect(r.targets).toHaveLength(1);
    expect(r.targets[0].suites[0].items).toHaveLength(1);
    expect(r.comparisons).toEqual([]);
  });
});
