// A reward module (CLI --reward-module FILE): an ES module whose named exports are reward functions
// (completion, example) => number. The sandbox runs scripts, not modules, and has no imports, so the module
// is turned into a script here, statically: comments are blanked (the sandbox refuses any code containing
// the word "import"), `export` keywords are blanked and `export { ... }` lists removed, with every line kept
// where it was. Supported exports: `export function f`, `export const|let|var f = ...` (several
// declarators too) and `export { a, b as c }`. Imports (static or import()), re-exports, default, class,
// async and generator exports are refused with the file and line. Pure: the CLI reads the file
// (src/cli/reward-module.ts) and the engine parses it.

import { scanJavaScript, ScanError, type Token } from './js-scan';
import { RewardSpecError } from './reward-types';

export interface RewardModuleExport {
  /** The exported name: the reward's name. */
  name: string;
  /** The module's own binding behind it. */
  local: string;
  line: number;
}

export interface ParsedRewardModule {
  file: string;
  exports: RewardModuleExport[];
  /** The module as a script (same lines), for the sandbox. */
  script: string;
}

/** The runtime's pattern (sandbox-runtime/run-job.js): the word import not after a ".". */
const SANDBOX_IMPORT_WORD = /(^|[^.\w$])import(?![\w$])/;
/** Where a multi-declarator `export const a = 1, b = 2` certainly ended. */
const STATEMENT_WORDS = new Set(['export', 'import', 'function', 'const', 'let', 'var', 'class', 'if', 'for', 'while', 'do', 'switch', 'try', 'return', 'throw']);
const OPENERS = new Set(['(', '[', '{', '${']);
const CLOSERS = new Set([')', ']', '}']);

function blank(chars: string[], start: number, end: number): void {
  for (let k = start; k < end; k++) if (chars[k] !== '\n' && chars[k] !== '\r') chars[k] = ' ';
}

export function parseRewardModule(source: string, file: string): ParsedRewardModule {
  const fail = (line: number, message: string): never => {
    throw new RewardSpecError(`${file}:${line}: ${message}`);
  };
  let tokens: Token[];
  let comments: [number, number][];
  try {
    ({ tokens, comments } = scanJavaScript(source));
  } catch (err) {
    if (err instanceof ScanError) fail(err.line, err.message);
    throw err;
  }
  const chars = source.split(''); // UTF-16 units, as the token offsets count
  for (const [start, end] of comments) blank(chars, start, end);

  const exports: RewardModuleExport[] = [];
  const addExport = (name: string, local: string, line: number): void => {
    if (exports.some((e) => e.name === name)) fail(line, `"${name}" is exported twice`);
    exports.push({ name, local, line });
  };
  const wordAt = (k: number): string | undefined => (tokens[k]?.type === 'word' ? tokens[k].text : undefined);
  const isPunct = (k: number, text: string): boolean => tokens[k]?.type === 'punct' && tokens[k].text === text;

  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const afterDot = isPunct(i - 1, '.');
    if (token.type === 'punct') {
      if (OPENERS.has(token.text)) depth++;
      else if (CLOSERS.has(token.text)) depth--;
      continue;
    }
    if (token.type === 'string' || token.type === 'template' || token.type === 'regex') {
      if (SANDBOX_IMPORT_WORD.test(token.text)) {
        fail(token.line, `the word "import" appears in a ${token.type === 'regex' ? 'regular expression' : 'string'}: the sandbox refuses any code that contains it (it cannot load modules); spell it another way, e.g. 'imp' + 'ort'`);
      }
      continue;
    }
    if (token.type !== 'word' || afterDot) continue;
    if (token.text === 'import') {
      if (isPunct(i + 1, '(')) fail(token.line, 'import() is not allowed: rewards run in a sandbox with no modules or network; put everything a reward needs in this file');
      if (isPunct(i + 1, '.')) fail(token.line, 'import.meta is not allowed: rewards run in a sandbox with no modules');
      fail(token.line, 'import statements are not allowed: rewards run in a sandbox with no modules or network; put everything a reward needs in this file');
    }
    if (token.text !== 'export' || depth !== 0) continue;
    const next = wordAt(i + 1);
    if (next === 'function') {
      if (isPunct(i + 2, '*')) fail(token.line, 'a generator function cannot be a reward: export a function that returns a number');
      const name = wordAt(i + 2) ?? fail(token.line, 'export function needs a name');
      addExport(name, name, token.line);
      blank(chars, token.start, token.end);
    } else if (next === 'const' || next === 'let' || next === 'var') {
      const names = declaredNames(i + 2);
      for (const name of names) addExport(name, name, token.line);
      blank(chars, token.start, token.end);
    } else if (isPunct(i + 1, '{')) {
      let k = i + 2;
      while (!isPunct(k, '}')) {
        const local = wordAt(k) ?? fail(tokens[k]?.line ?? token.line, 'export { ... } lists names: export { a, b as c }');
        let name = local;
        k++;
        if (wordAt(k) === 'as') {
          name = wordAt(k + 1) ?? fail(tokens[k].line, `"as" needs a name after it`);
          k += 2;
        }
        if (name === 'default') fail(token.line, 'a default export has no name to give the reward: export it by name (export { f })');
        addExport(name, local, token.line);
        if (isPunct(k, ',')) k++;
        else if (!isPunct(k, '}')) fail(tokens[k]?.line ?? token.line, 'export { ... } lists names separated by commas');
      }
      if (wordAt(k + 1) === 'from') fail(token.line, 're-exports (export ... from) load another module, which the sandbox cannot: put the code in this file');
      const end = isPunct(k + 1, ';') ? tokens[k + 1].end : tokens[k].end;
      blank(chars, token.start, end);
      i = k;
    } else if (next === 'default') {
      fail(token.line, 'export default is not supported: a reward is named after its export (export function name(completion, example) { ... })');
    } else if (next === 'async') {
      fail(token.line, 'an async function cannot be a reward: a reward returns a number synchronously');
    } else if (next === 'class') {
      fail(token.line, 'a class cannot be a reward: export a function (completion, example) => number');
    } else if (isPunct(i + 1, '*')) {
      fail(token.line, 're-exports (export * from) load another module, which the sandbox cannot');
    } else {
      fail(token.line, 'unsupported export: use export function f, export const f = ..., or export { a, b }');
    }
  }
  if (exports.length === 0) throw new RewardSpecError(`${file}: exports no reward function (export function name(completion, example) { return ...; })`);
  return { file, exports, script: chars.join('') };

  /** Names of `const a = ..., b = ...` starting at the first declarator's token. */
  function declaredNames(first: number): string[] {
    const line = tokens[first - 2].line;
    const head = wordAt(first);
    if (head === undefined) fail(line, 'export const/let/var must declare a plain name (no destructuring): export const f = ...');
    const names = [head!];
    let d = 0;
    for (let k = first + 1; k < tokens.length; k++) {
      const t = tokens[k];
      if (t.type === 'punct' && OPENERS.has(t.text)) d++;
      else if (t.type === 'punct' && CLOSERS.has(t.text)) d--;
      if (d < 0 || (d === 0 && isPunct(k, ';')) || (d === 0 && t.type === 'word' && STATEMENT_WORDS.has(t.text) && !isPunct(k - 1, '.'))) break;
      if (d === 0 && isPunct(k, ',')) {
        const name = wordAt(k + 1) ?? fail(t.line, 'export const/let/var must declare plain names (no destructuring)');
        names.push(name);
      }
    }
    return names;
  }
}

/**
 * The statement binding `binding` to the module's `local` (one export): the module's script runs inside a
 * strict function, as a module's code is strict, so its names stay its own.
 */
export function moduleExportDefinition(module: ParsedRewardModule, local: string, binding: string): string {
  return [`const ${binding} = (function () {`, "'use strict';", module.script, `return ${local};`, '})();'].join('\n');
}
