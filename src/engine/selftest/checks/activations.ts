// Self-checks of the SiLU, GELU and SwiGLU kernels against the float64 CPU references (which use the tanh
// definition of GELU, not the kernels' sigmoid form). Cases: one element, sizes that are not workgroup
// multiples, extreme inputs (|x| up to 1e30) that must stay finite, both SwiGLU layouts, accumulation.

import type { GpuContext } from '../../gpu/context';
import type { StepEncoder } from '../../gpu/step-encoder';
import {
  geluBackward as cpuGeluBackward,
  geluForward as cpuGeluForward,
  siluBackward as cpuSiluBackward,
  siluForward as cpuSiluForward,
  swigluBackward as cpuSwigluBackward,
  swigluForward as cpuSwigluForward,
} from '../../ops/cpu/activations';
import { gelu, geluBackward, silu, siluBackward, swiglu, swigluBackward, type BackwardOptions } from '../../ops/gpu/activations';
import { Rng } from '../../util/rng';
import { outcome } from '../expect';
import type { CheckOutcome, KernelCheck } from '../types';

// One exp, one division and a few products in f32 against float64. WGSL allows exp an error of 3 + 2|x|
// ulp, about 30 ulp (4e-6 relative) where results are still above atol (|exp argument| up to ~12); outside
// that range the outputs are either saturated (no longer depend on exp) or below atol (gelu(-10) ~ 1e-37,
// where f32 and float64 differ in the tail). SwiftShader is far better than the bound: see the max errors
// in the reports. Backward: accumulating adds one rounding of an O(1) sum (half an ulp of 1 = 6e-8).
const forwardTol = { atol: 1e-7, rtol: 4e-6 };
const backwardTol = { atol: 2e-7, rtol: 4e-6 };

/** Inputs that must not produce NaN or Inf: zero, the saturated ranges, and far beyond. */
const EXTREMES = [0, -0, 1e-3, -1e-3, 1, -1, 5, -5, 10, -10, 15, -15, 20, -20, 50, -50, 100, -100, 1e4, -1e4, 1e30, -1e30];

const SIZES = [1, 1000, 4099];

/** SwiGLU's gate extremes stop at 100: beyond, h = g * up is just huge and its errors say nothing. */
const SWIGLU_GATE_LIMIT = 100;

/** Seeded normals (std 4) with the extremes up to `limit` at the front. */
function inputs(rng: Rng, n: number, limit = Infinity): Float32Array {
  const x = rng.normals(n, 4);
  const extremes = EXTREMES.filter((v) => Math.abs(v) <= limit);
  x.set(extremes.slice(0, Math.min(n, extremes.length)));
  return x;
}

/** Uploads `inputs`, creates outputs (f32 counts, optionally with initial data), records, submits, reads. */
async function runGpu(
  ctx: GpuContext,
  inputs: Float32Array[],
  outputs: (number | Float32Array)[],
  record: (step: StepEncoder, ins: GPUBuffer[], outs: GPUBuffer[]) => void,
): Promise<Float32Array[]> {
  const ins = inputs.map((a) => ctx.upload(a));
  const outs = outputs.map((o) => (typeof o === 'number' ? ctx.createBuffer(o * 4) : ctx.upload(o)));
  try {
    const step = ctx.step();
    record(step, ins, outs);
    await step.submit();
    return await Promise.all(outs.map((b, i) => ctx.readF32(b, typeof outputs[i] === 'number' ? (outputs[i] as number) : (outputs[i] as Float32Array).length)));
  } finally {
    for (const b of [...ins, ...outs]) b.destroy();
  }
}

const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

type UnaryGpu = (step: StepEncoder, out: GPUBuffer, x: GPUBuffer, n: number) => void;
type UnaryGpuBackward = (step: StepEncoder, dx: GPUBuffer, x: GPUBuffer, dout: GPUBuffer, n: number, o: BackwardOptions) => void;
type UnaryCpu = (out: Float64Array, x: Float64Array) => void;
type UnaryCpuBackward = (dx: Float64Array, x: Float64Array, dout: Float64Array) => void;

function unaryForwardCheck(name: string, seed: number, gpu: UnaryGpu, cpu: UnaryCpu): KernelCheck {
  return {
    name: `${name}.forward`,
    tolerance: forwardTol,
    async run(ctx) {
      const rng = new Rng(seed);
      const results: CheckOutcome[] = [];
      for (const n of SIZES) {
        const x = inputs(rng, n);
        const [got] = await runGpu(ctx, [x], [n], (step, [xb], [ob]) => gpu(step, ob, xb, n));
        const want = new Float64Array(n);
        cpu(want, f64(x));
        results.push(outcome(`n=${n}`, got, want, forwardTol));
      }
      return results;
    },
  };
}

function unaryBackwardCheck(name: string, seed: number, gpu: UnaryGpuBackward, cpu: UnaryCpuBackward): KernelCheck {
  return {
    name: `${name}.backward`,
    tolerance: backwardTol,
    async run(ctx) {
      const rng = new Rng(seed);
      const results: CheckOutcome[] = [];
      for (const n of SIZES) {
        for (const accumulate of [false, true]) {
          const x = inputs(rng, n);
          const dout = rng.f32(n);
          const dx0 = rng.f32(n); // garbage the kernel must overwrite, or the sum it must add to
          const [got] = await runGpu(ctx, [x, dout], [dx0], (step, [xb, db], [dxb]) => gpu(step, dxb, xb, db, n, { accumulate }));
          const want = accumulate ? f64(dx0) : new Float64Array(n);
          cpu(want, f64(x), f64(dout));
          results.push(outcome(`n=${n}${accumulate ? ' +=' : ''}`, got, want, backwardTol));
        }
      }
      return results;
    },
  };
}

interface SwigluCase {
  rows: number;
  features: number;
  fusedInput: boolean;
  fusedGrads: boolean;
  accumulate: boolean;
}

const SWIGLU_CASES: SwigluCase[] = [
  { rows: 1, features: 1, fusedInput: false, fusedGrads: false, accumulate: false },
  { rows: 7, features: 33, fusedInput: false, fusedGrads: false, accumulate: true },
  { rows: 5, features: 301, fusedInput: true, fusedGrads: true, accumulate: false },
  { rows: 3, features: 130, fusedInput: true, fusedGrads: false, accumulate: true },
  { rows: 4, features: 65, fusedInput: false, fusedGrads: true, accumulate: true },
];

const swigluLabel = (c: SwigluCase) =>
  `N=${c.rows} F=${c.features} in=${c.fusedInput ? 'fused' : 'separate'} grads=${c.fusedGrads ? 'fused' : 'separate'}${c.accumulate ? ' +=' : ''}`;

/** (N, 2F) rows [a | b] from two (N, F) arrays. */
function interleaveHalves(a: Float32Array, b: Float32Array, rows: number, features: number): Float32Array {
  const out = new Float32Array(2 * rows * features);
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * features, (r + 1) * features), 2 * r * features);
    out.set(b.subarray(r * features, (r + 1) * features), (2 * r + 1) * features);
  }
  return out;
}

/** Inverse of interleaveHalves. */
function splitHalves(ab: ArrayLike<number>, rows: number, features: number): [Float64Array, Float64Array] {
  const a = new Float64Array(rows * features);
  const b = new Float64Array(rows * features);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < features; f++) {
      a[r * features + f] = ab[2 * r * features + f];
      b[r * features + f] = ab[(2 * r + 1) * features + f];
    }
  }
  return [a, b];
}

function swigluData(rng: Rng, c: SwigluCase) {
  const n = c.rows * c.features;
  const gate = inputs(rng, n, SWIGLU_GATE_LIMIT);
  const up = rng.normals(n, 2);
  return { n, gate, up, gpuInputs: c.fusedInput ? [interleaveHalves(gate, up, c.rows, c.features)] : [gate, up] };
}

const swigluForwardCheck: KernelCheck = {
  name: 'swiglu.forward',
  tolerance: forwardTol,
  async run(ctx) {
    const rng = new Rng(31);
    const results: CheckOutcome[] = [];
    for (const c of SWIGLU_CASES) {
      const { n, gate, up, gpuInputs } = swigluData(rng, c);
      const dims = { rows: c.rows, features: c.features };
      const [got] = await runGpu(ctx, gpuInputs, [n], (step, ins, [hb]) =>
        swiglu(step, hb, c.fusedInput ? { gateUp: ins[0] } : { gate: ins[0], up: ins[1] }, dims),
      );
      const want = new Float64Array(n);
      cpuSwigluForward(want, f64(gate), f64(up));
      results.push(outcome(swigluLabel(c), got, want, forwardTol));
    }
    return results;
  },
};

const swigluBackwardCheck: KernelCheck = {
  name: 'swiglu.backward',
  tolerance: backwardTol,
  async run(ctx) {
    const rng = new Rng(37);
    const results: CheckOutcome[] = [];
    for (const c of SWIGLU_CASES) {
      const { n, gate, up, gpuInputs } = swigluData(rng, c);
      const dims = { rows: c.rows, features: c.features };
      const dh = rng.f32(n);
      const dgate0 = rng.f32(n);
      const dup0 = rng.f32(n);
      const gradInit = c.fusedGrads ? [interleaveHalves(dgate0, dup0, c.rows, c.features)] : [dgate0, dup0];
      const got = await runGpu(ctx, [dh, ...gpuInputs], gradInit, (step, [dhb, ...ins], outs) => {
        const input = c.fusedInput ? { gateUp: ins[0] } : { gate: ins[0], up: ins[1] };
        const grads = c.fusedGrads ? { dgateUp: outs[0] } : { dgate: outs[0], dup: outs[1] };
        swigluBackward(step, grads, input, dhb, dims, { accumulate: c.accumulate });
      });
      const [gotGate, gotUp] = c.fusedGrads ? splitHalves(got[0], c.rows, c.features) : got;
      const wantGate = c.accumulate ? f64(dgate0) : new Float64Array(n);
      const wantUp = c.accumulate ? f64(dup0) : new Float64Array(n);
      cpuSwigluBackward(wantGate, wantUp, f64(gate), f64(up), f64(dh));
      results.push(outcome(`${swigluLabel(c)} dgate`, gotGate, wantGate, backwardTol));
      results.push(outcome(`${swigluLabel(c)} dup`, gotUp, wantUp, backwardTol));
    }
    return results;
  },
};

export const activationsChecks: KernelCheck[] = [
  unaryForwardCheck('silu', 21, silu, cpuSiluForward),
  unaryBackwardCheck('silu', 22, siluBackward, cpuSiluBackward),
  unaryForwardCheck('gelu', 23, gelu, cpuGeluForward),
  unaryBackwardCheck('gelu', 24, geluBackward, cpuGeluBackward),
  swigluForwardCheck,
  swigluBackwardCheck,
];
