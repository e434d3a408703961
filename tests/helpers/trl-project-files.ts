// The generated Python read back for the TRL export tests (tests/unit/trl-export*.test.ts): python3 when it is
// here (a printed reason when not, never a silent pass), a reader of the `keyword=value,` lines of train.py's
// config calls, the project written to disk, and the project's rewards called as TRL's GRPOTrainer calls them.

import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { readExportFile, type ExportFile } from '../../src/engine/export/export-file';
import { trlProjectFiles, type TrlProjectSpec } from '../../src/engine/export/trl/trl-project';
import { writeExportFiles } from '../../src/node/write-export';

// ---- python3, or a printed reason ----

const PYTHON = spawnSync('python3', ['--version'], { encoding: 'utf8' });
const HAS_PYTHON = !PYTHON.error && PYTHON.status === 0;
export function python(args: string[], options: { cwd?: string; input?: string } = {}): { status: number; stdout: string; stderr: string } | undefined {
  if (!HAS_PYTHON) {
    console.warn(`SKIPPED python3 check (${args.join(' ')}): python3 is not available here (${PYTHON.error?.message ?? PYTHON.stderr})`);
    return undefined;
  }
  const r = spawnSync('python3', args, { encoding: 'utf8', ...options });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// ---- reading keyword=value lines of the generated Python back ----

export type Py = string | number | boolean | null | Py[] | { name: string } | { call: string; args: Py[] };

/** One Python literal (the subset the export writes) starting at `at`. */
function parsePy(text: string, at: number): { value: Py; end: number } {
  const ws = () => {
    while (text[at] === ' ') at++;
  };
  ws();
  const c = text[at];
  if (c === '"') {
    let out = '';
    at++;
    while (text[at] !== '"') {
      if (text[at] !== '\\') {
        out += text[at++];
        continue;
      }
      const e = text[at + 1];
      const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"' };
      if (e in simple) (out += simple[e]), (at += 2);
      else {
        const width = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        out += String.fromCodePoint(parseInt(text.slice(at + 2, at + 2 + width), 16));
        at += 2 + width;
      }
    }
    return { value: out, end: at + 1 };
  }
  if (c === '[') {
    const items: Py[] = [];
    at++;
    ws();
    while (text[at] !== ']') {
      const item = parsePy(text, at);
      items.push(item.value);
      at = item.end;
      ws();
      if (text[at] === ',') at++;
      ws();
    }
    return { value: items, end: at + 1 };
  }
  const number = /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?/i.exec(text.slice(at));
  if (number) return { value: Number(number[0]), end: at + number[0].length };
  const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at))![0];
  at += word.length;
  if (word === 'True' || word === 'False') return { value: word === 'True', end: at };
  if (word === 'None') return { value: null, end: at };
  if (text[at] !== '(') return { value: { name: word }, end: at };
  const args: Py[] = [];
  at++;
  while (text[at] !== ')') {
    const arg = parsePy(text, at);
    args.push(arg.value);
    at = arg.end;
    if (text[at] === ',') at++;
    ws();
  }
  return { value: { call: word, args }, end: at + 1 };
}

/** The keyword arguments of `VARIABLE = Callee(` ... `)`, one `key=value,` a line (comments after). */
export function readCall(source: string, variable: string): { callee: string; args: Record<string, Py> } {
  const lines = source.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${variable} = `));
  expect(start, `${variable} = ... in the script`).toBeGreaterThanOrEqual(0);
  const callee = /= ([\w.]+)\($/.exec(lines[start])![1];
  const args: Record<string, Py> = {};
  for (let i = start + 1; lines[i] !== ')'; i++) {
    const key = /^ {4}(\w+)=/.exec(lines[i]);
    if (!key) throw new Error(`line ${i + 1} is not key=value: ${lines[i]}`);
    const { value, end } = parsePy(lines[i], key[0].length);
    if (!/^,(\s+#.*)?$/.test(lines[i].slice(end))) throw new Error(`line ${i + 1}: unexpected text after the value: ${lines[i]}`);
    expect(key[1] in args, `${key[1]} given twice`).toBe(false);
    args[key[1]] = value;
  }
  return { callee, args };
}

export async function exportProject(root: string, spec: TrlProjectSpec, name: string): Promise<{ dir: string; files: Map<string, string> }> {
  const list: ExportFile[] = trlProjectFiles(spec);
  const dir = join(root, name);
  await writeExportFiles(dir, list);
  const files = new Map<string, string>();
  for (const f of list) files.set(f.path, new TextDecoder().decode(await readExportFile(f)));
  return { dir, files };
}

export function compiles(dir: string, files: Map<string, string>): void {
  const sources = [...files.keys()].filter((p) => p.endsWith('.py'));
  const r = python(['-m', 'py_compile', ...sources], { cwd: dir });
  if (r) expect(r.status, `py_compile ${sources.join(' ')}: ${r.stderr}`).toBe(0);
}

export function jsonlRows(text: string | undefined): Record<string, unknown>[] {
  expect(text, 'the dataset file').toBeDefined();
  return text!.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Every reward of the project's rewards.py on each completion, called as TRL calls them (the row's columns as keyword lists). */
export async function pythonScores(dir: string, cases: { completion: string; row: Record<string, unknown> }[]): Promise<Record<string, number[]> | undefined> {
  await writeFile(join(dir, 'cases.json'), JSON.stringify(cases.map(({ completion, row }) => ({ completion, row }))));
  await writeFile(
    join(dir, 'score.py'),
    [
      'import json, sys',
      'import rewards',
      'cases = json.load(open("cases.json", encoding="utf-8"))',
      'keys = sorted({k for c in cases for k in c["row"] if k != "prompt"})',
      'columns = {k: [c["row"].get(k) for c in cases] for k in keys}',
      'rewards.check_rewards()',
      'out = {f.__name__: f(prompts=[c["row"]["prompt"] for c in cases], completions=[c["completion"] for c in cases], completion_ids=None, trainer_state=None, log_extra=None, log_metric=None, **columns) for f in rewards.REWARD_FUNCS}',
      'print(json.dumps(out))',
    ].join('\n'),
  );
  const r = python(['score.py'], { cwd: dir });
  if (!r) return undefined;
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, number[]>;
}
