// The rows of a run's JSONL logs (metrics.jsonl, rollouts.jsonl) that a resumed run keeps: those up to the
// checkpoint's step. Each row is written with one append of `JSON + "\n"`, so a crash mid-write leaves a
// last line without its newline: that line is dropped with a warning. Any other line that is not a JSON
// object with a step is damage the run cannot explain, and is refused with its file and line.

/** Thrown for a line of a run's log that a resume cannot keep or safely drop. */
export class RunLogError extends Error {
  override readonly name = 'RunLogError';
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}, line ${line}: ${detail}`);
  }
}

export interface KeptRows {
  /** The kept lines, each ending in "\n". */
  text: string;
  /** Said to the user: a cut-off last line that was dropped. */
  warning?: string;
}

type Parsed = { step: number } | { problem: string; cut: boolean };

/** A row's step, or what is wrong with it (`cut`: not even JSON, as a row cut short is). */
function parseRow(line: string): Parsed {
  let row: unknown;
  try {
    row = JSON.parse(line);
  } catch (err) {
    return { problem: `is not valid JSON (${(err as Error).message})`, cut: true };
  }
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return { problem: 'is not a JSON object', cut: false };
  const step = (row as { step?: unknown }).step;
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
    return { problem: `has no step (a whole number of at least 0): "step" is ${JSON.stringify(step) ?? 'missing'}`, cut: false };
  }
  return { step };
}

const DAMAGED = 'only a last line cut short by a crash can be dropped, so the log is damaged (mend or delete the line, or start over with --force)';

/** The rows of `text` (the contents of `file`) whose step is at most `lastStep`. */
export function rowsUpToStep(text: string, file: string, lastStep: number): KeptRows {
  const lines = text.split('\n');
  // After the final "\n", split leaves '' (a complete file) or the unterminated rest of the last row.
  const unterminated = lines.pop() ?? '';
  const kept: string[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const row = parseRow(line);
    if ('problem' in row) throw new RunLogError(file, i + 1, `${row.problem}; ${DAMAGED}`);
    if (row.step <= lastStep) kept.push(`${line}\n`);
  });
  if (unterminated.trim() === '') return { text: kept.join('') };
  const row = parseRow(unterminated);
  const lineNumber = lines.length + 1;
  if ('problem' in row) {
    if (!row.cut) throw new RunLogError(file, lineNumber, `${row.problem}; ${DAMAGED}`);
    const shown = unterminated.length > 40 ? `${unterminated.slice(0, 40)}…` : unterminated;
    return { text: kept.join(''), warning: `${file}, line ${lineNumber}: dropped a row cut short (the run stopped while writing it): ${JSON.stringify(shown)}` };
  }
  // Complete but for its newline: kept, and terminated.
  if (row.step <= lastStep) kept.push(`${unterminated}\n`);
  return { text: kept.join('') };
}
