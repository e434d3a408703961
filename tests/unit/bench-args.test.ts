// The bench's command line (bench/cli/args.ts): per-model lists, options that turn their section on, the
// defaults they leave alone, and a clear error for every bad value.

import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArgsError, benchOptions, parseArgs, watchdogSeconds } from '../../bench/cli/args';
import { DEFAULT_OPTIONS } from '../../bench/core/types';

const ENV = { env: {}, root: '/repo/main' };
const parse = (...argv: string[]) => parseArgs(argv, ENV);
const options = (...argv: string[]) => benchOptions(parse(...argv));

describe('bench arguments', () => {
  it('defaults to Chromium, the peer, no optional section, and the shared models folder beside the repository', () => {
    const a = parse();
    expect(a).toMatchObject({ json: false, node: false, peer: true, help: false, chromium: '/usr/bin/chromium', out: '' });
    expect(a.modelsDir).toBe(resolve('/repo/shared/assets/models'));
    expect(options()).toEqual(DEFAULT_OPTIONS);
    const env = parseArgs([], { env: { TUNELAB_CHROMIUM: '/opt/chrome', TUNELAB_MODELS: '/data/models' }, root: '/repo/main' });
    expect([env.chromium, env.modelsDir]).toEqual(['/opt/chrome', '/data/models']);
  });

  it('reads flags and numbers into the matmul options', () => {
    const o = options('--node', '--no-peer', '--no-f16', '--no-peak', '--no-copy', '--variants', '--shapes=0,2,4', '--budget=1.5', '--max-run=30');
    expect(o).toMatchObject({ f16: false, skipPeak: true, skipCopy: true, variants: true, shapes: [0, 2, 4], budgetS: 1.5, maxRunS: 30 });
    expect(o.train.enabled || o.eval.enabled || o.grpo.enabled).toBe(false);
    expect(parse('--models=rel/dir').modelsDir).toBe(resolve('rel/dir'));
  });

  it('gives a per-model list one value per model, or one value for all of them', () => {
    expect(options('--train-batch=4,2').train.batch).toEqual({ stories260K: 4, 'smollm2-135m': 2 });
    expect(options('--train-batch=3').train.batch).toEqual({ stories260K: 3, 'smollm2-135m': 3 });
    expect(options('--train-warmup=0').train.warmup).toEqual({ stories260K: 0, 'smollm2-135m': 0 });
    expect(options('--grpo-completion=16,4').grpo.completionTokens).toEqual({ stories260K: 16, 'smollm2-135m': 4 });
    expect(options('--eval-items=5').eval.items).toEqual({ stories260K: 5, 'smollm2-135m': 5 });
    expect(options('--decode-tokens=40,6').decode.newTokens).toEqual({ stories260K: 40, 'smollm2-135m': 6 });
    // A list leaves the section's other defaults alone.
    expect(options('--grpo-steps=2').grpo).toEqual({ ...DEFAULT_OPTIONS.grpo, enabled: true, steps: { stories260K: 2, 'smollm2-135m': 2 } });
  });

  it('turns a section on from any of its options, and every section on with --full', () => {
    for (const [flag, section] of [
      ['--train-seq=64', 'train'],
      ['--lora-r=4', 'train'],
      ['--train-profile', 'train'],
      ['--train-cpu-steps=0', 'train'],
      ['--eval-budget=5', 'eval'],
      ['--grpo-reward=length=10', 'grpo'],
      ['--decode', 'decode'],
      ['--decode-runs=3', 'decode'],
    ] as const) {
      const o = options(flag);
      expect([o.train.enabled, o.eval.enabled, o.grpo.enabled, o.decode.enabled], flag).toEqual(
        (['train', 'eval', 'grpo', 'decode'] as const).map((s) => s === section),
      );
    }
    const full = options('--full');
    expect([full.train.enabled, full.eval.enabled, full.grpo.enabled, full.decode.enabled, full.maxRunS]).toEqual([true, true, true, true, Infinity]);
  });

  it('runs the CPU probe by default and reads its step count (0 turns it off) and sequence length', () => {
    expect([DEFAULT_OPTIONS.train.cpuSteps, DEFAULT_OPTIONS.train.cpuSeqLen]).toEqual([6, 16]);
    expect(options('--train-cpu-steps=0').train.cpuSteps).toBe(0);
    expect(options('--train-cpu-steps=12', '--train-cpu-seq=32').train).toMatchObject({ cpuSteps: 12, cpuSeqLen: 32, seqLen: DEFAULT_OPTIONS.train.seqLen });
  });

  it('matches model names without regard to case and keeps their order', () => {
    expect(options('--train-models=SMOLLM2-135M,stories260k').train.models).toEqual(['smollm2-135m', 'stories260K']);
    expect(options('--train-objectives=dpo-ref,sft').train.objectives).toEqual(['dpo-ref', 'sft']);
    expect(options('--lora-targets=all-linear').train.loraTargets).toEqual(['all-linear']);
    expect(options('--decode-models=smollm2-135M').decode.models).toEqual(['smollm2-135m']);
  });

  it('trains the larger shapes only when named, and only in the training section', () => {
    expect(options('--train-models=qwen2.5-0.5B,SmolLM2-360M').train.models).toEqual(['qwen2.5-0.5b', 'smollm2-360m']);
    expect(options('--train').train.models).toEqual(['stories260K', 'smollm2-135m']);
    expect(() => options('--decode-models=smollm2-360m')).toThrow(/--decode-models: unknown model smollm2-360m/);
  });

  it('reads the decode batch sizes as a list of its own, not one value per model', () => {
    expect(options('--decode-batch=1,8,16').decode.batches).toEqual([1, 8, 16]);
    expect(options('--decode-batch=4').decode).toEqual({ ...DEFAULT_OPTIONS.decode, enabled: true, batches: [4] });
    expect(options('--decode-prompt-tokens=3', '--decode-runs=2').decode).toMatchObject({ promptTokens: 3, runs: 2, batches: DEFAULT_OPTIONS.decode.batches });
  });

  it('refuses bad values with an error that names the option', () => {
    const bad: [string, RegExp][] = [
      ['--budget=0', /--budget needs a positive number/],
      ['--budget=abc', /--budget needs a positive number/],
      ['--train-seq=1.5', /--train-seq needs a whole number, got 1.5/],
      ['--train-batch=0', /--train-batch: "0" is not a whole number >= 1/],
      ['--train-batch=1,2,3', /--train-batch takes 1 or 2 whole numbers/],
      ['--train-warmup=-1', /--train-warmup: "-1" is not a whole number >= 0/],
      ['--train-models=gpt2', /--train-models: unknown model gpt2/],
      ['--train-objectives=ppo', /--train-objectives: unknown objective ppo/],
      ['--train-cpu-steps=-1', /--train-cpu-steps needs a whole number >= 0, got "-1"/],
      ['--train-cpu-steps=2.5', /--train-cpu-steps needs a whole number >= 0, got "2.5"/],
      ['--train-cpu-seq=0', /--train-cpu-seq needs a positive number/],
      ['--train-cpu-seq=1', /--train-cpu-seq needs at least 2 tokens/],
      ['--grpo-generations=1', /--grpo-generations must be at least 2/],
      ['--shapes=5', /--shapes takes indices 0\.\.4, got 5/],
      ['--out', /--out needs a file name/],
      ['--lora-targets=,', /--lora-targets needs a comma-separated list/],
      ['--decode-tokens=1', /--decode-tokens: "1" is not a whole number >= 2/],
      ['--decode-batch=0', /--decode-batch: "0" is not a whole number >= 1/],
      ['--decode-batch=1,,8', /--decode-batch: "" is not a whole number >= 1/],
      ['--decode-models=qwen', /--decode-models: unknown model qwen/],
      ['--bogus', /unknown option --bogus/],
    ];
    for (const [arg, message] of bad) {
      expect(() => parse(arg), arg).toThrow(ArgsError);
      expect(() => parse(arg), arg).toThrow(message);
    }
  });

  it('gives the watchdog time for every section that runs', () => {
    expect(watchdogSeconds(options())).toBe(1800);
    // 2 models x 3 objectives x 900 + 2 x 1800 (eval) + 2 x 1200 (grpo) + 2 x 900 (decode)
    expect(watchdogSeconds(options('--full'))).toBe(1800 + 5400 + 3600 + 2400 + 1800);
    expect(watchdogSeconds(options('--train-models=stories260K', '--train-objectives=sft'))).toBe(1800 + 900);
  });
});
