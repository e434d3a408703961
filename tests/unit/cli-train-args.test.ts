// `tunelab train`'s --force and --resume flags (src/cli/options/train.ts): --force is a switch, and the two
// contradict each other (one continues the run in --out, the other deletes it).

import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args';
import { parseTrainArgs } from '../../src/cli/options/train';

const BASE = ['--model', 'm', '--data', 'train.jsonl', '--out', 'runs/a'];

describe('tunelab train --force / --resume', () => {
  it('--force is off by default and a switch', () => {
    expect(parseTrainArgs(BASE).force).toBe(false);
    expect(parseTrainArgs([...BASE, '--force']).force).toBe(true);
    expect(parseTrainArgs([...BASE, '--resume', 'runs/a/checkpoints/step-2']).resume).toBe('runs/a/checkpoints/step-2');
  });

  it('--force with --resume is refused', () => {
    expect(() => parseTrainArgs([...BASE, '--force', '--resume', 'runs/a/checkpoints/step-2'])).toThrow(UsageError);
    expect(() => parseTrainArgs([...BASE, '--force', '--resume', 'runs/a/checkpoints/step-2'])).toThrow('--resume continues the run in --out and --force deletes it: give one of them');
  });
});
