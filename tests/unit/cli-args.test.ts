import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args';
import { oneLineError, exitStatusOf, EXIT_USAGE, EXIT_FAILURE } from '../../src/cli/errors';
import { main } from '../../src/cli/main';
import { parseGenerateArgs } from '../../src/cli/options/generate';
import { parseInfoArgs } from '../../src/cli/options/info';
import { parseLogitsArgs } from '../../src/cli/options/logits';
import { parseExportArgs } from '../../src/cli/options/export';
import { Progress } from '../../src/cli/progress';
import type { TextSink } from '../../src/cli/streams';
import { ModelFormatError } from '../../src/engine/model/errors';

const M = ['--model', 'some/model'];

/** The UsageError message parse() throws; fails when it does not throw one. */
function usageError(parse: () => unknown): string {
  try {
    parse();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  return expect.fail('expected a UsageError');
}

class Capture implements TextSink {
  text = '';
  constructor(readonly isTTY = false) {}
  write(t: string) {
    this.text += t;
  }
}

describe('tunelab generate flags', () => {
  it('reads every flag, in both --flag value and --flag=value forms', () => {
    const a = parseGenerateArgs([
      '--model=dir/x', '--prompt', 'Once upon', '--chat', '--max-new-tokens', '40', '--temperature=0.7',
      '--top-k', '20', '--top-p', '0.9', '--repetition-penalty', '1.1', '--seed', '42',
      '--stop', '\n\n', '--stop=The end', '--weights', 'f32', '--backend', 'cpu',
      '--revision', 'v1', '--hub-endpoint', 'http://127.0.0.1:9/', '--cache-dir', '/tmp/c', '--verbose', '--quiet',
    ]);
    expect(a).toEqual({
      model: 'dir/x', prompt: 'Once upon', chat: true, maxNewTokens: 40, temperature: 0.7, topK: 20, topP: 0.9,
      repetitionPenalty: 1.1, seed: 42, stop: ['\n\n', 'The end'], weights: 'f32', backend: 'cpu', revision: 'v1',
      hubEndpoint: 'http://127.0.0.1:9/', cacheDir: '/tmp/c', verbose: true, quiet: true,
      promptsFile: undefined, out: undefined, batch: 16,
    });
  });

  it('--prompts-file with --out and --batch; they exclude --prompt and need each other', () => {
    expect(parseGenerateArgs([...M, '--prompts-file', 'p.jsonl', '--out', 'o.jsonl', '--batch', '4'])).toMatchObject({ promptsFile: 'p.jsonl', out: 'o.jsonl', batch: 4 });
    expect(() => parseGenerateArgs([...M, '--prompts-file', 'p.jsonl', '--prompt', 'x'])).toThrow('--prompt and --prompts-file exclude each other');
    expect(() => parseGenerateArgs([...M, '--out', 'o.jsonl'])).toThrow('--out and --batch go with --prompts-file');
    expect(() => parseGenerateArgs([...M, '--prompts-file', 'p.jsonl', '--batch', '0'])).toThrow(/--batch/);
  });

  it('defaults: empty prompt (BOS alone), GPU, f16 weights, sampling left to the model files', () => {
    const a = parseGenerateArgs(M);
    expect(a).toMatchObject({ prompt: '', chat: false, backend: 'gpu', weights: 'f16', stop: [], verbose: false, quiet: false });
    expect(a.maxNewTokens).toBeUndefined();
    expect(a.temperature).toBeUndefined();
    expect(a.topP).toBeUndefined();
  });

  it('keeps a prompt that starts with a dash, and an explicitly empty prompt', () => {
    expect(parseGenerateArgs([...M, '--prompt', '-1 apples']).prompt).toBe('-1 apples');
    expect(parseGenerateArgs([...M, '--prompt=--x']).prompt).toBe('--x');
    expect(parseGenerateArgs([...M, '--prompt', '']).prompt).toBe('');
    expect(parseGenerateArgs([...M, '--temperature', '0']).temperature).toBe(0);
    expect(parseGenerateArgs([...M, '--top-p', '1']).topP).toBe(1);
  });

  it.each([
    [['--max-new-tokens', '-5'], '--max-new-tokens must be an integer >= 1, got -5'],
    [['--max-new-tokens', '0'], '--max-new-tokens must be an integer >= 1, got 0'],
    [['--max-new-tokens', 'ten'], '--max-new-tokens must be an integer >= 1, got "ten"'],
    [['--max-new-tokens', '4.5'], '--max-new-tokens must be an integer >= 1, got "4.5"'],
    [['--temperature', 'hot'], '--temperature must be a number >= 0, got "hot"'],
    [['--temperature', '-0.1'], '--temperature must be a number >= 0, got -0.1'],
    [['--top-p', '1.5'], '--top-p must be a number in (0, 1], got 1.5'],
    [['--top-p', '0'], '--top-p must be a number in (0, 1], got 0'],
    [['--top-p', ''], '--top-p must be a number in (0, 1], got ""'],
    [['--top-k', '0'], '--top-k must be an integer >= 1, got 0'],
    [['--repetition-penalty', '0'], '--repetition-penalty must be a number > 0, got 0'],
    [['--seed', '-1'], '--seed must be an integer in [0, 4294967295], got -1'],
    [['--seed', '1e3'], '--seed must be an integer in [0, 4294967295], got "1e3"'],
    [['--weights', 'bf16'], '--weights must be one of f16, f32, got "bf16"'],
    [['--backend', 'tpu'], '--backend must be one of gpu, cpu, got "tpu"'],
    [['--stop', ''], '--stop needs a non-empty string'],
    [['--max-new-tokens'], '--max-new-tokens needs a value (N)'],
    [['--prompt', '--chat'], '--prompt needs a value (TEXT)'],
    [['--top-k', '3', '--top-k', '4'], '--top-k is given more than once'],
    [['--chat=yes'], '--chat is a switch and takes no value (got "--chat=yes")'],
    [['--temp', '0'], 'unknown flag --temp for "tunelab generate" (see tunelab generate --help)'],
    [['hello'], 'unexpected argument "hello" (every input is a named flag; see tunelab generate --help)'],
  ])('%j is refused: %s', (extra, message) => {
    expect(usageError(() => parseGenerateArgs([...M, ...extra]))).toBe(message);
  });

  it('needs --model', () => {
    expect(usageError(() => parseGenerateArgs(['--prompt', 'hi']))).toMatch(/^tunelab generate needs --model \(e\.g\. --model /);
    expect(usageError(() => parseGenerateArgs(['--model', '']))).toMatch(/needs --model/);
  });
});

describe('tunelab logits flags', () => {
  it('reads --ids as integers and --text as text', () => {
    const ids = parseLogitsArgs([...M, '--ids', '1, 2,30', '--out', 'x.safetensors']);
    expect(ids.input).toEqual({ kind: 'ids', ids: [1, 2, 30] });
    expect(ids.out).toBe('x.safetensors');
    expect(parseLogitsArgs([...M, '--text', 'Once', '--out', 'o']).input).toEqual({ kind: 'text', text: 'Once' });
  });

  it.each([
    [['--out', 'o'], 'tunelab logits needs exactly one of --text TEXT or --ids 1,2,3'],
    [['--text', 'a', '--ids', '1', '--out', 'o'], 'tunelab logits needs exactly one of --text TEXT or --ids 1,2,3'],
    [['--ids', '1,,2', '--out', 'o'], '--ids must be a comma-separated list of integers like 1,2,3, got "1,,2"'],
    [['--ids', '1,-2', '--out', 'o'], '--ids must be an integer >= 0, got -2'],
    [['--ids', '1,x', '--out', 'o'], '--ids must be an integer >= 0, got "x"'],
    [['--ids', '1'], 'tunelab logits needs --out (e.g. --out logits.safetensors)'],
    [['--ids', '1', '--out', 'o', '--prompt', 'x'], 'unknown flag --prompt for "tunelab logits" (see tunelab logits --help)'],
  ])('%j is refused: %s', (extra, message) => {
    expect(usageError(() => parseLogitsArgs([...M, ...extra]))).toBe(message);
  });
});

describe('tunelab export flags', () => {
  it('reads hf and onnx exports with the model, adapter, dtype and shard size', () => {
    const hf = parseExportArgs(['--format', 'hf', '--model', 'm', '--adapter', 'a', '--out', 'o', '--dtype', 'bf16', '--max-shard-size', '0.5']);
    expect(hf).toMatchObject({ format: 'hf', out: 'o', dtype: 'bf16', maxShardBytes: 5e8, model: { model: 'm', adapter: 'a' } });
    expect(parseExportArgs(['--format', 'onnx', '--model', 'm', '--out', 'o'])).toMatchObject({ format: 'onnx', dtype: 'f32', maxShardBytes: undefined });
    expect(parseExportArgs(['--format', 'trl', '--run', 'r', '--out', 'o'])).toMatchObject({ format: 'trl', run: 'r', out: 'o' });
  });

  it.each([
    [[], /needs --format hf, onnx or trl/],
    [['--format', 'gguf', '--out', 'o'], /--format/],
    [['--format', 'hf', '--model', 'm'], /needs --out/],
    [['--format', 'trl', '--out', 'o'], /needs --run/],
    [['--format', 'trl', '--run', 'r', '--out', 'o', '--adapter', 'a'], /--adapter does not apply to --format trl/],
    [['--format', 'hf', '--model', 'm', '--out', 'o', '--run', 'r'], /--run applies to --format trl only/],
    [['--format', 'onnx', '--model', 'm', '--out', 'o', '--max-shard-size', '1'], /--max-shard-size applies to --format hf/],
    [['--format', 'hf', '--model', 'm', '--out', 'o', '--max-shard-size', '0'], /--max-shard-size/],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseExportArgs(argv)).toThrow(UsageError);
    expect(() => parseExportArgs(argv)).toThrow(message);
  });
});

describe('tunelab info flags', () => {
  it('reads --json and refuses model flags', () => {
    expect(parseInfoArgs(['--json'])).toEqual({ json: true, verbose: false, quiet: false });
    expect(parseInfoArgs([])).toMatchObject({ json: false });
    expect(usageError(() => parseInfoArgs(['--model', 'x']))).toBe('unknown flag --model for "tunelab info" (see tunelab info --help)');
  });
});

describe('tunelab main', () => {
  async function run(argv: string[]) {
    const io = { stdout: new Capture(), stderr: new Capture() };
    const status = await main(argv, io);
    return { status, out: io.stdout.text, err: io.stderr.text };
  }

  it('prints help on stdout for the program and for each command', async () => {
    const top = await run(['--help']);
    expect(top.status).toBe(0);
    expect(top.out).toMatch(/^usage: tunelab <command>/);
    for (const cmd of ['info', 'generate', 'logits']) expect(top.out).toContain(`  ${cmd} `);
    const gen = await run(['generate', '--help']);
    expect(gen).toMatchObject({ status: 0, err: '' });
    for (const flag of ['--model', '--prompt', '--chat', '--max-new-tokens', '--temperature', '--top-k', '--top-p', '--repetition-penalty', '--seed', '--stop', '--weights', '--backend', '--revision', '--hub-endpoint', '--verbose']) {
      expect(gen.out).toContain(flag);
    }
    expect((await run(['logits', '-h'])).out).toMatch(/^usage: tunelab logits .*--out FILE\.safetensors/);
    expect((await run(['help', 'info'])).out).toMatch(/^usage: tunelab info \[--json\]/);
  });

  it('a bad command line: one stderr line, nothing on stdout, status 2', async () => {
    const r = await run(['generate', '--model', 'x', '--top-p', '2']);
    expect(r).toEqual({ status: 2, out: '', err: 'tunelab: --top-p must be a number in (0, 1], got 2\n' });
    const unknown = await run(['finetune']);
    expect(unknown.status).toBe(2);
    expect(unknown.err).toBe('tunelab: unknown command "finetune" (commands: info, tune, generate, logits, train, eval, export, judge; see tunelab --help)\n');
  });

  it('--verbose adds the stack after the one line', async () => {
    const r = await run(['generate', '--verbose', '--model', 'x', '--seed', 'abc']);
    const lines = r.err.trimEnd().split('\n');
    expect(lines[0]).toBe('tunelab: --seed must be an integer in [0, 4294967295], got "abc"');
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.slice(1).join('\n')).toMatch(/UsageError.*\n\s+at /);
  });
});

describe('error lines and progress', () => {
  it('joins a multi-line message into one line and maps the exit status', () => {
    const err = new ModelFormatError('config.json', 'is not valid JSON (Unexpected token\n  at position 3)');
    expect(oneLineError(err)).toBe('tunelab: config.json: is not valid JSON (Unexpected token at position 3)');
    expect(exitStatusOf(err)).toBe(EXIT_FAILURE);
    expect(exitStatusOf(new UsageError('x'))).toBe(EXIT_USAGE);
    expect(oneLineError('plain')).toBe('tunelab: plain');
  });

  it('prints a download on a pipe at 25, 50, 75, 100 percent, a small file once, cached files not at all', () => {
    const err = new Capture(false);
    const p = new Progress(err, false);
    p.download({ file: 'config.json', loaded: 10, total: 10, cached: true });
    for (let loaded = 0; loaded <= 4_000_000; loaded += 100_000) p.download({ file: 'model.safetensors', loaded, total: 4_000_000, cached: false });
    p.download({ file: 'config.json', loaded: 0, total: 627, cached: false });
    p.download({ file: 'config.json', loaded: 627, total: 627, cached: false });
    expect(err.text.trimEnd().split('\n')).toEqual([
      'downloading model.safetensors: 1.00 MB of 4.00 MB (25%)',
      'downloading model.safetensors: 2.00 MB of 4.00 MB (50%)',
      'downloading model.safetensors: 3.00 MB of 4.00 MB (75%)',
      'downloading model.safetensors: 4.00 MB of 4.00 MB (100%)',
      'downloading config.json: 627 B of 627 B (100%)',
    ]);
  });

  it('redraws one terminal line, ends it when the file is done, and --quiet prints nothing', () => {
    let t = 0;
    const tty = new Capture(true);
    const p = new Progress(tty, false, () => t);
    for (let loaded = 0; loaded <= 1000; loaded += 100, t += 30) p.download({ file: 'w', loaded, total: 1000, cached: false });
    p.line('done');
    const draws = tty.text.split('\r\x1b[K').slice(1);
    expect(draws.length).toBeGreaterThan(2);
    expect(draws.length).toBeLessThan(11); // throttled
    expect(draws.at(-1)).toBe('downloading w: 1.00 kB of 1.00 kB (100%)\ndone\n');
    const quiet = new Capture(false);
    const q = new Progress(quiet, true);
    q.download({ file: 'w', loaded: 1, total: 2, cached: false });
    q.line('x');
    expect(quiet.text).toBe('');
  });
});
