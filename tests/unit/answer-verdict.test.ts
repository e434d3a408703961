// The Run-the-export verdict: where the export's tokens first part from the engine's streamed steps, and the
// line the page shows.

import { describe, expect, it } from 'vitest';
import { compareAnswers, verdictLine, type EngineAnswer, type ExportAnswer } from '../../src/onnx-runner/answer-verdict';

/** An answer made of pieces, as both sides stream it: the engine's text after each token, the export's ids. */
function engineOf(pieces: string[], options: { drop?: number[]; stopped?: boolean } = {}): EngineAnswer {
  const steps = pieces.map((_, k) => (options.drop?.includes(k + 1) ? undefined : pieces.slice(0, k + 1).join('')));
  return { text: pieces.join(''), newTokens: pieces.length, steps, stopped: options.stopped ?? false };
}

function exportOf(pieces: string[], ids = pieces.map((_, i) => 100 + i)): ExportAnswer {
  return { text: pieces.join(''), tokens: ids, pieces, stopped: false };
}

describe('compareAnswers', () => {
  it('equal answers: every token equal', () => {
    const pieces = [' Once', ' upon', ' a', ' time', '.'];
    const v = compareAnswers(engineOf(pieces), exportOf(pieces));
    expect(v).toEqual({ same: true, equalTokens: 5, totalTokens: 5, stopped: false });
    expect(verdictLine(v)).toBe('The export answers the same: 5 of 5 tokens equal.');
  });

  it('names the first differing token (1-based) and both tokens', () => {
    const v = compareAnswers(engineOf([' a', ' big', ' dog', '.']), exportOf([' a', ' big', ' cat', '.'], [7, 8, 9, 10]));
    expect(v.same).toBe(false);
    expect(v.equalTokens).toBe(2);
    expect(v.difference).toEqual({ index: 3, engine: ' dog', exported: { id: 9, text: ' cat' } });
    expect(verdictLine(v)).toBe('The export answers differently from token 3 on (2 of 4 tokens equal): the engine wrote " dog", the export wrote token 9 " cat".');
  });

  it('a text split differently is a difference at the first token whose text differs, not only a different final text', () => {
    // "ab" + "c" vs "a" + "bc": the same final text, different tokens.
    const v = compareAnswers(engineOf(['ab', 'c']), exportOf(['a', 'bc']));
    expect(v.same).toBe(false);
    expect(v.difference?.index).toBe(1);
  });

  it('one side ending early is a difference where the other goes on', () => {
    const shorter = compareAnswers(engineOf([' a', ' b']), exportOf([' a', ' b', ' c']));
    expect(shorter).toMatchObject({ same: false, equalTokens: 2, totalTokens: 3, difference: { index: 3, engine: null, exported: { id: 102, text: ' c' } } });
    expect(verdictLine(shorter)).toContain('the engine had ended, the export wrote token 102 " c"');
    const longer = compareAnswers(engineOf([' a', ' b', ' c']), exportOf([' a']));
    expect(longer).toMatchObject({ same: false, equalTokens: 1, difference: { index: 2, engine: ' b', exported: null } });
  });

  it('engine steps that never arrived are checked against its final text instead', () => {
    const pieces = [' x', ' y', ' z', ' w'];
    expect(compareAnswers(engineOf(pieces, { drop: [1, 2] }), exportOf(pieces)).same).toBe(true);
    const v = compareAnswers(engineOf(pieces, { drop: [2, 3] }), exportOf([' x', ' q', ' z', ' w']));
    expect(v).toMatchObject({ same: false, equalTokens: 1, difference: { index: 2, engine: '?' } });
    expect(verdictLine(v)).toContain('the engine wrote a token whose text did not reach the page');
  });

  it('a stopped side says so', () => {
    const v = compareAnswers(engineOf([' a', ' b'], { stopped: true }), exportOf([' a', ' b']));
    expect(verdictLine(v)).toBe('Stopped before the end. The export answers the same: 2 of 2 tokens equal.');
  });
});
