// The GRPO gradient kernel's self-check on WebGPU (it lives in the self-test registry, so the studio's Device
// page runs it too): each loss type, with and without old log-probabilities and the KL term, against the
// float64 objective. (The kernel's direct tests, e.g. ratio exactly 1 without old log-probs: grpo-grad.test.ts.)

import { describe, it } from 'vitest';
import { grpoChecks } from '../../src/engine/selftest/checks/grpo';
import { runCheck } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';

describe('GRPO gradient kernel self-check on WebGPU', () => {
  for (const check of grpoChecks) {
    it(check.name, async () => runCheck(await testGpu(), check));
  }
});
