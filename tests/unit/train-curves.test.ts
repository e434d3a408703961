// The Train page's chart data: growing columns, the debiased EMA, curves that hold each step once when a
// resumed run trains steps again, and two runs aligned on their union of steps.

import { describe, expect, it } from 'vitest';
import { CurveTables } from '../../src/state/train-curve-tables';
import { alignSeries, compareCurves } from '../../src/state/train-compare';
import { Ema, smoothSeries } from '../../src/state/train-smoothing';
import type { MetricRow } from '../../src/storage/records';
import { GrowableTable } from '../../src/ui/charts/growable-table';

const step = (s: number, loss: number): MetricRow => ({
  runId: 'r',
  kind: 'step',
  step: s,
  loss,
  lr: 0.01 * s,
  grad_norm: 2 * s,
  tokens: 100,
  trained_tokens: 50,
  tokens_per_s: 1000 + s,
  epoch: s / 10,
});
const evalRow = (s: number, loss: number, text = `at ${s}`): MetricRow => ({
  runId: 'r',
  kind: 'eval',
  step: s,
  eval_loss: loss,
  eval_perplexity: Math.exp(loss),
  eval_tokens: 10,
  samples: [{ prompt: 'p', text }],
});

describe('GrowableTable', () => {
  it('keeps every row across growth and hands out views of the filled part', () => {
    const t = new GrowableTable(2, 1);
    for (let i = 0; i < 100; i++) t.push([i, i * i]);
    expect(t.length).toBe(100);
    const [x, y] = t.view();
    expect(Array.from(x).slice(95)).toEqual([95, 96, 97, 98, 99]);
    expect(y[37]).toBe(37 * 37);
    expect(x.length).toBe(100);
    expect(() => t.push([1])).toThrow(/2 values/);
  });

  it('finds rows below an x and truncates to them', () => {
    const t = new GrowableTable(1);
    for (const x of [1, 2, 3, 5, 8]) t.push([x]);
    expect(t.countBelow(4)).toBe(3);
    expect(t.countBelow(5)).toBe(3);
    expect(t.countBelow(100)).toBe(5);
    expect(t.countBelow(0)).toBe(0);
    t.truncate(3);
    expect(Array.from(t.column(0))).toEqual([1, 2, 3]);
  });
});

describe('EMA smoothing', () => {
  it('debiases the first values (a constant curve stays constant) and matches the recurrence', () => {
    expect(Array.from(smoothSeries([4, 4, 4], 0.9))).toEqual([4, 4, 4].map((v) => expect.closeTo(v, 12)));
    const xs = [5, 3, 4, 1];
    const f = 0.6;
    let ema = 0;
    const expected = xs.map((x, i) => {
      ema = f * ema + (1 - f) * x;
      return ema / (1 - f ** (i + 1));
    });
    const got = Array.from(smoothSeries(xs, f));
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
    // The second point leans towards the first: strictly between the raw values.
    expect(got[1]).toBeGreaterThan(3);
    expect(got[1]).toBeLessThan(5);
  });

  it('is the raw curve at factor 0 and refuses factors outside [0, 1)', () => {
    expect(Array.from(smoothSeries([3, 1, 2], 0))).toEqual([3, 1, 2]);
    expect(() => new Ema(1)).toThrow(/\[0, 1\)/);
    expect(() => new Ema(-0.1)).toThrow();
  });
});

describe('CurveTables', () => {
  it('builds the loss, lr, grad-norm and throughput columns per step and eval loss per evaluation', () => {
    const t = new CurveTables(0.5);
    [evalRow(0, 6), step(1, 5), step(2, 4), step(3, 3), evalRow(3, 3.5)].forEach((r) => t.add(r));
    const c = t.stepCharts();
    expect(Array.from(c.loss[0])).toEqual([1, 2, 3]);
    expect(Array.from(c.loss[1])).toEqual([5, 4, 3]);
    expect(Array.from(c.loss[2])).toEqual(Array.from(smoothSeries([5, 4, 3], 0.5)));
    expect(Array.from(c.lr[1])).toEqual([0.01, 0.02, 0.03].map((v) => expect.closeTo(v, 12)));
    expect(Array.from(c.gradNorm[1])).toEqual([2, 4, 6]);
    expect(Array.from(c.tokensPerS[1])).toEqual([1001, 1002, 1003]);
    expect(t.evalChart().map((col) => Array.from(col))).toEqual([[0, 3], [6, 3.5]]);
    expect(t.samples().map((s) => s.step)).toEqual([3, 0]);
    expect(t.lastStep).toBe(3);
  });

  it('replaces the steps after a resumed checkpoint: no gap, no step twice, smoothing redone', () => {
    const t = new CurveTables(0.5);
    for (let s = 1; s <= 5; s++) t.add(step(s, 10 - s));
    t.add(evalRow(4, 7, 'old'));
    // Resumed from the checkpoint at step 3: steps 4.. come again with other values.
    t.add(step(4, 1));
    t.add(evalRow(4, 2, 'new'));
    t.add(step(5, 0.5));
    const c = t.stepCharts();
    expect(Array.from(c.loss[0])).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(c.loss[1])).toEqual([9, 8, 7, 1, 0.5]);
    expect(Array.from(c.loss[2])).toEqual(Array.from(smoothSeries([9, 8, 7, 1, 0.5], 0.5)));
    expect(t.evalChart().map((col) => Array.from(col))).toEqual([[4], [2]]);
    expect(t.samples().map((s) => s.samples[0].text)).toEqual(['new']);
  });

  it('recomputes the smoothed column for a new factor', () => {
    const t = new CurveTables(0.9);
    [4, 2, 6].forEach((l, i) => t.add(step(i + 1, l)));
    t.setSmoothing(0);
    expect(Array.from(t.stepCharts().loss[2])).toEqual([4, 2, 6]);
    t.add(step(4, 1));
    expect(t.stepCharts().loss[2][3]).toBe(1);
  });
});

describe('reward charts of the preference methods', () => {
  const rewards = (margin: number, accuracy: number) => ({ 'rewards/margins': margin, 'rewards/accuracies': accuracy, 'rewards/chosen': margin / 2 });
  const dpoStep = (s: number, margin: number, accuracy: number): MetricRow => ({ ...step(s, 0.69), objective: rewards(margin, accuracy) });
  const dpoEval = (s: number, margin: number, accuracy: number): MetricRow => ({
    runId: 'r',
    kind: 'eval',
    step: s,
    eval_loss: 0.6,
    eval_tokens: 10,
    objective: { 'eval_rewards/margins': margin, 'eval_rewards/accuracies': accuracy },
    samples: [],
  });

  it('puts step rewards and eval rewards on one step axis, null where a series has no point', () => {
    const t = new CurveTables(0.5);
    [dpoEval(0, 0, 0), dpoStep(1, 0, 0), dpoStep(2, 0.1, 0.5), dpoEval(2, 0.2, 0.75), dpoStep(3, 0.3, 1)].forEach((r) => t.add(r));
    const { margins, accuracies } = t.rewardCharts();
    expect(margins).toEqual([
      [0, 1, 2, 3],
      [null, 0, 0.1, 0.3],
      [0, null, 0.2, null],
    ]);
    expect(accuracies).toEqual([
      [0, 1, 2, 3],
      [null, 0, 0.5, 1],
      [0, null, 0.75, null],
    ]);
  });

  it('replaces the steps after a resumed checkpoint, and stays empty for SFT rows', () => {
    const t = new CurveTables(0.5);
    for (let s = 1; s <= 4; s++) t.add(dpoStep(s, s, 0.5));
    t.add(dpoEval(4, 9, 1));
    // Resumed from step 2: steps 3.. come again.
    t.add(dpoStep(3, -3, 0));
    t.add(dpoStep(4, -4, 0));
    t.add(dpoEval(4, -9, 0));
    expect(t.rewardCharts().margins).toEqual([
      [1, 2, 3, 4],
      [1, 2, -3, -4],
      [null, null, null, -9],
    ]);
    const sft = new CurveTables(0.5);
    [evalRow(0, 6), step(1, 5), { ...step(2, 4), objective: {} }].forEach((r) => sft.add(r));
    expect(sft.rewardCharts()).toEqual({ margins: [[], [], []], accuracies: [[], [], []] });
  });
});

describe('comparing two runs', () => {
  it('aligns series on the union of their steps with null where a run has no point', () => {
    const data = alignSeries([
      { x: [1, 2, 3], y: [10, 20, 30] },
      { x: [2, 4], y: [5, 6] },
    ]);
    expect(data).toEqual([
      [1, 2, 3, 4],
      [10, 20, 30, null],
      [null, 5, null, 6],
    ]);
  });

  it('overlays smoothed training loss and eval loss of both runs, labelled by run', () => {
    const a = [step(1, 4), step(2, 2), evalRow(2, 3)];
    const b = [step(1, 6), step(2, 5), step(3, 4), evalRow(3, 4.5)];
    const { data, labels } = compareCurves(
      [
        { name: 'A', rows: a },
        { name: 'B', rows: b },
      ],
      0,
    );
    expect(labels).toEqual(['A: loss (smoothed)', 'B: loss (smoothed)', 'A: eval loss', 'B: eval loss']);
    expect(data).toEqual([
      [1, 2, 3],
      [4, 2, null],
      [6, 5, 4],
      [null, 3, null],
      [null, null, 4.5],
    ]);
  });
});
