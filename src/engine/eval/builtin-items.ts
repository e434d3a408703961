// Loads a built-in suite: its spec (builtin-suites.ts) and its items from the files the caller reads (the
// CLI from disk, the studio from its served assets). A bad line in a shipped file is an error naming the
// file and line: those files are ours and must parse whole.

import { parseJsonl } from '../data/read-records';
import { builtinSuiteFiles, builtinSuiteSpec, type BuiltinDataFile, type BuiltinRunnableSuiteId, type BuiltinSuiteOptions } from './builtin-suites';
import type { LoadedSuite } from './run-suite';
import type { MultipleChoiceDoc } from './suite-types';
import { gsm8kItems, parseGsm8k } from './suites/gsm8k';
import { parseHellaswagPairs } from './suites/hellaswag';
import { parseHumanEvalJsonl } from './suites/humaneval';
import { multipleChoiceItems } from './suites/multiple-choice';
import { parseMultipleChoiceFile, type EvalLineError } from './suites/multiple-choice-shapes';
import { readRetentionItems } from './text-items';

export type ReadDataFile = (file: BuiltinDataFile) => Promise<string>;

function strict<T>(parsed: { errors: EvalLineError[] } & T, file: BuiltinDataFile): T {
  if (parsed.errors.length > 0) {
    throw new Error(`${parsed.errors[0].message} (${parsed.errors.length} bad line(s) in ${file.path})`);
  }
  return parsed;
}

async function multipleChoiceDocs(id: BuiltinRunnableSuiteId, files: BuiltinDataFile[], read: ReadDataFile): Promise<MultipleChoiceDoc[]> {
  if (id === 'hellaswag') {
    const [correct, wrong] = await Promise.all(files.map(read));
    return parseHellaswagPairs(correct, wrong, files[0].path);
  }
  const shape = id === 'boolq' ? 'boolq' : 'arc';
  return strict(parseMultipleChoiceFile(await read(files[0]), files[0].path, shape), files[0]).docs;
}

/**
 * The suite with all its items, few-shot contexts built as the spec says; the spec's limit (options.limit)
 * is applied by runSuite, so the item count stays the dataset's.
 */
export async function loadBuiltinSuite(id: BuiltinRunnableSuiteId, options: BuiltinSuiteOptions, read: ReadDataFile): Promise<LoadedSuite> {
  const spec = builtinSuiteSpec(id, options);
  const files = builtinSuiteFiles(id);
  switch (spec.kind) {
    case 'multiple-choice': {
      const docs = await multipleChoiceDocs(id, files.items, read);
      const { shots, seed } = spec.options.fewShot;
      const pool = shots > 0 && files.fewShotPool ? strict(parseMultipleChoiceFile(await read(files.fewShotPool), files.fewShotPool.path, 'arc'), files.fewShotPool).docs : undefined;
      return { spec, items: multipleChoiceItems(docs, { shots, seed, ...(pool ? { pool } : {}) }) };
    }
    case 'gsm8k': {
      const docs = strict(parseGsm8k(await read(files.items[0]), files.items[0].path), files.items[0]).docs;
      const { shots, seed } = spec.options.fewShot;
      const pool = shots > 0 && files.fewShotPool ? strict(parseGsm8k(await read(files.fewShotPool), files.fewShotPool.path), files.fewShotPool).docs : docs;
      return { spec, items: gsm8kItems(docs, { shots, seed, pool }) };
    }
    case 'humaneval': {
      const items = strict(parseHumanEvalJsonl(await read(files.items[0]), files.items[0].path), files.items[0]).items;
      return { spec, items };
    }
    case 'retention': {
      const text = await read(files.items[0]);
      const parsed = parseJsonl(text, files.items[0].path);
      if (parsed.errors.length > 0) throw new Error(`${files.items[0].path}:${parsed.errors[0].line}: ${parsed.errors[0].message}`);
      const items = strict(readRetentionItems(parsed.records, files.items[0].path), files.items[0]).items;
      return { spec, items };
    }
    default:
      throw new Error(`built-in suite ${id} has kind ${spec.kind}, which has no loader here`);
  }
}
