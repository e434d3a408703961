// Dispatcher for counter-based dropout (shaders/dropout.wgsl; mask reference in ../cpu/dropout.ts).

import source from '../../../../shaders/dropout.wgsl?raw';
import { ceilDiv, defineKernel, grid1d, packParams } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';
import { dropoutScale, dropoutThreshold } from '../cpu/dropout';

const WG = 256;
const DROPOUT = defineKernel('dropout.hash', source, 'dropout', ['read', 'write', 'uniform']);

export interface DropoutOptions {
  /** Drop probability in [0, 1). */
  p: number;
  /** Stream key from dropoutKey (u32). */
  key: number;
  /** out += dropout(x) instead of out = dropout(x) (default false). */
  accumulate?: boolean;
}

/**
 * out (=, or += with accumulate) x * mask over n f32 elements, element i of x being element i of the
 * stream. The same (key, p) always gives the same mask: the backward applies it to the gradient.
 */
export function dropout(step: StepEncoder, out: Binding, x: Binding, n: number, options: DropoutOptions): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`dropout: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(options.key) || options.key < 0 || options.key > 0xffffffff) {
    throw new RangeError(`dropout: key must be a u32, got ${options.key}`);
  }
  const params = packParams([
    ['u32', n],
    ['u32', options.key],
    ['u32', dropoutThreshold(options.p)],
    ['f32', dropoutScale(options.p)],
  ]);
  step.dispatch(DROPOUT, [x, out], grid1d(ceilDiv(n, WG)), params, { WG, ACCUMULATE: options.accumulate ? 1 : 0 });
}
