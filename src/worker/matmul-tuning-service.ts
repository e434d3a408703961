// The worker's matmul tuning: when the device opens, the adapter's stored tuning (IndexedDB) is used if it
// fits this adapter and these kernels; before the first training run with none, a GPU's kernels are measured
// once (about 5 s) and stored. A software adapter (a CPU emulation) is only measured on request: there
// pipeline compiles take most of a 15 s budget and its timings move with the machine's load, so an automatic
// tune would cost every first run 15 s for a choice the rule makes about as well. Generation never waits.
// The Device page shows the tuning and measures again on request, never while a run trains.

import { isSoftwareAdapter } from '../engine/gpu/adapter-info';
import type { GpuContext } from '../engine/gpu/context';
import { checkMatmulTuning, ensureMatmulTuning, type MatmulTuningStore } from '../engine/ops/gpu/matmul-tuning-cache';
import type { StudioDb } from '../storage/db';
import { getMatmulTuning, putMatmulTuning } from '../storage/matmul-tunings-store';
import type { MatmulTuneListener, MatmulTuneProgress, MatmulTuningApi, MatmulTuningStatus } from './protocol-matmul-tuning';
import { releaseCallback } from './release-callback';

export interface MatmulTuningDeps {
  gpuContext(): Promise<GpuContext>;
  db(): Promise<StudioDb>;
  /** Why the loaded model is reserved (a run trains), or null. */
  busy(): string | null;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class MatmulTuningService {
  private ctx: GpuContext | null = null;
  private source: 'stored' | 'measured' = 'stored';
  private why = 'the GPU device is not open yet';
  /** The measurement under way, and its latest progress. */
  private running: { done: Promise<void>; progress: MatmulTuneProgress | null } | null = null;
  private ensured: Promise<void> | undefined;

  constructor(private readonly deps: MatmulTuningDeps) {}

  private store(): MatmulTuningStore {
    const db = () => this.deps.db();
    return {
      get: async (key) => {
        const stored = await getMatmulTuning(await db(), key);
        return stored && checkMatmulTuning(stored, 'the stored matmul tuning');
      },
      put: async (record) => putMatmulTuning(await db(), record),
    };
  }

  /** Uses the stored tuning of the device that just opened, if one fits; never measures. */
  async open(ctx: GpuContext): Promise<void> {
    this.ctx = ctx;
    try {
      const got = await ensureMatmulTuning(ctx, this.store(), { cachedOnly: true });
      if (got.source === 'none') {
        const when = isSoftwareAdapter(ctx.adapter) ? 'measured on request (Tune now) on a software adapter' : 'measured before the first training run';
        this.why = `${got.why}: ${when}`;
      }
      else this.source = 'stored';
    } catch (err) {
      this.why = `the stored tuning could not be read (${message(err)})`;
    }
  }

  /** Before training: measures once per worker when no tuning is in use; a failure leaves the rule. */
  ensure(): Promise<void> {
    this.ensured ??= (async () => {
      const ctx = await this.deps.gpuContext();
      if (this.running) await this.running.done.catch(() => undefined);
      if (ctx.matmulTuning || isSoftwareAdapter(ctx.adapter)) return;
      await this.measure(ctx).catch(() => undefined);
    })();
    return this.ensured;
  }

  status(): MatmulTuningStatus {
    const active = this.ctx?.matmulTuning;
    if (this.running) return { state: 'measuring', progress: this.running.progress, previous: active?.record ?? null };
    if (active) return { state: 'tuned', source: this.source, record: active.record };
    return { state: 'none', why: this.why };
  }

  async retune(onProgress?: MatmulTuneListener): Promise<MatmulTuningStatus> {
    const busy = this.deps.busy();
    if (busy) throw new Error(busy);
    if (this.running) throw new Error('The matmul kernels are being measured already: wait until it has finished.');
    await this.measure(await this.deps.gpuContext(), onProgress);
    return this.status();
  }

  private measure(ctx: GpuContext, onProgress?: MatmulTuneListener): Promise<void> {
    this.ctx = ctx;
    const running: NonNullable<typeof this.running> = { done: Promise.resolve(), progress: null };
    running.done = (async () => {
      try {
        await ensureMatmulTuning(ctx, this.store(), {
          retune: true,
          tune: {
            onProgress: (p) => {
              running.progress = p;
              void onProgress?.(p);
            },
          },
        });
        this.source = 'measured';
      } catch (err) {
        this.why = `measuring failed (${message(err)}); the built-in choice runs`;
        throw err;
      } finally {
        this.running = null;
      }
    })();
    this.running = running;
    return running.done;
  }
}

/** The Device page's calls. */
export function createMatmulTuningApi(service: MatmulTuningService): MatmulTuningApi {
  return {
    async matmulTuning() {
      return service.status();
    },
    async retuneMatmul(onProgress) {
      try {
        return await service.retune(onProgress);
      } finally {
        releaseCallback(onProgress);
      }
    },
  };
}
