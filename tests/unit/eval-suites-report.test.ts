import { describe, expect, it } from 'vitest';
import type { BeforeAfterResult } from '../../src/engine/eval/before-after';
import { BUILTIN_NOTES } from '../../src/engine/eval/builtin-suites';
import { comparisonTable } from '../../src/cli/eval-suites-report';

/** A base-only result holding one suite's scores (the table reads only these fields). */
function baseOnly(suiteId: string): BeforeAfterResult {
  const suite = { suiteId, scores: { 'acc,none': { value: 0.5, stderr: 0.1 } } };
  return { targets: [{ label: 'base', suites: [suite] }], comparisons: [], forgetting: [], cancelled: false } as unknown as BeforeAfterResult;
}

describe("tunelab eval --suite's table", () => {
  it('says under a built-in suite where it departs from the harness task it mirrors, and only there', () => {
    const hellaswag = comparisonTable([{ label: 'base' }], baseOnly('hellaswag'));
    expect(hellaswag.split('\n').at(-1)).toBe(`hellaswag: ${BUILTIN_NOTES.hellaswag}`);
    expect(hellaswag).toMatch(/^task\s+metric\s+base\nhellaswag\s+acc,none\s+0\.5\S* ± 0\.1/);
    const arc = comparisonTable([{ label: 'base' }], baseOnly('arc-easy'));
    expect(arc.split('\n')).toHaveLength(2);
  });
});
