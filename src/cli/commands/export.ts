// `tunelab export`: the base model with an adapter merged, as a Hugging Face folder (--format hf) or an ONNX
// decoder for onnxruntime and transformers.js (--format onnx); or a training run as a TRL project
// (--format trl). Files are written as they are produced, one tensor at a time.

import { resolve } from 'node:path';
import type { ExportFile } from '../../engine/export/export-file';
import { hfExportFiles } from '../../engine/export/hf-export';
import { onnxExportFiles } from '../../engine/export/onnx/onnx-export';
import { trlProjectFiles } from '../../engine/export/trl/trl-project';
import { writeExportFiles } from '../../node/write-export';
import { baseLicense, exportCard } from '../export-card';
import { trlSpecFromRunDir } from '../export-trl';
import { formatBytes, formatSeconds } from '../format';
import { readModel } from '../load-model';
import type { ExportArgs } from '../options/export';
import { Progress } from '../progress';
import type { CliStreams } from '../streams';

declare const __TUNELAB_VERSION__: string | undefined;
const VERSION = typeof __TUNELAB_VERSION__ === 'string' ? __TUNELAB_VERSION__ : '0.1.0';

async function modelExportFiles(args: ExportArgs, progress: Progress): Promise<ExportFile[]> {
  const modelArgs = args.model!;
  const disk = await readModel(modelArgs, progress);
  progress.line(`read ${disk.summary}`);
  const card = await exportCard(modelArgs.model, await baseLicense(disk.source), modelArgs.adapter);
  if (args.format === 'hf') return hfExportFiles(disk.files, disk.adapter, { dtype: args.dtype, maxShardBytes: args.maxShardBytes, card });
  return onnxExportFiles(disk.files, disk.weights, disk.adapter, { precision: args.dtype === 'f16' ? 'fp16' : 'fp32', producerVersion: VERSION, card });
}

export async function runExport(args: ExportArgs, io: CliStreams): Promise<void> {
  const progress = new Progress(io.stderr, args.quiet);
  const started = performance.now();
  const files = args.format === 'trl' ? trlProjectFiles(await trlSpecFromRunDir(args.run!)) : await modelExportFiles(args, progress);
  const out = resolve(args.out);
  const total = files.reduce((n, f) => n + f.size, 0);
  let written = 0;
  await writeExportFiles(out, files, (file) => {
    written += file.size;
    progress.line(`wrote ${file.path} (${formatBytes(file.size)}; ${formatBytes(written)} of ${formatBytes(total)})`);
  });
  progress.line(`exported ${args.format} to ${out}: ${files.length} files, ${formatBytes(total)} in ${formatSeconds(performance.now() - started)}`);
}
