// `tunelab eval --suite arc-easy,FILE --limit 4` on stories260K, base and an adapter, as a user runs it (a
// child process on dawn.node, f32 weights): the lm-evaluation-harness results layout on stdout and in
// --json, the comparison with the base, and every item's choices and log-likelihoods (--log-samples) equal
// to the float64 CPU reference run through the same engine runner in this process.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBuiltinSuite } from '../../src/engine/eval/builtin-items';
import { runSuite, type LoadedSuite } from '../../src/engine/eval/run-suite';
import type { SuiteResult } from '../../src/engine/eval/run-types';
import { readSuiteFile } from '../../src/engine/eval/suite-file';
import { initAdapter, planAdapter, type LoraAdapter } from '../../src/engine/lora/adapter';
import { mergeAdapter } from '../../src/engine/lora/merge-weights';
import { CpuCausalLm } from '../../src/engine/model/cpu-model';
import { ModelTokenizer } from '../../src/engine/model/tokenizer';
import { Rng } from '../../src/engine/util/rng';
import { writeAdapterDir } from '../../src/node/adapter-files';
import { REPO, tunelab } from '../helpers/cli';
import { loadModel, STORIES260K_DIR, type LoadedModel } from '../helpers/tiny-models';

const DATASETS = resolve(REPO, '../shared/assets/datasets');

/** Hand-written items in the generic multiple-choice shape (query, choices, gold). */
const USER_ITEMS = [
  { query: 'Lily went to the park. She played with her', choices: ['ball', 'car engine', 'sky'], gold: 0 },
  { query: 'Once upon a time, there was a little', choices: ['girl', 'table', 'number'], gold: 0 },
  { query: 'The sun was warm and the', choices: ['bright', 'dog was happy', 'seven'], gold: 1 },
];

interface SampleLine {
  target: string;
  task: string;
  id: string;
  output: string;
  scores: Record<string, number>;
  detail: { logLikelihoods: number[]; pred: number; predNorm: number };
}

let work: string;
let stories: LoadedModel;
let adapter: LoraAdapter;
let userFile: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tunelab-eval-suites-'));
  stories = await loadModel(STORIES260K_DIR);
  const rng = new Rng(5);
  adapter = initAdapter(planAdapter('llama', stories.weights, { r: 4, alpha: 8, dropout: 0, targets: ['all-linear'], useRslora: false }), rng);
  // A B far from 0 so the adapter moves the log-likelihoods well past the tolerance.
  for (const m of adapter.modules) m.b.set(rng.normals(m.b.length, 0.3));
  await writeAdapterDir(join(work, 'adapter'), adapter, 'stories260K');
  userFile = join(work, 'user-mc.jsonl');
  await writeFile(userFile, USER_ITEMS.map((r) => JSON.stringify(r)).join('\n') + '\n');
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** The same suites as the CLI loads them, run on the float64 reference (base, or the adapter merged). */
async function cpuReference(withAdapter: boolean): Promise<SuiteResult[]> {
  const tokenizer = new ModelTokenizer(stories.files);
  const lm = new CpuCausalLm(stories.config, withAdapter ? mergeAdapter(stories.weights, adapter) : stories.weights);
  const arc = await loadBuiltinSuite('arc-easy', { limit: 4 }, (f) => readFile(join(f.root === 'assets' ? DATASETS : join(REPO, 'public/datasets'), f.path), 'utf8'));
  const user = readSuiteFile(USER_ITEMS.map((r) => JSON.stringify(r)).join('\n'), userFile, { id: userFile, limit: 4 }).suite;
  const results: SuiteResult[] = [];
  for (const suite of [arc, user] as LoadedSuite[]) results.push(await runSuite(suite.spec, suite.items, { lm, tokenizer }, { batchSize: 8, seed: 1234 }));
  return results;
}

describe('tunelab eval --suite', () => {
  it('base and adapter on arc-easy and a user file: harness layout, comparisons, per-item choices equal the CPU reference', async () => {
    const jsonPath = join(work, 'out.json');
    const samplesPath = join(work, 'samples.jsonl');
    const r = await tunelab([
      'eval', '--model', STORIES260K_DIR, '--adapter', join(work, 'adapter'), '--suite', `arc-easy,${userFile}`,
      '--limit', '4', '--weights', 'f32', '--json', jsonPath, '--log-samples', samplesPath, '--datasets', DATASETS,
    ]);
    expect(r.status, r.stderr).toBe(0);
    // Progress and the table on stderr; stdout is exactly the JSON, also written to --json.
    expect(r.stderr).toMatch(/base: arc_easy, 4 units/);
    expect(r.stderr).toMatch(/task\s+metric\s+base\s+.*adapter/);
    const out = JSON.parse(r.stdout);
    expect(JSON.parse(await readFile(jsonPath, 'utf8'))).toEqual(out);

    // lm-evaluation-harness's results layout for the base at the top level, the adapter's under "adapters".
    expect(Object.keys(out.results)).toEqual(['arc_easy', userFile]);
    expect(Object.keys(out.results.arc_easy).sort()).toEqual(['acc,none', 'acc_norm,none', 'acc_norm_stderr,none', 'acc_stderr,none', 'alias']);
    expect(out.results.arc_easy.alias).toBe('arc_easy');
    expect(out['n-shot'].arc_easy).toBe(0);
    expect(out['n-samples']).toEqual({ arc_easy: { original: 2376, effective: 4 }, [userFile]: { original: 3, effective: 3 } });
    expect(out.config).toEqual({ model: 'tunelab', model_args: `pretrained=${STORIES260K_DIR}` });
    expect(out.adapters).toHaveLength(1);
    expect(out.adapters[0].adapter).toBe(join(work, 'adapter'));
    expect(out.adapters[0].config.model_args).toBe(`pretrained=${STORIES260K_DIR},peft=${join(work, 'adapter')}`);
    const accComparison = out.comparisons.find((c: { task: string; metric: string }) => c.task === 'arc_easy' && c.metric === 'acc,none');
    expect(accComparison).toMatchObject({ target: 1, method: 'paired-items' });
    expect(accComparison.difference).toBeCloseTo(out.adapters[0].results.arc_easy['acc,none'] - out.results.arc_easy['acc,none'], 12);

    // Every item of both targets: the same choices as the float64 reference, log-likelihoods within 1e-4.
    const lines = (await readFile(samplesPath, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as SampleLine);
    expect(lines).toHaveLength(2 * (4 + 3));
    let worst = 0;
    for (const [label, withAdapter] of [['base', false], [join(work, 'adapter'), true]] as const) {
      const reference = await cpuReference(withAdapter);
      const mine = lines.filter((l) => l.target === label);
      const want = reference.flatMap((s) => s.items);
      expect(mine.map((l) => l.id)).toEqual(want.map((o) => o.id));
      mine.forEach((line, i) => {
        const ref = want[i].detail as SampleLine['detail'];
        expect([line.detail.pred, line.detail.predNorm], `${label} ${line.id}`).toEqual([ref.pred, ref.predNorm]);
        expect(line.scores).toEqual(want[i].scores);
        line.detail.logLikelihoods.forEach((ll, j) => {
          worst = Math.max(worst, Math.abs(ll - ref.logLikelihoods[j]) / Math.abs(ref.logLikelihoods[j]));
        });
      });
      const arcResults = label === 'base' ? out.results.arc_easy : out.adapters[0].results.arc_easy;
      expect(arcResults['acc,none']).toBeCloseTo(reference[0].scores['acc,none'].value, 12);
    }
    expect(worst).toBeLessThan(1e-4);
    // The adapter changed the log-likelihoods (so the comparison above compared two different models).
    const baseLl = lines.find((l) => l.target === 'base')!.detail.logLikelihoods[0];
    const adaptedLl = lines.find((l) => l.target !== 'base')!.detail.logLikelihoods[0];
    expect(Math.abs(adaptedLl - baseLl)).toBeGreaterThan(1e-2);
  }, 300_000);

  it('a suite that is neither built in nor a file is one stderr line and status 1', async () => {
    const r = await tunelab(['eval', '--model', STORIES260K_DIR, '--suite', 'arc-eazy', '--quiet']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    // The last line: a rebuild of the command line (sources changed) may print before it.
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^tunelab: .*arc-eazy: no such file \(not a built-in suite either: arc-easy, /);
    // A built-in benchmark without a datasets folder: Tunelab ships none, so it says how to name one.
    const env = { ...process.env };
    delete env.TUNELAB_DATASETS;
    const missing = await tunelab(['eval', '--model', STORIES260K_DIR, '--suite', 'boolq', '--quiet'], env);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim().split('\n').at(-1)).toMatch(/^tunelab: the built-in suite boolq reads its files from a datasets folder: give --datasets DIR or set TUNELAB_DATASETS/);
  });
});
