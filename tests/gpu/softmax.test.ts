import { describe, it } from 'vitest';
import {
  runSoftmaxBackwardCase,
  runSoftmaxForwardCase,
  softmaxChecks,
  type SoftmaxCase,
} from '../../src/engine/selftest/checks/softmax';
import { expectOutcomes, runCheck } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';

const edgeCases: SoftmaxCase[] = [
  // One row; V = 1 (always exactly 1.0); V smaller than the workgroup.
  { rows: 1, cols: 1, scale: 1, spread: 5, center: 0 },
  { rows: 1, cols: 3, scale: 1, spread: 5, center: -1e4 },
  // Long rows with the wide workgroup (several columns per invocation, not a multiple of 256).
  { rows: 3, cols: 5003, scale: 1, spread: 10, center: 0 },
  // Sharp distributions: most outputs underflow towards 0 next to a dominant one.
  { rows: 4, cols: 129, scale: 3, spread: 30, center: 1e4 },
  // A negative scale flips which logit dominates.
  { rows: 2, cols: 50, scale: -0.7, spread: 10, center: 1e4 },
  // Every workgroup size the dispatcher may be told to use, on the same odd shape.
  { rows: 9, cols: 77, scale: 1, spread: 4, center: 0, workgroupSize: 1 },
  { rows: 9, cols: 77, scale: 1, spread: 4, center: 0, workgroupSize: 4 },
  { rows: 9, cols: 77, scale: 1, spread: 4, center: 0, workgroupSize: 128 },
  // More rows than one grid dimension holds (65535): the row index folds into (x, y).
  { rows: 65600, cols: 2, scale: 1, spread: 2, center: 0, workgroupSize: 1 },
];

describe('softmax kernels on WebGPU', () => {
  for (const check of softmaxChecks) {
    it(check.name, async () => runCheck(await testGpu(), check));
  }

  it('handles edge shapes, huge logits and every workgroup size (forward)', async () => {
    const ctx = await testGpu();
    const results = [];
    for (const [i, c] of edgeCases.entries()) results.push(await runSoftmaxForwardCase(ctx, c, 300 + i));
    expectOutcomes(results);
  });

  it('handles edge shapes and every workgroup size (backward)', async () => {
    const ctx = await testGpu();
    const results = [];
    for (const [i, c] of edgeCases.entries()) results.push(await runSoftmaxBackwardCase(ctx, c, 400 + i));
    expectOutcomes(results);
  });
});
