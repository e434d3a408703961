// A GRPO run: the rollout feed over a source (sampled and scored, or a rollouts file) trained by the loop
// every objective shares.

import type { TrainCheckpoint } from '../checkpoint';
import { trainWithFeed, validateLoopConfig, type LoopConfig, type TrainHooks, type TrainResult } from '../train-loop';
import type { TrainerBackend } from '../trainer-backend';
import type { GrpoObjective } from './grpo-objective';
import { RolloutFeed, type RolloutHooks } from './rollout-feed';
import type { RolloutSource } from './rollout-source';

export async function runGrpoTraining(
  backend: TrainerBackend,
  objective: GrpoObjective,
  source: RolloutSource,
  config: LoopConfig,
  hooks: TrainHooks & RolloutHooks = {},
  resume?: TrainCheckpoint,
): Promise<TrainResult> {
  validateLoopConfig(config);
  const feed = new RolloutFeed(backend, objective, source, { batchSize: config.batchSize, gradAccum: config.gradAccum, seed: config.seed, hooks }, resume);
  return trainWithFeed(backend, objective, feed, config, hooks, resume);
}
