// `tunelab tune`: runs the matmul autotune on the adapter now, stores the record in the cache folder's
// matmul-tuning.json (replacing this adapter's) and prints it.

import { autotuneMatmul } from '../../engine/ops/gpu/matmul-autotune';
import { MatmulTuningFile } from '../../node/matmul-tuning-file';
import { acquireGpuOnly } from '../load-model';
import type { TuneArgs } from '../options/tune';
import { Progress } from '../progress';
import type { CliStreams } from '../streams';
import { formatTuning } from '../tuning-report';

export async function runTune(args: TuneArgs, io: CliStreams): Promise<void> {
  const progress = new Progress(io.stderr, args.quiet);
  const ctx = await acquireGpuOnly();
  try {
    const file = new MatmulTuningFile();
    progress.line(`tuning the matmul kernels on ${ctx.adapter.description || ctx.adapter.vendor || 'this adapter'}`);
    const record = await autotuneMatmul(ctx, {
      budgetS: args.budget,
      profile: args.profile,
      // One line per candidate's first measurement; the later samples only move the count.
      onProgress: (p) => p.phase === 'measure' && progress.line(`measured ${p.done}/${p.total}: ${p.classId} ${p.variant}`),
    });
    await file.put(record);
    progress.line(`stored in ${file.path}`);
    io.stdout.write(args.json ? `${JSON.stringify(record, null, 2)}\n` : `${formatTuning(record).join('\n')}\n`);
  } finally {
    ctx.destroy();
  }
}
