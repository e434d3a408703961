// The preference gradient kernel on WebGPU against the float64 objective (the check itself lives in the
// self-test registry, so the studio's Device page runs it too).

import { describe, it } from 'vitest';
import { preferenceChecks } from '../../src/engine/selftest/checks/preference';
import { runCheck } from '../helpers/assert';
import { testGpu } from '../helpers/gpu';

describe('preference gradient kernel on WebGPU', () => {
  for (const check of preferenceChecks) {
    it(check.name, async () => runCheck(await testGpu(), check));
  }
});
