// The model card's facts for `tunelab export`: the base's licence (its README.md front matter), and, when the
// adapter folder is a `tunelab train --out` folder, the run's method, data and settings (run.json) and its
// first and last held-out evaluations (metrics.jsonl).

import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { cardEvaluations, licenseFromCard, type EvalRow, type ModelCardInfo } from '../engine/export/model-card';
import type { ModelSource } from '../engine/model/source';
import { METRICS_FILE, RUN_FILE } from './run-files';

/** run.json fields shown as hyperparameters. */
const HYPERPARAMETERS = ['steps', 'batch_size', 'grad_accum', 'lr', 'scheduler', 'warmup_steps', 'weight_decay', 'max_length', 'seed', 'beta', 'loss_type', 'num_generations', 'max_completion_length', 'temperature'];

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function baseLicense(source: ModelSource): Promise<string | undefined> {
  const readme = await source.read('README.md');
  return readme ? licenseFromCard(new TextDecoder().decode(readme)) : undefined;
}

/** metrics.jsonl's rows (one JSON object per line). */
function metricRows(text: string | undefined): EvalRow[] {
  return (text ?? '')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EvalRow);
}

export async function exportCard(baseModel: string, license: string | undefined, adapterDir: string | undefined): Promise<Omit<ModelCardInfo, 'contents'>> {
  if (!adapterDir) return { baseModel, license };
  const runText = await readText(join(adapterDir, RUN_FILE));
  const adapterName = basename(resolve(adapterDir));
  if (!runText) return { baseModel, license, training: { method: 'lora', adapterName, hyperparameters: {} } };
  let run: Record<string, unknown>;
  try {
    run = JSON.parse(runText) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${join(adapterDir, RUN_FILE)}: is not valid JSON (${(err as Error).message})`);
  }
  const method = typeof run.method === 'string' ? run.method : 'sft';
  const lora = (run.lora ?? {}) as Record<string, unknown>;
  const hyperparameters: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries({ r: lora.r, lora_alpha: lora.lora_alpha, target_modules: (lora.target_modules as string[] | undefined)?.join(', ') })) {
    if (v !== undefined) hyperparameters[k] = v as string | number;
  }
  for (const k of HYPERPARAMETERS) {
    const v = run[k];
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') hyperparameters[k] = v;
  }
  return {
    baseModel,
    license,
    training: {
      method,
      adapterName,
      datasetName: typeof run.data === 'string' ? basename(run.data) : undefined,
      datasetSize: typeof run.train_examples === 'number' ? run.train_examples : undefined,
      hyperparameters,
    },
    evaluation: cardEvaluations(metricRows(await readText(join(adapterDir, METRICS_FILE))), method),
  };
}
