// `tunelab eval --suite LIST`: the base model and each --adapter on every suite (built-in benchmarks or
// JSONL files), through the engine's runBeforeAfter. Every file (suites, model, adapters) is read and
// checked before the GPU is taken. On the GPU the adapters are uploaded once and switched with setAdapter;
// the CPU reference builds each target with its adapter merged. HumanEval and custom metrics run in the
// Node sandbox (worker threads, a fresh vm context per job).

import { writeFile } from 'node:fs/promises';
import { runBeforeAfter, type EvalTarget } from '../../engine/eval/before-after';
import type { CodeSandbox } from '../../engine/eval/sandbox';
import type { LoadedSuite } from '../../engine/eval/run-suite';
import type { LoraAdapter } from '../../engine/lora/adapter';
import { mergeAdapter } from '../../engine/lora/merge-weights';
import { CpuCausalLm } from '../../engine/model/cpu-model';
import { GpuCausalLm } from '../../engine/model/gpu/gpu-model';
import { ModelTokenizer } from '../../engine/model/tokenizer';
import { GpuLoraAdapter } from '../../engine/train/gpu/gpu-lora';
import { createNodeSandbox } from '../../node/sandbox/node-sandbox';
import { loadCliSuites } from '../eval-suite-data';
import { comparisonTable, sampleLines, suitesJson, taskName, type TargetInfo } from '../eval-suites-report';
import { formatSeconds } from '../format';
import { readAdapterReporting, readModel, startModel } from '../load-model';
import type { EvalSuiteArgs } from '../options/eval-suites';
import { Progress } from '../progress';
import type { CliStreams } from '../streams';

/** Progress lines at most this often within a suite. */
const PROGRESS_EVERY_MS = 5000;

const needsSandbox = (suites: readonly LoadedSuite[]) =>
  suites.some((s) => s.spec.kind === 'humaneval' || (s.spec.kind === 'task' && s.spec.options.metrics.customMetric !== undefined));

export async function runEvalSuites(args: EvalSuiteArgs, io: CliStreams): Promise<void> {
  const progress = new Progress(io.stderr, args.quiet);
  const suites = await loadCliSuites(args, progress);
  const disk = await readModel({ ...args, adapter: undefined }, progress);
  const tokenizer = new ModelTokenizer(disk.files);
  const adapters: LoraAdapter[] = [];
  for (const dir of args.adapters) adapters.push(await readAdapterReporting(dir, disk.files.config.architecture, disk.weights, progress));
  const targets: TargetInfo[] = [...(args.base ? [{ label: 'base' }] : []), ...args.adapters.map((dir) => ({ label: dir, adapter: dir }))];

  const sandbox: CodeSandbox | undefined = needsSandbox(suites) ? createNodeSandbox() : undefined;
  const loaded = await startModel(disk, args, progress);
  const gpuAdapters: GpuLoraAdapter[] = [];
  try {
    const base = loaded.model;
    const evalTargets: EvalTarget[] = targets.map((t) => {
      const index = t.adapter ? args.adapters.indexOf(t.adapter) : -1;
      return {
        label: t.label,
        select: async () => {
          if (base instanceof GpuCausalLm) {
            if (index < 0) base.setAdapter(null);
            else base.setAdapter((gpuAdapters[index] ??= GpuLoraAdapter.create(base.ctx, adapters[index], { inferenceOnly: true })));
            return { lm: base, tokenizer };
          }
          if (!(base instanceof CpuCausalLm)) throw new Error('this backend cannot score log-likelihoods');
          // The float64 reference runs an adapter as merged weights: W + scale B A.
          return { lm: index < 0 ? base : new CpuCausalLm(disk.files.config, mergeAdapter(disk.weights, adapters[index])), tokenizer };
        },
      };
    });

    let lastLine = 0;
    const result = await runBeforeAfter(suites, evalTargets, {
      batchSize: args.batchSize,
      seed: args.seed,
      sandbox,
      onProgress: (p) => {
        const now = performance.now();
        if (p.done === 0) {
          progress.line(`${p.targetLabel}: ${taskName(p.suiteId)}, ${p.total} ${p.total === 1 ? 'unit' : 'units'} (suite ${p.suitesDone + 1} of ${p.suitesTotal})`);
          lastLine = now;
        } else if (now - lastLine >= PROGRESS_EVERY_MS && p.done < p.total) {
          progress.line(`  ${p.done}/${p.total}${p.etaSeconds !== undefined ? `, about ${formatSeconds(p.etaSeconds * 1000)} left` : ''}`);
          lastLine = now;
        }
      },
      onSuiteDone: (t, r) => {
        const scores = Object.entries(r.scores).map(([k, v]) => `${k} ${v.value.toFixed(4)}`).join(', ');
        const errors = r.items.filter((o) => o.error !== undefined).length;
        progress.line(`  ${targets[t].label}: ${taskName(r.suiteId)} done in ${formatSeconds(r.ms)}: ${scores}${errors ? ` (${errors} item errors)` : ''}${r.cancelled ? ' (cancelled)' : ''}`);
      },
    });

    const json = `${JSON.stringify(suitesJson(args.model, targets, result, suites), null, 2)}\n`;
    if (args.json) await writeFile(args.json, json);
    if (args.logSamples) await writeFile(args.logSamples, sampleLines(targets, result));
    progress.line(comparisonTable(targets, result));
    io.stdout.write(json);
  } finally {
    for (const a of gpuAdapters) a?.dispose();
    sandbox?.dispose();
    loaded.dispose();
  }
}
