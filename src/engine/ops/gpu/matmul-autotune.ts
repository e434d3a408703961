// The matmul autotune: on a device, time every supported variant on each shape class's products
// (matmul-classes.ts) within a total budget, and keep per class the fastest variant whose output matches
// the default rule's. Timing is wall clock around "record r passes, submit, await onSubmittedWorkDone"
// (what a step costs the caller, launch overhead included), the best of a few samples.
//
// Budget: 5 s by default on a real GPU ('full' products at SmolLM2-135M's sizes); 15 s on a software
// adapter ('small' products: the same m, k and n cut, fewer samples): SwiftShader and lavapipe run a
// 256 x 576 x 1536 product in a few hundred milliseconds and compile one pipeline in 0.2-2 s (SwiftShader)
// or several seconds (lavapipe), so compiling, not timing, is most of their tune. Measurements run round
// robin over the classes: the rule's variant (the reference and the fallback) of every class first, then
// the most likely winners (classCandidates), each compiled, checked and timed once. Then rounds of one
// more sample per candidate, every class's candidates in turn (interleaved, so a load that comes and goes
// cannot favour the variant that happened to run in a quiet moment), until maxSamples or the budget; a
// variant over 4x slower than its class's best gets no more samples. Once the budget is spent the rest are
// listed untimed, and a class whose rule was not timed keeps the rule. The measurement under way when the
// budget runs out finishes, so a slow compiler overruns it by one compile and pass.

import { isSoftwareAdapter } from '../../gpu/adapter-info';
import type { GpuContext } from '../../gpu/context';
import { GpuDeviceLostError } from '../../gpu/errors';
import { packF16 } from '../../gpu/f16';
import { Rng } from '../../util/rng';
import { matmul, matmulVariants, ruleVariant, type MatrixFormat } from './matmul';
import { MATMUL_CLASSES, productFlops, type MatmulClass, type TunedProduct, type TuneProfile } from './matmul-classes';
import { GEMV_MAX_M, MATMUL_VARIANTS, type MatmulVariantName } from './matmul-kernels';
import { contextAdapterKey, matmulKernelsVersion, type MatmulCandidate, type MatmulClassTuning, type MatmulTuning } from './matmul-tuning';

export interface AutotuneProgress {
  /** Measurements finished (or skipped) so far, of `total` (every candidate's first and later samples). */
  done: number;
  total: number;
  /** 'measure': compiled, checked and timed once; 'sample': one more timed sample. */
  phase: 'measure' | 'sample';
  classId: string;
  variant: MatmulVariantName;
}

export interface MatmulAutotuneOptions {
  /** Seconds for the whole tune (default 5 on a real GPU, 15 on a software adapter). */
  budgetS?: number;
  /** Default 'small' on software adapters, else 'full'. */
  profile?: TuneProfile;
  /** Timed samples per variant at most, the best kept (default 3 on software adapters, 5 elsewhere). */
  maxSamples?: number;
  /** The classes to tune (default all of MATMUL_CLASSES). */
  classes?: readonly MatmulClass[];
  onProgress?: (p: AutotuneProgress) => void;
}

/** A candidate must beat the rule's variant by this factor to replace it (timing noise is a few percent). */
export const RULE_MARGIN = 1.05;
/** A variant this many times slower than the class's best so far is not sampled again. */
const HOPELESS = 4;
/** A sample repeats the class's products until it lasts this long (launch costs amortised; at most 32). */
const SAMPLE_S = 0.02;

const now = (): number => performance.now() / 1000;

/**
 * Which variants to try first when the budget cannot cover them all: the rule's variant, then its widening
 * twin (whether widening B once pays depends on the adapter), then the others, workgroup-memory tiles
 * last on software adapters (barriers are slow there) and first on real GPUs.
 */
const SOFTWARE_ORDER: readonly MatmulVariantName[] = [
  'gemv_cols', 'quad16x8', 'widen+quad16x8', 'reg8x8', 'widen+reg8x8', 'reg4x4', 'gemv_splitk_sg', 'gemv_splitk', 'shared64_f16', 'shared64',
];
const GPU_ORDER: readonly MatmulVariantName[] = [
  'gemv_splitk_sg', 'gemv_splitk', 'shared64_f16', 'shared64', 'quad16x8', 'widen+quad16x8', 'reg8x8', 'widen+reg8x8', 'reg4x4', 'gemv_cols',
];

/** Whether the gemv kernels take every product of a class (else they would only run the rule's variant). */
function gemvClass(cls: MatmulClass): boolean {
  return [...cls.products.full, ...cls.products.small].every((p) => p.m <= GEMV_MAX_M && p.transB && !p.transA);
}

/** The variants worth timing for a class, in the order they are tried (with f32 B the widening variants and shared64_f16 equal their twins). */
export function classCandidates(ctx: GpuContext, cls: MatmulClass, rule: MatmulVariantName): MatmulVariantName[] {
  const supported = new Set(matmulVariants(ctx));
  const order = isSoftwareAdapter(ctx.adapter) ? SOFTWARE_ORDER : GPU_ORDER;
  const distinct = order.filter(
    (v) => supported.has(v) && (cls.f16 || (!v.startsWith('widen+') && v !== 'shared64_f16')) && (!MATMUL_VARIANTS[v].gemv || gemvClass(cls)),
  );
  const twin = rule.startsWith('widen+') ? rule.slice('widen+'.length) : `widen+${rule}`;
  const first = [rule, ...(cls.f16 && distinct.includes(twin as MatmulVariantName) ? [twin as MatmulVariantName] : [])];
  return [...first, ...distinct.filter((v) => !first.includes(v))];
}

export async function autotuneMatmul(ctx: GpuContext, options: MatmulAutotuneOptions = {}): Promise<MatmulTuning> {
  const software = isSoftwareAdapter(ctx.adapter);
  const profile = options.profile ?? (software ? 'small' : 'full');
  const budgetS = options.budgetS ?? (software ? 15 : 5);
  const maxSamples = options.maxSamples ?? (software ? 3 : 5);
  const classes = options.classes ?? MATMUL_CLASSES;
  const started = now();
  const deadline = started + budgetS;

  const plans = classes.map((cls, index) => {
    const products = cls.products[profile];
    const bFormat: MatrixFormat = cls.f16 ? 'f16' : 'f32';
    const rule = ruleVariant(ctx, products[0], bFormat);
    const candidates = classCandidates(ctx, cls, rule);
    return { cls, products, bFormat, rule, candidates, results: new Map<MatmulVariantName, MatmulCandidate>(), bestS: Infinity, index };
  });
  // Round robin over the classes by rank: every rule first, then every class's second candidate, ...; so a
  // spent budget leaves the least likely candidates of every class untimed rather than whole classes.
  const schedule = plans.flatMap((p) => p.candidates.map((variant, rank) => ({ plan: p, variant, rank })));
  schedule.sort((x, y) => x.rank - y.rank || x.plan.index - y.plan.index);

  const benches = plans.map((p) => new ClassBench(ctx, p.products, p.bFormat, 7001 + p.index));
  // Per candidate: the best seconds per pass and the passes per sample, once its first measurement ran.
  const timed = new Map<string, { bestS: number; reps: number }>();
  const key = (plan: (typeof plans)[number], variant: MatmulVariantName) => `${plan.index}:${variant}`;
  const total = schedule.length * maxSamples;
  let done = 0;
  const report = (phase: AutotuneProgress['phase'], classId: string, variant: MatmulVariantName) =>
    options.onProgress?.({ done, total, phase, classId, variant });
  try {
    // Compile, check and time every candidate once, in schedule order.
    for (const { plan, variant } of schedule) {
      const measured: Measured =
        now() >= deadline
          ? { gflops: null, note: 'not timed: budget spent' }
          : await benches[plan.index].measure(variant, variant === plan.rule);
      if (measured.seconds !== undefined) {
        plan.bestS = Math.min(plan.bestS, measured.seconds);
        timed.set(key(plan, variant), { bestS: measured.seconds, reps: Math.min(32, Math.max(1, Math.ceil(SAMPLE_S / measured.seconds))) });
      }
      plan.results.set(variant, { variant, gflops: measured.gflops, ...(measured.note ? { note: measured.note } : {}) });
      done++;
      report('measure', plan.cls.id, variant);
    }
    // Rounds of one more sample each, interleaved within every class.
    for (let round = 1; round < maxSamples; round++) {
      for (const { plan, variant } of plans.flatMap((p) => p.candidates.map((variant) => ({ plan: p, variant })))) {
        const t = timed.get(key(plan, variant));
        if (t && t.bestS <= plan.bestS * HOPELESS && now() < deadline) {
          t.bestS = Math.min(t.bestS, await benches[plan.index].sample(variant, t.reps));
          plan.bestS = Math.min(plan.bestS, t.bestS);
          plan.results.set(variant, { variant, gflops: benches[plan.index].gflops(t.bestS) });
        }
        done++;
        report('sample', plan.cls.id, variant);
      }
    }
  } finally {
    for (const b of benches) b.destroy();
  }

  const results: MatmulClassTuning[] = plans.map((p) => {
    const candidates = p.candidates.map((v) => p.results.get(v)!);
    return {
      id: p.cls.id,
      label: p.cls.label,
      products: p.products.map((product) => ({ ...product })),
      bFormat: p.bFormat,
      choice: chooseVariant(candidates, p.rule),
      rule: p.rule,
      candidates,
    };
  });
  return {
    adapterKey: contextAdapterKey(ctx),
    kernelsVersion: matmulKernelsVersion(),
    tunedAt: new Date().toISOString(),
    profile,
    budgetS,
    elapsedS: now() - started,
    classes: results,
  };
}

/** The fastest eligible candidate (a figure, no note), unless it beats the rule's variant by less than RULE_MARGIN. */
export function chooseVariant(candidates: readonly MatmulCandidate[], rule: MatmulVariantName): MatmulVariantName {
  const eligible = candidates.filter((c): c is MatmulCandidate & { gflops: number } => c.gflops !== null && !c.note);
  const ruleRate = eligible.find((c) => c.variant === rule)?.gflops;
  let best: (MatmulCandidate & { gflops: number }) | undefined;
  for (const c of eligible) if (!best || c.gflops > best.gflops) best = c;
  if (!best || ruleRate === undefined) return best?.variant ?? rule;
  return best.gflops >= ruleRate * RULE_MARGIN ? best.variant : rule;
}

interface Operands {
  product: TunedProduct;
  a: GPUBuffer;
  b: GPUBuffer;
  out: GPUBuffer;
  /** The rule's output, once it ran. */
  reference?: Float32Array;
}

interface Measured {
  gflops: number | null;
  seconds?: number;
  note?: string;
}

/** One class's operands on the device, timed per variant. */
class ClassBench {
  private readonly operands: Operands[];
  private readonly flops: number;

  constructor(
    private readonly ctx: GpuContext,
    products: readonly TunedProduct[],
    private readonly bFormat: MatrixFormat,
    seed: number,
  ) {
    const rng = new Rng(seed);
    this.flops = productFlops(products);
    this.operands = products.map((product) => {
      const a = rng.f32(product.m * product.k);
      const b = rng.f32(product.k * product.n);
      return {
        product,
        a: ctx.upload(a, 'autotune.A'),
        b: ctx.upload(bFormat === 'f16' ? packF16(b) : b, 'autotune.B'),
        out: ctx.createBuffer(product.m * product.n * 4, 'autotune.out'),
      };
    });
  }

  /** Seconds per pass over the products, `reps` passes in one submit; `clear` zeroes the outputs first. */
  private async pass(variant: MatmulVariantName, reps: number, clear = false): Promise<number> {
    const t0 = now();
    const step = this.ctx.step();
    // A variant that wrote nothing must not pass the check on the previous variant's outputs.
    if (clear) for (const o of this.operands) step.clear(o.out);
    for (let r = 0; r < reps; r++) {
      for (const o of this.operands) matmul(step, o.out, o.a, o.b, o.product, { bFormat: this.bFormat, variant });
    }
    await step.submit();
    await this.ctx.device.queue.onSubmittedWorkDone();
    return (now() - t0) / reps;
  }

  /** Compares this variant's outputs with the rule's (or keeps them, for the rule): why they differ, or null. */
  private async check(isRule: boolean): Promise<string | null> {
    for (const o of this.operands) {
      const got = await this.ctx.readF32(o.out, o.product.m * o.product.n);
      if (isRule) {
        o.reference = got;
        continue;
      }
      if (!o.reference) return "not checked: the rule's variant failed";
      const why = mismatch(got, o.reference, o.product.k);
      if (why) return `wrong result (${o.product.m}x${o.product.k}x${o.product.n}: ${why})`;
    }
    return null;
  }

  /** GFLOP/s of the class's products at `seconds` per pass. */
  gflops(seconds: number): number {
    return this.flops / seconds / 1e9;
  }

  /** Compiles (the first pass), checks the outputs against the rule's, and times one pass. */
  async measure(variant: MatmulVariantName, isRule: boolean): Promise<Measured> {
    try {
      await this.pass(variant, 1, true);
      const wrong = await this.check(isRule);
      if (wrong) return { gflops: null, note: wrong };
      const seconds = await this.pass(variant, 1);
      return { gflops: this.gflops(seconds), seconds };
    } catch (err) {
      if (err instanceof GpuDeviceLostError) throw err;
      return { gflops: null, note: `error: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /** One more timed sample of a variant that measured without error: seconds per pass. */
  sample(variant: MatmulVariantName, reps: number): Promise<number> {
    return this.pass(variant, reps);
  }

  destroy(): void {
    for (const o of this.operands) {
      o.a.destroy();
      o.b.destroy();
      o.out.destroy();
    }
  }
}

/**
 * Two variants' f32 sums of the same k products of inputs in [-1, 1) differ by rounding only: within twice
 * the kernels' tolerance against float64 (atol 1e-6 + 8e-8 k, rtol 1e-5; selftest/checks/matmul.ts).
 */
export function mismatch(got: Float32Array, want: Float32Array, k: number): string | null {
  const atol = 2 * (1e-6 + 8e-8 * k);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= atol + 2e-5 * Math.abs(want[i]))) return `element ${i}: ${got[i]} against ${want[i]}`;
  }
  return null;
}
