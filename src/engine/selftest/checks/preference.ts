// The preference gradient kernel (shaders/preference_grad.wgsl) against the float64 objective: for random
// packed pairs (prompts of 0 to 3 tokens, answers of 1 to 6) and random row losses, every row's
// d loss / d row loss must equal -tokenGrads of PreferenceObjective.evaluate, for DPO's four loss types
// (reference from row losses of the step and from precomputed sums), SimPO and ORPO (its chosen NLL over
// prompt and answer), with the step's totals larger than the micro-batch's (gradient accumulation).

import { PREFERENCE_DEFAULTS, type PreferenceConfig } from '../../train/objectives/preference-config';
import { PreferenceObjective } from '../../train/objectives/preference-objective';
import { responseSum } from '../../train/train-batch';
import { recordRowScaling, type GpuReference } from '../../train/gpu/gpu-objective';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { CheckOutcome, KernelCheck } from '../types';

/** f32 sums of a few row losses, then sigmoids and divisions: a few ulps of each term, relative. */
const tolerance = { atol: 1e-9, rtol: 2e-5 };

interface Case {
  label: string;
  config: PreferenceConfig;
  reference: 'rows' | 'sums' | 'none';
}

const dpo = (lossType: PreferenceConfig['lossType'], over: Partial<PreferenceConfig> = {}): PreferenceConfig => ({ ...PREFERENCE_DEFAULTS, method: 'dpo', lossType, beta: 0.4, ...over });

const CASES: Case[] = [
  { label: 'dpo sigmoid, label smoothing 0.1, reference rows', config: dpo('sigmoid', { labelSmoothing: 0.1 }), reference: 'rows' },
  { label: 'dpo sigmoid, precomputed reference sums', config: dpo('sigmoid'), reference: 'sums' },
  { label: 'dpo robust', config: dpo('robust', { labelSmoothing: 0.2 }), reference: 'rows' },
  { label: 'dpo hinge', config: dpo('hinge', { beta: 0.05 }), reference: 'rows' },
  { label: 'dpo ipo', config: dpo('ipo'), reference: 'sums' },
  { label: 'simpo', config: { ...PREFERENCE_DEFAULTS, method: 'simpo', beta: 2, simpoGamma: 0.6, labelSmoothing: 0.05 }, reference: 'none' },
  { label: 'orpo', config: { ...PREFERENCE_DEFAULTS, method: 'orpo', orpoLambda: 0.3 }, reference: 'none' },
];

function randomPairs(rng: Rng, n: number) {
  const ids = (k: number) => Array.from({ length: k }, () => 3 + rng.int(50));
  return Array.from({ length: n }, (_, i) => ({ line: i + 1, prompt: ids(i % 4), chosen: ids(1 + rng.int(6)), rejected: ids(1 + rng.int(6)) }));
}

/** (N) f32 row losses of a batch: positive where labelled, 0 elsewhere (as the LM head's forward writes). */
function rowLosses(rng: Rng, labels: Int32Array[]): Float32Array {
  const out: number[] = [];
  for (const l of labels) for (const label of l) out.push(label >= 0 ? 0.02 + 2 * rng.next() : 0);
  return Float32Array.from(out);
}

/** Per sequence, the log-probabilities the row losses stand for (their negation, in float64). */
function tokenLogps(rowLoss: Float32Array, lengths: number[]): Float64Array[] {
  let at = 0;
  return lengths.map((T) => {
    const out = Float64Array.from(rowLoss.subarray(at, at + T), (x) => -x);
    at += T;
    return out;
  });
}

export const preferenceChecks: KernelCheck[] = [
  {
    name: 'preference.grad',
    tolerance,
    async run(ctx) {
      const results: CheckOutcome[] = [];
      const rng = new Rng(31);
      for (const c of CASES) {
        const objective = new PreferenceObjective(c.config);
        const batch = objective.batch(randomPairs(rng, 5));
        const lengths = batch.sequences.map((s) => s.inputIds.length);
        const policyRows = rowLosses(rng, batch.sequences.map((s) => s.labels));
        const refRows = rowLosses(rng, batch.sequences.map((s) => s.labels));
        const policy = tokenLogps(policyRows, lengths);
        const reference = tokenLogps(refRows, lengths);
        const own = objective.totals([batch]);
        const totals = { pairs: own.pairs + 3, chosenTokens: own.chosenTokens + 11 };
        const refSums = Float32Array.from(batch.sequences.map((s, i) => responseSum(s, reference[i]).sum));
        const cpuBatch = c.reference === 'sums' ? { ...batch, reference: Float64Array.from(refSums) } : batch;
        const want = objective.evaluate({ batch: cpuBatch, policy, reference: c.reference === 'rows' ? reference : undefined }, totals);

        const uploads = [ctx.upload(policyRows), ctx.upload(refRows), ctx.upload(refSums)];
        const gpuReference: GpuReference = c.reference === 'rows' ? { rows: uploads[1] } : c.reference === 'sums' ? { sums: uploads[2] } : null;
        const step = ctx.step();
        const scaling = recordRowScaling(step, objective.gpuGradient(batch, totals), batch, uploads[0], gpuReference);
        if (!('rowScale' in scaling)) throw new Error('the preference rule must give per-row scales');
        const read = step.read(scaling.rowScale, 0, policyRows.length * 4);
        await step.submit();
        const got = new Float32Array(await read.data());
        const expected = Float64Array.from(want.tokenGrads.flatMap((g) => Array.from(g, (x) => -x)));
        results.push(outcome(c.label, got, expected, tolerance));
        for (const b of uploads) b.destroy();
      }
      return results;
    },
  },
];
