import { describe, expect, it } from 'vitest';
import { allKernelChecks } from '../../src/engine/selftest/registry';

describe('kernel self-check registry', () => {
  it('covers every kernel family the forward, backward and optimizer passes need, once each', () => {
    const names = allKernelChecks.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const family of ['matmul', 'embedding', 'rmsnorm', 'layernorm', 'rope', 'attention', 'softmax', 'silu', 'swiglu', 'gelu', 'cross_entropy', 'lm_head_loss', 'adamw', 'grad_norm', 'reduce', 'residual', 'preference', 'grpo']) {
      expect(names.some((n) => n.startsWith(family)), `a check for ${family}`).toBe(true);
    }
  });
});
