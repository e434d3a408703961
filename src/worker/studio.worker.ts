// The studio's engine thread: owns the GPU device, IndexedDB and the loaded model, and exposes StudioApi
// over comlink.

import * as Comlink from 'comlink';
import { allKernelChecks } from '../engine/selftest/registry';
import { runKernelChecks } from '../engine/selftest/run';
import { UPGRADED_ELSEWHERE_MESSAGE } from '../storage/db';
import { probeStorage } from '../storage/probe';
import { openGpuSession, type GpuSession } from './gpu-session';
import { createMatmulTuningApi, MatmulTuningService } from './matmul-tuning-service';
import { ModelSession } from './model-session';
import { listOfflineModels } from './offline-models';
import type { StudioApi } from './protocol';
import type { AdaptersApi, ChatApi, DemoApi } from './protocol-adapters';
import type { ExportApi } from './protocol-export';
import type { DatasetsApi } from './protocol-datasets';
import type { EvalApi } from './protocol-eval';
import type { JudgeApi } from './protocol-judge';
import type { MatmulTuningApi } from './protocol-matmul-tuning';
import type { RunsApi } from './protocol-runs';
import { releaseCallback } from './release-callback';
import { createAdaptersService } from './adapters-service';
import { createChatService } from './chat-service';
import { createDatasetsService } from './datasets-service';
import { createDemoService } from './demo-service';
import { createEvalService } from './eval-service';
import { createExportService } from './export-service';
import { createJudgeService } from './eval-judge-service';
import { startBrowserSandbox } from './eval-sandbox';
import { createRunsService } from './runs-service';
import { storageUpgraded, studioDb, type WorkerDeps } from './worker-deps';

let session: Promise<GpuSession> | undefined;
let selfTestRunning = false;

function gpuSession(): Promise<GpuSession> {
  session ??= openGpuSession((globalThis.navigator as Navigator | undefined)?.gpu).then(async (opened) => {
    if (opened.ctx) await matmulTuning.open(opened.ctx);
    return opened;
  });
  return session;
}

async function gpuContext() {
  const { ctx, status } = await gpuSession();
  if (!ctx) throw new Error(`No GPU device: ${status.kind === 'unavailable' ? status.message : 'unknown'}`);
  return ctx;
}

const models = new ModelSession(gpuContext);
const matmulTuning = new MatmulTuningService({ gpuContext, db: studioDb, busy: () => models.busy });
const deps: WorkerDeps = { gpuContext, models, db: studioDb, storageUpgraded, matmulTuning };

/** The calls of the Device and Model pages. */
const core: Omit<StudioApi, keyof DatasetsApi | keyof RunsApi | keyof AdaptersApi | keyof ChatApi | keyof DemoApi | keyof EvalApi | keyof JudgeApi | keyof ExportApi | keyof MatmulTuningApi> = {
  async gpuStatus() {
    return (await gpuSession()).status;
  },

  async onDeviceLost(listener) {
    const { ctx } = await gpuSession();
    // A closed page cannot hear it; nothing else to do then.
    void ctx?.lost.then((err) => listener(err.message)).catch(() => undefined);
  },

  async kernelCheckNames() {
    return allKernelChecks.map((c) => c.name);
  },

  async runSelfTest(onProgress) {
    const ctx = await gpuContext();
    if (selfTestRunning) throw new Error('The kernel self-test is already running.');
    selfTestRunning = true;
    try {
      return await runKernelChecks(ctx, allKernelChecks, onProgress);
    } finally {
      selfTestRunning = false;
      releaseCallback(onProgress);
    }
  },

  probeStorage,

  async onStorageUpgraded(listener) {
    // A closed page cannot hear it; nothing else to do then.
    void storageUpgraded.then(() => listener(UPGRADED_ELSEWHERE_MESSAGE)).catch(() => undefined);
  },

  listOfflineModels: () => listOfflineModels(),

  async loadModel(request, weightFormat, onEvent) {
    try {
      return await models.load(request, weightFormat, onEvent);
    } finally {
      releaseCallback(onEvent);
    }
  },

  async currentModel() {
    return models.current;
  },

  unloadModel: () => models.unload(),

  async estimateMemory(request) {
    return models.estimateMemory(request);
  },

  async generate(request, onText) {
    try {
      return await models.generate(request, onText);
    } finally {
      releaseCallback(onText);
    }
  },

  stopGeneration: () => models.stopGeneration(),
};

const api: StudioApi = {
  ...core,
  ...createDatasetsService(deps),
  ...createRunsService(deps, startBrowserSandbox),
  ...createAdaptersService(deps),
  ...createChatService(deps),
  ...createDemoService(deps),
  ...createEvalService(deps, startBrowserSandbox),
  ...createJudgeService(deps),
  ...createExportService(deps),
  ...createMatmulTuningApi(matmulTuning),
};

Comlink.expose(api);
