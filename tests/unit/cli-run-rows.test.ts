// metrics.jsonl / rollouts.jsonl on --resume (src/cli/run-rows.ts): the rows up to the checkpoint's step
// are kept; a last row cut short by a crash mid-write is dropped with a warning naming the file and line;
// any other bad line is refused naming the file and line.

import { describe, expect, it } from 'vitest';
import { RunLogError, rowsUpToStep } from '../../src/cli/run-rows';

const FILE = 'runs/x/metrics.jsonl';
const row = (step: number, extra: Record<string, unknown> = {}) => JSON.stringify({ step, loss: 2 - step / 10, ...extra });
const jsonl = (...lines: string[]) => lines.map((l) => `${l}\n`).join('');

function refusal(text: string, lastStep = 10): RunLogError {
  try {
    rowsUpToStep(text, FILE, lastStep);
  } catch (err) {
    expect(err).toBeInstanceOf(RunLogError);
    return err as RunLogError;
  }
  return expect.fail('expected a RunLogError');
}

describe('rows kept on resume', () => {
  it('keeps the rows up to the step (evaluation rows and step 0 included) and drops the later ones', () => {
    const text = jsonl(JSON.stringify({ step: 0, eval_loss: 3 }), row(1), row(2), JSON.stringify({ step: 2, eval_loss: 2.5 }), row(3), row(4));
    expect(rowsUpToStep(text, FILE, 2)).toEqual({ text: jsonl(JSON.stringify({ step: 0, eval_loss: 3 }), row(1), row(2), JSON.stringify({ step: 2, eval_loss: 2.5 })) });
  });

  it('an empty file and blank lines are fine', () => {
    expect(rowsUpToStep('', FILE, 5)).toEqual({ text: '' });
    expect(rowsUpToStep(`\n${row(1)}\n\n${row(2)}\n  \n`, FILE, 5)).toEqual({ text: jsonl(row(1), row(2)) });
  });

  it('a last row complete but for its newline is kept (and terminated)', () => {
    expect(rowsUpToStep(`${row(1)}\n${row(2)}`, FILE, 5)).toEqual({ text: jsonl(row(1), row(2)) });
  });
});

describe('a crash mid-write', () => {
  // What appendFile leaves when the process dies inside the write of step 3's row: a prefix, no newline.
  const full = row(3, { grad_norm: 0.5, tokens: 512, tokens_per_s: 1234.5 });

  it.each([5, 17, full.length - 1])('the last row cut after %i characters is dropped, with a warning naming the file and line', (cut) => {
    const text = jsonl(row(1), row(2)) + full.slice(0, cut);
    const kept = rowsUpToStep(text, FILE, 2);
    expect(kept.text).toBe(jsonl(row(1), row(2)));
    expect(kept.warning).toMatch(/^runs\/x\/metrics\.jsonl, line 3: dropped a row cut short \(the run stopped while writing it\): "/);
  });

  it('a cut row is dropped even when its step is at or before the checkpoint (it never finished)', () => {
    const kept = rowsUpToStep(jsonl(row(1)) + row(2).slice(0, 10), FILE, 7);
    expect(kept.text).toBe(jsonl(row(1)));
    expect(kept.warning).toContain('line 2');
  });

  it('zero bytes a filesystem leaves after a power cut at the end of the file are dropped the same way', () => {
    const kept = rowsUpToStep(jsonl(row(1)) + '\0'.repeat(64), FILE, 7);
    expect(kept.text).toBe(jsonl(row(1)));
    expect(kept.warning).toContain(`${FILE}, line 2: dropped a row cut short`);
  });
});

describe('damage a crash cannot explain is refused, naming the file and the line', () => {
  it('a bad line before the last one', () => {
    const err = refusal(jsonl(row(1), '{"step": 2, "loss": 1.', row(3)));
    expect(err.message).toMatch(/^runs\/x\/metrics\.jsonl, line 2: is not valid JSON \(.*\); only a last line cut short by a crash can be dropped, so the log is damaged \(mend or delete the line, or start over with --force\)$/);
    expect(err.line).toBe(2);
  });

  it('a cut row followed by a newline (written over, not cut)', () => {
    expect(refusal(jsonl(row(1), row(2).slice(0, 9))).message).toMatch(/^runs\/x\/metrics\.jsonl, line 2: is not valid JSON/);
  });

  it.each([
    ['[1,2,3]', 'is not a JSON object'],
    ['"step 3"', 'is not a JSON object'],
    ['{"loss": 1.5}', 'has no step (a whole number of at least 0): "step" is missing'],
    ['{"step": "3"}', 'has no step (a whole number of at least 0): "step" is "3"'],
    ['{"step": -1}', 'has no step (a whole number of at least 0): "step" is -1'],
    ['{"step": 2.5}', 'has no step (a whole number of at least 0): "step" is 2.5'],
  ])('%s in the middle', (line, problem) => {
    expect(refusal(jsonl(row(1), line, row(3))).message).toBe(
      `${FILE}, line 2: ${problem}; only a last line cut short by a crash can be dropped, so the log is damaged (mend or delete the line, or start over with --force)`,
    );
  });

  it('a complete last line without a step is not a cut row: refused too', () => {
    expect(refusal(jsonl(row(1)) + '{"loss": 1}').message).toMatch(/^runs\/x\/metrics\.jsonl, line 2: has no step/);
  });
});
