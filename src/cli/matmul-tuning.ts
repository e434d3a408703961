// The command line's matmul tuning: every command that takes the GPU runs with the adapter's tuning from
// the cache folder's matmul-tuning.json, measured on first use on a real GPU (about 5 s) and stored for the
// next command; a software adapter is measured only by `tunelab tune`. TUNELAB_MATMUL_TUNING=cached uses a stored tuning
// but never measures; =off keeps the built-in rule. `tunelab tune` measures again; `tunelab info` shows it.

import { isSoftwareAdapter } from '../engine/gpu/adapter-info';
import type { GpuContext } from '../engine/gpu/context';
import { ensureMatmulTuning } from '../engine/ops/gpu/matmul-tuning-cache';
import type { MatmulTuning } from '../engine/ops/gpu/matmul-tuning';
import { MatmulTuningFile } from '../node/matmul-tuning-file';
import { UsageError } from './args';

export type TuningMode = 'auto' | 'cached' | 'off';

export function tuningMode(env: NodeJS.ProcessEnv = process.env): TuningMode {
  const value = env.TUNELAB_MATMUL_TUNING ?? 'auto';
  if (value !== 'auto' && value !== 'cached' && value !== 'off') {
    throw new UsageError(`TUNELAB_MATMUL_TUNING must be auto, cached or off, got "${value}"`);
  }
  return value;
}

/** "reg4x4 for m < 16, B f16; ..." : what each class runs, for one progress line. */
export function tuningSummary(record: MatmulTuning): string {
  return record.classes.map((c) => `${c.choice} for ${c.label}`).join('; ');
}

/**
 * Gives `ctx` its matmul tuning (cached, or measured now and stored). A tuning problem never stops the
 * command: it is reported on `log` and the built-in rule runs.
 */
export async function applyMatmulTuning(ctx: GpuContext, log: (line: string) => void = () => undefined, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const mode = tuningMode(env);
  if (mode === 'off') return;
  const file = new MatmulTuningFile();
  try {
    const got = await ensureMatmulTuning(ctx, file, {
      // A software adapter is measured only by `tunelab tune` (see matmul-tuning-service.ts for why).
      cachedOnly: mode === 'cached' || isSoftwareAdapter(ctx.adapter),
      onTuning: (why) => log(`tuning the matmul kernels for this adapter once (${why}); stored in ${file.path}`),
    });
    if (got.source === 'tuned') log(`matmul tuning (${got.record.elapsedS.toFixed(1)} s): ${tuningSummary(got.record)}`);
  } catch (err) {
    log(`warning: matmul tuning not used (${err instanceof Error ? err.message : String(err)}); the built-in kernel choice runs`);
  }
}
