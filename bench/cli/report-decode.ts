// The decode section of the report (bench/core/decode-bench.ts): each model and batch size's greedy decode
// tokens/s beside the bandwidth bound, as JSON and as a table.

import { boundTokensPerS } from '../core/decode-workloads';
import type { CopyReport, OursReport } from '../core/types';
import { fmt, pct, softwareMark, table } from './format';

const DECODE_NOTE =
  'one run = generate() (greedy, temperature 0, stopTokenIds [] so EOS is ignored) of B seeded random prompts of P ids (BOS first), N new tokens each, ' +
  'on the GpuCausalLm (f16 weights, a KV cache per sequence, one extend per step for all rows), token ids only (no text decoding); an untimed warm-up run (the prompts\' pass and one decode step), then timed runs; ' +
  'a timed run that compiled a pipeline counts as warm-up and is run again, once. ' +
  "decode time = from row 0's first new token to its last (N - 1 steps, each one extend: record, submit, wait, logits read back, and the greedy pick of every row); " +
  'the prompts\' pass (prefill_s) is apart. tokens/s = B x (N - 1) x runs / summed decode seconds. ' +
  'bytes per step = weight bytes (every linear layer + the LM head as stored, f16 = 2 bytes; embedding gather, norms and biases left out) ' +
  '+ B x KV bytes per position (L x 2 x Hkv x D x 4, f32 cache) x mean context (P + N/2); ' +
  'bound tokens/s = bandwidth / bytes per step x B, bandwidth = the copy section\'s best figure of this run as reported, read + write counted ' +
  '(one memory bus carries both, so a step that only reads can at best read at that rate; half of it, the copy\'s reads alone, would double every fraction); ' +
  'fraction_of_bound = tokens/s / bound tokens/s. shader_copy_gbps = the fastest copy done by a compute shader (bench_copy.wgsl) in the copy section; ' +
  'shader_bound_tokens_per_s is the bound at that rate (where copyBufferToBuffer is a driver memcpy, as on SwiftShader, shaders may not reach its rate).';

export interface DecodeRunJson {
  model: string;
  description: string;
  batch: number;
  prompt_tokens: number;
  new_tokens: number;
  weight_format: 'f16';
  uploaded_weight_bytes: number | null;
  load_s: number | null;
  warmup_s: number | null;
  runs: { prefill_s: number; decode_s: number; decode_steps: number; tokens: number }[];
  weight_bytes_per_step: number | null;
  kv_bytes_per_position: number | null;
  mean_context: number | null;
  kv_bytes_per_step: number | null;
  bytes_per_step: number | null;
  tokens_per_s: number | null;
  best_tokens_per_s: number | null;
  mean_step_s: number | null;
  median_step_s: number | null;
  prefill_s: number | null;
  bandwidth_gbps: number | null;
  bound_tokens_per_s: number | null;
  fraction_of_bound: number | null;
  best_fraction_of_bound: number | null;
  shader_bound_tokens_per_s: number | null;
  fraction_of_shader_bound: number | null;
  pipelines_compiled_while_timed: number | null;
  error?: string;
}

export interface DecodeJson {
  note: string;
  /** The fastest copy by a compute shader in this run's copy section (GB/s, read + write counted). */
  shader_copy_gbps: number | null;
  runs: DecodeRunJson[];
}

/** The copy section's fastest shader method (its best figure may be copyBufferToBuffer, a driver copy). */
export function shaderCopyGbps(copy: CopyReport | null): number | null {
  const shaders = (copy?.methods ?? []).filter((m) => m.method.includes('shader'));
  return shaders.length ? Math.max(...shaders.map((m) => m.gbps)) : null;
}

const opt = <T>(v: T | undefined): T | null => v ?? null;

export function decodeJson(ours: OursReport): DecodeJson | null {
  if (!ours.decode?.length) return null;
  const shaderGbps = shaderCopyGbps(ours.copy);
  return {
    note: DECODE_NOTE,
    shader_copy_gbps: shaderGbps,
    runs: ours.decode.map((r) => {
      const shaderBound = shaderGbps && r.traffic ? boundTokensPerS(r.traffic.bytesPerStep, r.batch, shaderGbps) : null;
      return {
        model: r.model,
        description: r.description,
        batch: r.batch,
        prompt_tokens: r.promptTokens,
        new_tokens: r.newTokens,
        weight_format: r.weightFormat,
        uploaded_weight_bytes: opt(r.uploadedWeightBytes),
        load_s: opt(r.loadS),
        warmup_s: opt(r.warmupS),
        runs: r.timings.map((t) => ({ prefill_s: t.prefillS, decode_s: t.decodeS, decode_steps: t.decodeSteps, tokens: t.tokens })),
        weight_bytes_per_step: opt(r.traffic?.weightBytes),
        kv_bytes_per_position: opt(r.traffic?.kvBytesPerPosition),
        mean_context: opt(r.traffic?.meanContext),
        kv_bytes_per_step: opt(r.traffic?.kvBytesPerStep),
        bytes_per_step: opt(r.traffic?.bytesPerStep),
        tokens_per_s: opt(r.tokensPerS),
        best_tokens_per_s: opt(r.bestTokensPerS),
        mean_step_s: opt(r.meanStepS),
        median_step_s: opt(r.medianStepS),
        prefill_s: opt(r.meanPrefillS),
        bandwidth_gbps: opt(r.bandwidthGbps),
        bound_tokens_per_s: opt(r.boundTokensPerS),
        fraction_of_bound: opt(r.fractionOfBound),
        best_fraction_of_bound: opt(r.bestFractionOfBound),
        shader_bound_tokens_per_s: shaderBound,
        fraction_of_shader_bound: shaderBound && r.tokensPerS !== undefined ? r.tokensPerS / shaderBound : null,
        pipelines_compiled_while_timed: opt(r.pipelinesCompiledWhileTimed),
        ...(r.error ? { error: r.error } : {}),
      };
    }),
  };
}

const mb = (bytes: number | null) => fmt(bytes === null ? null : bytes / 1e6, 2);
const ms = (s: number | null) => fmt(s === null ? null : s * 1e3, 1);

export function decodeReport(d: DecodeJson, note: string | null): string[] {
  const bandwidth = d.runs.find((r) => r.bandwidth_gbps !== null)?.bandwidth_gbps ?? null;
  const out = [
    'decode  greedy generate() on the GPU model, f16 weights, KV cache, EOS ignored; bound = copy bandwidth / bytes read per step x B' + softwareMark(note),
    bandwidth === null
      ? '        no copy bandwidth in this run (--no-copy, or the copy failed): no bound'
      : `        copy bandwidth ${fmt(bandwidth)} GB/s (read + write counted, measured above in this run)` +
        (d.shader_copy_gbps === null ? '' : `; the copy shaders reached ${fmt(d.shader_copy_gbps)} GB/s ('of shader bound': the bound at that rate)`),
  ];
  const rows = d.runs.map((r) => [
    r.model,
    String(r.batch),
    `${r.prompt_tokens} + ${r.new_tokens}`,
    mb(r.weight_bytes_per_step),
    mb(r.kv_bytes_per_step),
    mb(r.bytes_per_step),
    ms(r.prefill_s),
    r.error ? 'error' : ms(r.mean_step_s),
    fmt(r.tokens_per_s, 1),
    fmt(r.bound_tokens_per_s, 1),
    pct(r.fraction_of_bound),
    pct(r.fraction_of_shader_bound),
  ]);
  out.push(table(['model', 'B', 'P + N', 'weights MB', 'KV MB/step', 'MB/step', 'prefill ms', 'step ms', 'tokens/s', 'bound tokens/s', 'of bound', 'of shader bound'], rows));
  out.push('');
  for (const [i, r] of d.runs.entries()) {
    if (i === 0 || d.runs[i - 1].model !== r.model) {
      const parts = [`${r.model}: ${r.description}`];
      if (r.uploaded_weight_bytes !== null) parts.push(`${mb(r.uploaded_weight_bytes)} MB uploaded in ${fmt(r.load_s, 1)} s`);
      out.push(parts.join('; '));
    }
    const parts = [`  B=${r.batch}:`];
    if (r.warmup_s !== null) parts.push(`warm-up ${fmt(r.warmup_s, 2)} s;`);
    if (r.runs.length) parts.push(`${r.runs.length} timed run(s) of ${r.runs[0].decode_steps} steps: ${r.runs.map((x) => `${fmt(x.decode_s)} s`).join(', ')}; median step ${ms(r.median_step_s)} ms`);
    out.push(parts.join(' '));
    if (r.pipelines_compiled_while_timed) out.push(`  WARNING: ${r.pipelines_compiled_while_timed} pipeline(s) compiled during the timed runs: their times include compilation`);
    if (r.error) out.push(`  error: ${r.error}`);
  }
  out.push(`decode: ${d.note}`);
  return out;
}
