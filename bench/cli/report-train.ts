// The training section of the report (bench/core/train-bench.ts): each model and objective's JSON record,
// the DPO step costs, and their tables.

import type { OursReport, TrainObjectiveId } from '../core/types';
import { fmt, pct, si, softwareMark, table } from './format';
import { bestMatmul, type MatmulRow } from './report-matmul';

const TRAIN_FLOPS_NOTE =
  'model FLOPs per token = 4N + 6·L·C·T (frozen base + LoRA: forward 2N, backward to the activations 2N, attention 6·L·C·T); ' +
  'N = weights of every linear layer plus the LM head (V·C, once even when tied); the input embedding (a gather), norms and biases are not counted; ' +
  "LoRA's own products (lora_flops_per_token) are not counted either; DPO's reference pass in the step adds a forward, 2N + 2·L·C·T per token. " +
  'model FLOP/s = FLOPs per token x tokens/s, tokens = sequences x T per step (every input position computed, prompts included; DPO: 2 sequences per pair; ' +
  'the reference pass reads the same positions again and is not counted twice).';

const TRAIN_TIMING_NOTE =
  'warm-up steps untimed; each timed step = record (JavaScript: packing, recording dispatches, input writes) + submit (StepEncoder.submit: ' +
  'pipelines, bind groups, encoding, until queue.submit returns) + wait (the error scopes\' answer, which waits on the device, then until loss and gradient norm are read back); the next step starts after ' +
  'the readback, as in the training loop; tokens/s uses the mean step time. Warm-up per objective; then timed rounds of one step per objective, interleaved, ' +
  "so a loaded machine's drift weighs on every objective alike. DPO with a cached reference: the reference's summed answer log-probabilities are computed " +
  'before each step (untimed, as the loop precomputes them before training). Step ratios DPO / SFT: mean step / mean step (median / median and best / best beside).';

const TRAIN_MEMORY_NOTE =
  "GPU MiB: the bytes an objective holds at its peak, measured (ctx.memory): the model's buffers, its adapter's with gradients and AdamW's moments, " +
  "the uniform arena, and its step's temporaries at the submit (the buffer pool's live bytes); est.: estimateMemory's total for that shape on this adapter's kernels, " +
  'the sum of the allocation plan the trainer allocates from (src/engine/train/gpu/train-allocation.ts).';

const DPO_COST_NOTE =
  'issue 9: a DPO step with cached reference log-probabilities costs at most 2.3x an SFT step on the chosen answers alone (same model, B, T; ' +
  'DPO trains B pairs = 2B sequences), and at most 3.3x with the reference pass in the step; step_ratio = mean DPO step / mean SFT step of this run ' +
  '(the verdict), median_step_ratio and best_step_ratio (fastest over fastest) beside it.';

export interface TrainRunJson {
  model: string;
  objective: TrainObjectiveId;
  objective_label: string;
  description: string;
  shape: string | null;
  method: string | null;
  weight_format: 'f16';
  weight_bytes: number | null;
  load_s: number | null;
  lora_params: number | null;
  seq_len: number;
  batch: number;
  sequences: number;
  prompt_tokens: number;
  reference_pass: boolean;
  tokens_per_step: number;
  trained_tokens_per_step: number;
  matmul_params: number | null;
  flops_per_token: number | null;
  lora_flops_per_token: number | null;
  warmup_steps: number;
  warmup_s: number | null;
  step_s: number[];
  mean_step_s: number | null;
  median_step_s: number | null;
  best_step_s: number | null;
  record_s: number | null;
  submit_s: number | null;
  wait_s: number | null;
  dispatches_per_step: number | null;
  /** The CPU probe: median record and submit seconds over its steps at seq_len tokens (TrainOptions.cpuSteps). */
  cpu_probe: { seq_len: number; steps: number; record_s: number; submit_s: number; dispatches_per_step: number } | null;
  pipelines_compiled_while_timed: number | null;
  tokens_per_s: number | null;
  model_gflops: number | null;
  fraction_of_peak: number | null;
  fraction_of_best_matmul: number | null;
  loss_first: number | null;
  loss_last: number | null;
  peak_gpu_bytes: number | null;
  estimate_gpu_bytes: number | null;
  error?: string;
}

export interface DpoCostJson {
  model: string;
  objective: string;
  seq_len: number;
  batch: number;
  sft_tokens_per_s: number;
  dpo_tokens_per_s: number;
  step_ratio: number;
  median_step_ratio: number;
  best_step_ratio: number;
  limit: number;
  ok: boolean;
}

export interface TrainJson {
  peak_gflops: number | null;
  best_matmul_gflops: number | null;
  best_matmul: string | null;
  flops: string;
  timing: string;
  memory: string;
  runs: TrainRunJson[];
  dpo_cost_note: string;
  dpo_cost: DpoCostJson[];
}

export function trainJson(ours: OursReport, matmul: readonly MatmulRow[], peak: number | null): TrainJson | null {
  if (!ours.train?.length) return null;
  const best = bestMatmul(matmul);
  const ratio = (v: number | undefined, of: number | null | undefined) => (v != null && of ? v / of : null);
  return {
    peak_gflops: peak,
    best_matmul_gflops: best?.gflops ?? null,
    best_matmul: best ? `${best.m}x${best.k}x${best.n} B ${best.b_format}${best.variant === 'auto' ? '' : ` [${best.variant}]`}` : null,
    flops: TRAIN_FLOPS_NOTE,
    timing: TRAIN_TIMING_NOTE,
    memory: TRAIN_MEMORY_NOTE,
    runs: ours.train.map((r) => ({
      model: r.model,
      objective: r.objective,
      objective_label: r.objectiveLabel,
      description: r.description,
      shape: r.shape ?? null,
      method: r.method ?? null,
      weight_format: r.weightFormat,
      weight_bytes: r.weightBytes ?? null,
      load_s: r.loadS ?? null,
      lora_params: r.loraParams ?? null,
      seq_len: r.seqLen,
      batch: r.batch,
      sequences: r.sequences,
      prompt_tokens: r.promptTokens,
      reference_pass: r.referencePass,
      tokens_per_step: r.tokensPerStep,
      trained_tokens_per_step: r.trainedTokensPerStep,
      matmul_params: r.matmulParams ?? null,
      flops_per_token: r.flopsPerToken ?? null,
      lora_flops_per_token: r.loraFlopsPerToken ?? null,
      warmup_steps: r.warmupSteps,
      warmup_s: r.warmupS ?? null,
      step_s: r.stepS,
      mean_step_s: r.meanStepS ?? null,
      median_step_s: r.medianStepS ?? null,
      best_step_s: r.bestStepS ?? null,
      record_s: r.breakdown?.recordS ?? null,
      submit_s: r.breakdown?.submitS ?? null,
      wait_s: r.breakdown?.waitS ?? null,
      dispatches_per_step: r.dispatchesPerStep ?? null,
      cpu_probe: r.cpuProbe
        ? { seq_len: r.cpuProbe.seqLen, steps: r.cpuProbe.steps, record_s: r.cpuProbe.recordS, submit_s: r.cpuProbe.submitS, dispatches_per_step: r.cpuProbe.dispatches }
        : null,
      pipelines_compiled_while_timed: r.pipelinesCompiledWhileTimed ?? null,
      tokens_per_s: r.tokensPerS ?? null,
      model_gflops: r.modelGflops ?? null,
      fraction_of_peak: ratio(r.modelGflops, peak),
      fraction_of_best_matmul: ratio(r.modelGflops, best?.gflops),
      loss_first: r.lossFirst ?? null,
      loss_last: r.lossLast ?? null,
      peak_gpu_bytes: r.peakGpuBytes ?? null,
      estimate_gpu_bytes: r.estimateGpuBytes ?? null,
      ...(r.error ? { error: r.error } : {}),
    })),
    dpo_cost_note: DPO_COST_NOTE,
    dpo_cost: (ours.trainDpoCost ?? []).map((c) => ({
      model: c.model,
      objective: c.objective,
      seq_len: c.seqLen,
      batch: c.batch,
      sft_tokens_per_s: c.sftTokensPerS,
      dpo_tokens_per_s: c.dpoTokensPerS,
      step_ratio: c.ratio,
      median_step_ratio: c.medianRatio,
      best_step_ratio: c.bestRatio,
      limit: c.limit,
      ok: c.ok,
    })),
  };
}

/** The training table, what each model's rows share, every objective's steps, then the DPO step costs. */
export function trainReport(t: TrainJson, note: string | null): string[] {
  const out: string[] = [];
  const methods = [...new Set(t.runs.map((r) => r.method).filter(Boolean))];
  out.push('training  LoRA SFT and DPO on the GPU trainer, f16 base weights, random token ids, one submit per step' + softwareMark(note));
  for (const m of methods) out.push(`          ${m}`);
  out.push(
    `          peak ${fmt(t.peak_gflops)} GFLOP/s; best matmul ${fmt(t.best_matmul_gflops)} GFLOP/s` + (t.best_matmul ? ` (${t.best_matmul}), both measured above in this run` : ''),
  );
  const rows = t.runs.map((r) => {
    const b = r.mean_step_s ? [r.record_s, r.submit_s, r.wait_s].map((x) => ((x ?? 0) * 1e3).toFixed(1)).join(' / ') : '-';
    return [
      r.model,
      r.objective,
      `${r.sequences} x ${r.seq_len}`,
      si(r.matmul_params),
      si(r.flops_per_token),
      r.error ? 'error' : fmt(r.mean_step_s === null ? null : r.mean_step_s * 1e3, 1),
      fmt(r.tokens_per_s, 1),
      fmt(r.model_gflops),
      pct(r.fraction_of_peak),
      pct(r.fraction_of_best_matmul),
      b,
      r.dispatches_per_step ?? '-',
      r.peak_gpu_bytes === null ? '-' : `${fmt(r.peak_gpu_bytes / 2 ** 20, 1)} / ${fmt(r.estimate_gpu_bytes === null ? null : r.estimate_gpu_bytes / 2 ** 20, 1)}`,
    ];
  });
  out.push(
    table(['model', 'objective', 'seqs x T', 'N', 'FLOP/token', 'step ms', 'tokens/s', 'model GFLOP/s', 'of peak', 'of best matmul', 'record / submit / wait ms', 'dispatches', 'GPU MiB / est.'], rows),
  );
  out.push('');
  for (const [i, r] of t.runs.entries()) {
    // What the rows of a model share, once before its first row.
    if (i === 0 || t.runs[i - 1].model !== r.model) {
      const parts = [`${r.model}: ${r.description}`];
      if (r.shape) parts.push(r.shape);
      if (r.weight_bytes !== null) parts.push(`${(r.weight_bytes / 1e6).toFixed(1)} MB f16 weights loaded in ${fmt(r.load_s, 1)} s`);
      parts.push(`sequences of ${r.prompt_tokens} prompt + ${r.seq_len - r.prompt_tokens} answer tokens`);
      if (r.lora_flops_per_token !== null && r.flops_per_token) parts.push(`LoRA adds ${si(r.lora_flops_per_token)} FLOP/token (${pct(r.lora_flops_per_token / r.flops_per_token)}, not counted)`);
      out.push(parts.join('; '));
    }
    const parts = [`  ${r.objective}: ${r.objective_label}`];
    if (r.warmup_s !== null) parts.push(`${r.warmup_steps} warm-up step(s) ${fmt(r.warmup_s, 1)} s`);
    if (r.step_s.length) parts.push(`${r.step_s.length} timed step(s): ${r.step_s.map((s) => (s * 1e3).toFixed(0)).join(', ')} ms`);
    if (r.loss_first !== null) parts.push(`loss ${fmt(r.loss_first, 3)} -> ${fmt(r.loss_last, 3)}`);
    out.push(parts.join('; '));
    const p = r.cpu_probe;
    if (p) {
      out.push(
        `  CPU per step (probe: median of ${p.steps} steps of ${r.sequences} x ${p.seq_len} tokens, the same layers' dispatches): ` +
          `record ${(p.record_s * 1e3).toFixed(1)} + submit ${(p.submit_s * 1e3).toFixed(1)} = ${((p.record_s + p.submit_s) * 1e3).toFixed(1)} ms, ${p.dispatches_per_step} dispatches`,
      );
    }
    if (r.pipelines_compiled_while_timed) {
      out.push(`  WARNING: ${r.pipelines_compiled_while_timed} pipeline(s) compiled during the timed steps (too few warm-up steps): the step times include compilation`);
    }
    if (r.error) out.push(`  error: ${r.error}`);
  }
  out.push(`flops: ${t.flops}`);
  out.push(`timing: ${t.timing}`);
  out.push(`memory: ${t.memory}`);
  if (t.dpo_cost.length) out.push('', ...dpoCostReport(t));
  return out;
}

/** Each DPO objective's step against SFT's on the chosen answers, with issue 9's verdict. */
function dpoCostReport(t: TrainJson): string[] {
  const rows = t.dpo_cost.map((c) => [
    c.model,
    c.objective,
    `${c.batch} x ${c.seq_len}`,
    fmt(c.sft_tokens_per_s, 1),
    fmt(c.dpo_tokens_per_s, 1),
    `${fmt(c.step_ratio)}x`,
    `${fmt(c.median_step_ratio)}x`,
    `${fmt(c.best_step_ratio)}x`,
    `${c.limit}x`,
    c.ok ? 'ok' : 'OVER THE LIMIT',
  ]);
  return [
    'DPO step cost, in SFT steps on the chosen answers alone (same model, B, T, this run)',
    table(['model', 'objective', 'B x T', 'SFT tokens/s', 'DPO tokens/s', 'step ratio', 'median ratio', 'best ratio', 'limit', 'verdict'], rows),
    `limits: ${t.dpo_cost_note}`,
  ];
}
