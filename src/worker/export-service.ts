// The studio's exports: the loaded model with a saved adapter merged (Hugging Face folder or ONNX) and a stored
// run as a TRL project, each as a .zip Blob made as it is produced. The base weights left the worker's memory
// once uploaded to the GPU, so an export reads the model's files again from where they came (Cache Storage for
// Hub downloads, the picked files, the offline folder): f32 exact, whatever format the GPU holds.

import { hfExportFiles } from '../engine/export/hf-export';
import { cardEvaluations, licenseFromCard, type EvalRow, type ModelCardInfo } from '../engine/export/model-card';
import { onnxExportFiles, onnxFileName } from '../engine/export/onnx/onnx-export';
import type { OnnxPrecision } from '../engine/export/onnx/decoder-graph';
import { trlProjectFiles } from '../engine/export/trl/trl-project';
import type { ExportFile } from '../engine/export/export-file';
import type { LoraAdapter } from '../engine/lora/adapter';
import { loadModelFiles } from '../engine/model/model-files';
import { mapWeights } from '../engine/model/weights';
import { getAdapter } from '../storage/adapters-store';
import { getDataset } from '../storage/datasets-store';
import { getRun, runRows } from '../storage/runs-store';
import type { AdapterRecord, RunRecord } from '../storage/records';
import { checkAdapterFits } from './adapters-service';
import { fileSafeName } from './export-names';
import { exportFilesAsBlobs, zipExportFiles } from './export-zip';
import type { ModelSession } from './model-session';
import { modelSource } from './model-source';
import { releaseCallback } from './release-callback';
import type { ExportApi, ExportProgressListener } from './protocol-export';
import { trlSpecFromRunSettings } from './trl-export-spec';
import type { WorkerDeps } from './worker-deps';

declare const __TUNELAB_VERSION__: string | undefined;
const VERSION = typeof __TUNELAB_VERSION__ === 'string' ? __TUNELAB_VERSION__ : '0.1.0';

function requireModel(models: ModelSession) {
  const active = models.active;
  if (!active) throw new Error('Load the base model first (Model page): an export merges the adapter into the loaded model.');
  return active;
}

async function cardFor(deps: WorkerDeps, baseModel: string, record: AdapterRecord | undefined, license: string | undefined): Promise<Omit<ModelCardInfo, 'contents'>> {
  if (!record) return { baseModel, license };
  const db = await deps.db();
  const run: RunRecord | undefined = record.runId ? await getRun(db, record.runId).catch(() => undefined) : undefined;
  if (!run) return { baseModel, license, training: { method: 'lora', adapterName: record.name, hyperparameters: {} } };
  const s = run.settings;
  const evalRows = (await runRows(db, record.runId!)).flatMap((r): EvalRow[] =>
    r.kind === 'eval' ? [{ ...(r.objective ?? {}), step: r.step, eval_loss: r.eval_loss }] : [],
  );
  const evaluation = cardEvaluations(evalRows, s.method);
  return {
    baseModel,
    license,
    evaluation,
    training: {
      method: s.method,
      adapterName: record.name,
      datasetName: s.datasetName,
      hyperparameters: {
        r: s.lora.r,
        lora_alpha: s.lora.alpha,
        target_modules: s.lora.targets.join(', '),
        steps: s.loop.steps,
        batch_size: s.loop.batchSize,
        grad_accum: s.loop.gradAccum,
        lr: s.loop.lr,
        scheduler: s.loop.scheduler,
        warmup_steps: s.loop.warmupSteps,
        max_length: s.maxLength,
        seed: s.loop.seed,
      },
    },
  };
}

/** A short name of the base for download names: the Hub id's last part, a picked folder's name, or the architecture. */
function modelName(active: NonNullable<ModelSession['active']>): string {
  if (active.request.kind !== 'files') return active.info.source.split('/').pop() ?? 'model';
  const folder = active.request.files.map((f) => f.webkitRelativePath.split('/')[0]).find(Boolean);
  return folder ?? active.info.config.hfArchitecture;
}

/** The loaded model's files read again, the adapter planned on it, and the card's facts. */
async function prepare(deps: WorkerDeps, adapterId: string | null) {
  const active = requireModel(deps.models);
  const db = await deps.db();
  const record = adapterId ? await getAdapter(db, adapterId) : undefined;
  const adapter: LoraAdapter | undefined = record ? checkAdapterFits(active, record.config, record.weights, record.name) : undefined;
  const source = modelSource(active.request);
  const files = await loadModelFiles(source);
  const readme = await source.read('README.md').catch(() => undefined);
  const license = readme ? licenseFromCard(new TextDecoder().decode(readme)) : undefined;
  const card = await cardFor(deps, active.info.source, record, license);
  const name = fileSafeName(`${modelName(active)}${record ? `+${record.name}` : ''}`);
  return { files, adapter, card, name };
}

async function archive(files: ExportFile[], fileName: string, onProgress?: ExportProgressListener) {
  const total = files.reduce((n, f) => n + f.size, 0);
  const blob = await zipExportFiles(files, fileName, (file, written) => onProgress?.({ file: file.path, written, total }));
  return { blob, fileName, files: files.map((f) => ({ path: f.path, size: f.size })) };
}

export function createExportService(deps: WorkerDeps): ExportApi {
  // One export at a time: each holds the base model's files and replaces the previous export's files.
  let running = false;
  /** Runs `job` alone, then closes the page's progress listener's channel. */
  const exclusive = async <T>(listener: unknown, job: () => Promise<T>): Promise<T> => {
    try {
      if (running) throw new Error('An export is already running: wait until it has finished.');
      running = true;
      try {
        return await job();
      } finally {
        running = false;
      }
    } finally {
      releaseCallback(listener);
    }
  };
  const onnxFiles = (prepared: Awaited<ReturnType<typeof prepare>>, precision: OnnxPrecision) =>
    onnxExportFiles(prepared.files, mapWeights(prepared.files.config, prepared.files.weights), prepared.adapter, { precision, producerVersion: VERSION, card: prepared.card });

  return {
    exportModel: (request, onProgress) =>
      exclusive(onProgress, async () => {
        const prepared = await prepare(deps, request.adapterId);
        if (request.format === 'hf') {
          const files = hfExportFiles(prepared.files, prepared.adapter, { dtype: request.dtype, card: prepared.card });
          return archive(files, `${prepared.name}-${request.dtype}.zip`, onProgress);
        }
        if (request.dtype === 'bf16') throw new Error('ONNX exports are f32 or f16 (transformers.js has no bf16 ONNX files).');
        const precision = request.dtype === 'f16' ? 'fp16' : 'fp32';
        return archive(onnxFiles(prepared, precision), `${prepared.name}-onnx-${precision}.zip`, onProgress);
      }),

    exportOnnxFiles: (adapterId, dtype, onProgress) =>
      exclusive(onProgress, async () => {
        const precision = dtype === 'f16' ? 'fp16' : 'fp32';
        const exported = onnxFiles(await prepare(deps, adapterId), precision);
        const total = exported.reduce((n, f) => n + f.size, 0);
        const blobs = await exportFilesAsBlobs(exported, (file, written) => onProgress({ file: file.path, written, total }));
        return { files: blobs, modelPath: `onnx/${onnxFileName(precision)}` };
      }),

    exportTrlProject: (runId) =>
      exclusive(undefined, async () => {
        const db = await deps.db();
        const run = await getRun(db, runId);
        const dataset = await getDataset(db, run.settings.datasetId).catch(() => {
          throw new Error(`The run's dataset "${run.settings.datasetName}" was deleted: a TRL project needs the data the run trained on.`);
        });
        return archive(trlProjectFiles(trlSpecFromRunSettings(run.settings, dataset, run.name)), `${fileSafeName(run.name)}-trl.zip`);
      }),
  };
}
