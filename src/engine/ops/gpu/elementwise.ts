import source from '../../../../shaders/elementwise.wgsl?raw';
import { ceilDiv, defineKernel, grid1d, packParams } from '../../gpu/kernel';
import type { Binding, StepEncoder } from '../../gpu/step-encoder';

const WG = 256;
const AXPBY = defineKernel('elementwise.axpby', source, 'axpby', ['read', 'read', 'write', 'uniform']);

/** out = alpha * x + beta * y over n f32 elements. Residual add: (1, 1); scale: (alpha, 0). */
export function axpby(step: StepEncoder, out: Binding, x: Binding, y: Binding, n: number, alpha: number, beta: number): void {
  const params = packParams([
    ['u32', n],
    ['f32', alpha],
    ['f32', beta],
  ]);
  step.dispatch(AXPBY, [x, y, out], grid1d(ceilDiv(n, WG)), params, { WG });
}

export function residualAdd(step: StepEncoder, out: Binding, x: Binding, y: Binding, n: number): void {
  axpby(step, out, x, y, n, 1, 1);
}

export function scale(step: StepEncoder, out: Binding, x: Binding, n: number, alpha: number): void {
  axpby(step, out, x, x, n, alpha, 0);
}
