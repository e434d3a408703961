// Tiny random models of several architectures, written to a temporary folder before a test file's tests and
// removed after, each with its float64 training model: the shared setup of the LoRA finite-difference checks.

import { afterAll, beforeAll } from 'vitest';
import { buildCpuTrainModel, type CpuTrainModel } from '../../src/engine/train/cpu/cpu-train-model';
import { loadModel, makeTempDir, removeTempDir, writeTinyModel, type LoadedModel, type TinyKind } from './tiny-models';

export interface TinyTrainModel {
  loaded: LoadedModel;
  cpu: CpuTrainModel;
}

/** Central differences of the LoRA gradient checks: the step h, and the allowance atol + rtol |fd|. */
export const LORA_FD = { h: 1e-5, atol: 1e-9, rtol: 1e-5 } as const;

/** The models of `kinds` (seed 7), filled in by a beforeAll hook of the calling test file. */
export function useTinyTrainModels(prefix: string, kinds: readonly TinyKind[]): Map<TinyKind, TinyTrainModel> {
  const models = new Map<TinyKind, TinyTrainModel>();
  let root: string | undefined;
  beforeAll(async () => {
    root = await makeTempDir(prefix);
    for (const kind of kinds) {
      await writeTinyModel(`${root}/${kind}`, kind, { seed: 7 });
      const loaded = await loadModel(`${root}/${kind}`);
      models.set(kind, { loaded, cpu: buildCpuTrainModel(loaded.config, loaded.weights) });
    }
  });
  afterAll(() => (root ? removeTempDir(root) : undefined));
  return models;
}
